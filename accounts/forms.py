import zoneinfo

from django import forms
from django.core.exceptions import ValidationError

from accounts.models import OrganisationSettings, User

TIMEZONE_CHOICES = [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class ProfileForm(forms.ModelForm):
    timezone = forms.ChoiceField(choices=TIMEZONE_CHOICES)

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
        ]


def add_service_error(form: forms.BaseForm, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: on the fields it names when the form
    has them, otherwise at the top. Views re-render the form, so what was typed stays."""
    if hasattr(error, "error_dict"):
        for field, field_errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, field_errors)
    else:
        form.add_error(None, error)
