"""Forms of the inbound sources' admin pages (handoffs.views.inbound)."""

from __future__ import annotations

from django import forms

from accounts.choices import Role
from accounts.models import User
from handoffs.models import InboundSource


def _owners():
    return User.objects.filter(is_active=True, role__in=[Role.REP, Role.MANAGER, Role.ADMIN]).order_by(
        "first_name", "last_name", "pk"
    )


class InboundSourceForm(forms.ModelForm):
    """A new source: its name, address (slug), payload kind and default owner."""

    class Meta:
        model = InboundSource
        fields = ["name", "slug", "kind", "default_owner"]
        help_texts = {
            "slug": "Lower-case letters, digits and hyphens: /api/v1/inbound/<slug>/. Rows it creates are marked with it.",
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["default_owner"].queryset = _owners()
        self.fields["default_owner"].required = True


class InboundSourceEditForm(forms.ModelForm):
    """Rename a source, change its default owner, switch it on or off."""

    class Meta:
        model = InboundSource
        fields = ["name", "default_owner", "active"]
        labels = {"active": "Accept deliveries"}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["default_owner"].queryset = _owners()
        self.fields["default_owner"].required = True
