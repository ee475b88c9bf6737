"""Forms of the playbook editor (admins)."""

from __future__ import annotations

from django import forms

from handoffs.choices import StepOwnerRole
from handoffs.models import Playbook
from handoffs.services.playbooks import StepSpec


class PlaybookForm(forms.Form):
    name = forms.CharField(max_length=100)
    segment = forms.CharField(
        max_length=50, required=False, help_text="Deals of this segment use this playbook; blank: none."
    )
    is_default = forms.BooleanField(required=False, label="Default playbook (for deals of any other segment)")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    checkin_cadence = forms.CharField(
        required=False,
        label="Check-in cadence",
        help_text="Days after the close of each check-in, e.g. 7, 30, 90. Blank: the organisation's.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def clean_checkin_cadence(self) -> list[int]:
        raw = self.cleaned_data["checkin_cadence"]
        try:
            days = [int(part) for part in raw.replace(";", ",").split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError("List whole numbers of days, separated by commas.") from None
        if any(day < 1 or day > 3650 for day in days):
            raise forms.ValidationError("Each day must be between 1 and 3650.")
        return sorted(set(days))

    @classmethod
    def initial_for(cls, playbook: Playbook) -> dict:
        return {
            "name": playbook.name,
            "segment": playbook.segment,
            "is_default": playbook.is_default,
            "is_active": playbook.is_active,
            "checkin_cadence": ", ".join(str(day) for day in playbook.checkin_cadence),
            "version": playbook.version,
        }


class PlaybookStepForm(forms.Form):
    """One row of the step table. A row without a title is an unused blank row."""

    title = forms.CharField(max_length=200, required=False)
    owner_role = forms.ChoiceField(choices=StepOwnerRole.choices, label="Owned by")
    due_offset_days = forms.IntegerField(min_value=0, max_value=365, label="Due (days after close)", required=False)
    required = forms.BooleanField(required=False, initial=True)

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("title", "").strip() and cleaned.get("due_offset_days") is None:
            self.add_error("due_offset_days", "Say how many days after the close this step is due.")
        return cleaned


PlaybookStepFormSet = forms.formset_factory(PlaybookStepForm, extra=2, can_delete=True, can_order=True)


def steps_from_formset(formset) -> list[StepSpec]:
    """The kept, filled-in rows in the order the admin gave (ORDER), else as listed."""
    rows = [form for form in formset.forms if form.cleaned_data.get("title") and not form.cleaned_data.get("DELETE")]
    rows.sort(key=lambda form: (form.cleaned_data.get("ORDER") is None, form.cleaned_data.get("ORDER") or 0))
    return [
        StepSpec(
            title=form.cleaned_data["title"],
            owner_role=form.cleaned_data["owner_role"],
            due_offset_days=form.cleaned_data["due_offset_days"],
            required=form.cleaned_data.get("required", False),
        )
        for form in rows
    ]
