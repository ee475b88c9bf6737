"""Forms of customer accounts and their contacts. They validate input only; the
services in accounts.services make the change (and re-check what they must)."""

from __future__ import annotations

from django import forms

from accounts.models import Account, Contact, User
from accounts.selectors import account_users_assignable_by


class AccountForm(forms.ModelForm):
    """Create or edit an account. Managers and admins also choose its owner; an edit
    carries the version it started from (optimistic lock)."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Account
        fields = ["name", "domain", "industry", "size", "address", "notes"]
        widgets = {"address": forms.Textarea(attrs={"rows": 2}), "notes": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"domain": "The company's web domain, e.g. acme.com."}

    def __init__(self, *args, actor: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.is_edit = self.instance.pk is not None
        if self.is_edit:
            self.fields["version"].initial = self.instance.version
        else:
            del self.fields["version"]
        if actor.is_manager or actor.is_admin_role:
            self.fields["owner"] = forms.ModelChoiceField(
                queryset=account_users_assignable_by(actor).order_by("first_name", "last_name"),
                initial=self.instance.owner_id if self.is_edit else actor.pk,
                help_text="The customer's go-to person at our side.",
            )
            if self.is_edit:
                self.fields["owner_change_reason"] = forms.CharField(
                    required=False,
                    max_length=300,
                    label="Why the owner changes",
                    help_text="Needed when the owner changes.",
                )

    def clean(self):
        cleaned = super().clean()
        if self.is_edit and cleaned.get("version") is None:
            raise forms.ValidationError("This form is missing its version: reload the page and try again.")
        owner = cleaned.get("owner")
        if (
            self.is_edit
            and owner is not None
            and owner.pk != self.instance.owner_id
            and not cleaned.get("owner_change_reason", "").strip()
        ):
            self.add_error("owner_change_reason", "Say why the owner changes.")
        return cleaned

    def service_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class ContactForm(forms.ModelForm):
    """A customer contact: name, title, email (unique within the account), phone."""

    class Meta:
        model = Contact
        fields = ["first_name", "last_name", "title", "email", "phone"]

    def validate_unique(self) -> None:
        # The service checks the email per account with a field-keyed message; the
        # model's constraint would only give a form-wide one here.
        return

    def service_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}
