"""Forms of the accounts app: the user's profile, the organisation's settings, customer
accounts and their contacts. They validate input only; the services in
accounts.services make the change (and re-check what they must)."""

from __future__ import annotations

import zoneinfo

from django import forms

from accounts.access import account_users_assignable_by, user_may_reassign
from accounts.common.widgets import FastSelect
from accounts.models import Account, Contact, OrganisationSettings, User

TIMEZONE_CHOICES = [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class ProfileForm(forms.ModelForm):
    # FastSelect: ~600 options, written in Python rather than by a template each (issue 17).
    timezone = forms.ChoiceField(choices=TIMEZONE_CHOICES, widget=FastSelect)

    class Meta:
        model = User
        fields = [
            "first_name",
            "last_name",
            "email",
            "timezone",
            "working_hours_start",
            "working_hours_end",
            "wants_daily_digest",
        ]
        labels = {"wants_daily_digest": "Send me one daily digest instead of one email per reminder"}

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("working_hours_start"), cleaned.get("working_hours_end")
        if start is not None and end is not None and start >= end:
            self.add_error("working_hours_end", "Working hours must end after they start.")
        return cleaned


class CadenceField(forms.CharField):
    """Days as a comma-separated list ("7, 30, 90") ↔ a list of whole numbers."""

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(str(day) for day in value)
        return value

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return []
        try:
            days = [int(part) for part in text.replace(" ", "").split(",") if part]
        except ValueError:
            raise forms.ValidationError("Write whole numbers of days separated by commas, e.g. 7, 30, 90.") from None
        if any(day <= 0 or day > 3650 for day in days):
            raise forms.ValidationError("Each number of days must be between 1 and 3650.")
        return sorted(set(days))


class OrganisationSettingsForm(forms.ModelForm):
    default_checkin_cadence = CadenceField(required=False, help_text="Days after the close, e.g. 7, 30, 90.")
    single_threaded_stages = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[("qualify", "Qualify"), ("discover", "Discover"), ("propose", "Propose"), ("negotiate", "Negotiate")],
    )
    gate_min_contacts = forms.IntegerField(
        min_value=0,
        max_value=20,
        label="Customer contacts a won close needs on the deal",
        help_text="Contacts named on the deal with their role (0: none required). A waiver with a reason lets a "
        "close through without them.",
    )

    class Meta:
        model = OrganisationSettings
        fields = [
            "acceptance_within_days",
            "meeting_schedule_within_days",
            "meeting_within_days",
            "default_checkin_cadence",
            "checkin_grace_days",
            "ghosted_after_days",
            "single_threaded_stages",
            "escalate_after_hours",
            "escalate_to_admin_after_hours",
            # The close gate (handoffs.packet): what a won close must bring along.
            "gate_requires_context",
            "gate_min_contacts",
            "gate_requires_promises",
            # Sign-in (accounts.two_factor).
            "two_factor_required_for_staff",
        ]
        labels = {
            "gate_requires_context": "A won close needs the lead source and all four context fields",
            "gate_requires_promises": "A won close needs the promises listed (or “no promises were made”)",
            "two_factor_required_for_staff": "Managers and admins must sign in with two-factor",
        }


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
        if user_may_reassign(actor):
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


class ApiTokenForm(forms.Form):
    """A new personal API token: what it is for, and how long it lasts."""

    EXPIRY_CHOICES = [("", "Never"), ("30", "30 days"), ("90", "90 days"), ("365", "1 year")]

    name = forms.CharField(max_length=100, label="Token name", help_text="What will use it, e.g. “HubSpot sync”.")
    expires_in_days = forms.TypedChoiceField(
        choices=EXPIRY_CHOICES, coerce=int, empty_value=None, required=False, label="Expires"
    )
