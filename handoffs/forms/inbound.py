"""Forms of the inbound sources' admin pages (handoffs.views.inbound)."""

from __future__ import annotations

from django import forms

from accounts.choices import Role
from accounts.models import User
from handoffs.choices import InboundKind
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
    """Rename a source, change its default owner, switch it on or off; a HubSpot source
    may also be given its secret (the HubSpot app's client secret, for HubSpot's own
    signature). The field is never filled in: the page shows the secret behind "Show the
    secret" already, and an empty field keeps it."""

    secret = forms.CharField(
        label="Set the secret",
        required=False,
        max_length=128,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="To accept HubSpot's own signature (X-HubSpot-Signature-v3), paste your HubSpot app's client "
        "secret. Leave empty to keep the current secret; the previous one keeps working for 24 hours.",
    )

    class Meta:
        model = InboundSource
        fields = ["name", "default_owner", "active"]
        labels = {"active": "Accept deliveries"}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["default_owner"].queryset = _owners()
        self.fields["default_owner"].required = True
        if self.instance.kind != InboundKind.HUBSPOT:
            del self.fields["secret"]
