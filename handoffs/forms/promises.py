"""Forms of a promise through delivery: kept, broken, renegotiated. They validate input;
handoffs.services.promises checks it again and makes the change."""

from __future__ import annotations

from django import forms

from accounts.validators import user_today, validate_plausible_date

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PromiseKeptForm(forms.Form):
    """When the promise was kept (not in the future), and how."""

    kept_on = forms.DateField(widget=DATE_INPUT, label="Kept on", validators=[validate_plausible_date])
    note = forms.CharField(required=False, max_length=2000, label="How", widget=forms.Textarea(attrs={"rows": 2}))

    def clean_kept_on(self):
        kept_on = self.cleaned_data.get("kept_on")
        if kept_on is not None and kept_on > user_today():
            raise forms.ValidationError("A promise is kept on a day that has come: this date is in the future.")
        return kept_on


class PromiseBrokenForm(forms.Form):
    """Why the promise will not be kept (required), and what the customer was told."""

    reason = forms.CharField(max_length=2000, label="Why", widget=forms.Textarea(attrs={"rows": 2}))
    customer_told = forms.CharField(
        required=False,
        max_length=2000,
        label="What the customer was told",
        help_text="Shown to the customer on their status page.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class PromiseRenegotiateForm(forms.Form):
    """The wording and due date the customer agreed to; the first wording is kept."""

    new_wording = forms.CharField(max_length=300, label="New wording")
    new_due = forms.DateField(
        widget=DATE_INPUT, required=False, label="New due date", validators=[validate_plausible_date]
    )

    def clean_new_due(self):
        new_due = self.cleaned_data.get("new_due")
        if new_due is not None and new_due < user_today():
            raise forms.ValidationError("A renegotiated promise cannot be due in the past.")
        return new_due
