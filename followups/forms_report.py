"""The dropped-baton report's period selector."""

from __future__ import annotations

import datetime

from django import forms
from django.db.models import QuerySet
from django.forms.models import ModelChoiceIterator
from django.utils import timezone

from accounts.common.widgets import FastSelect
from accounts.models import Team
from accounts.validators import validate_plausible_date
from followups.selectors.report import Period, period_named

MAX_CUSTOM_PERIOD_DAYS = 731  # two years: longer asks the database for little insight at great cost
PERIOD_CHOICES = [
    ("week", "This week"),
    ("month", "This month"),
    ("quarter", "This quarter"),
    ("custom", "Custom dates"),
]
DEFAULT_PERIOD = "month"


class _PlainQueryChoices(ModelChoiceIterator):
    """A ModelChoiceField's options read with one plain query when the form is rendered.
    Django's iterator reads them with .iterator(): on PostgreSQL a server-side cursor
    (DECLARE, FETCH, CLOSE: three round trips) for the handful of teams the report's
    form lists on every view."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)


class _TeamChoiceField(forms.ModelChoiceField):
    """A ModelChoiceField whose options come from one plain query (_PlainQueryChoices)."""

    iterator = _PlainQueryChoices


class ReportPeriodForm(forms.Form):
    """This week, month or quarter, or custom from/to dates (both included), and
    optionally one of the teams the user may see."""

    # FastSelect: the same markup as Django's Select, without a template per option.
    period = forms.ChoiceField(choices=PERIOD_CHOICES, required=False, initial=DEFAULT_PERIOD, widget=FastSelect)
    start = forms.DateField(
        label="From",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_plausible_date],
    )
    end = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}), validators=[validate_plausible_date]
    )
    team = _TeamChoiceField(queryset=Team.objects.none(), required=False, empty_label="All my teams", widget=FastSelect)

    def __init__(self, *args, teams: QuerySet[Team], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        # Bootstrap classes on the widgets themselves: the report page renders this form
        # on every view, and crispy's per-field templates cost more than the report's data.
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select" if isinstance(field.widget, forms.Select) else "form-control"

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["class"] += " is-invalid"

    def clean(self) -> dict:
        cleaned = super().clean()
        period = cleaned.get("period") or DEFAULT_PERIOD
        cleaned["period"] = period
        if period != "custom" or self.errors:
            return cleaned
        start, end = cleaned.get("start"), cleaned.get("end")
        if start is None:
            self.add_error("start", "Choose the first day of the period.")
        if end is None:
            self.add_error("end", "Choose the last day of the period.")
        if start and end:
            if end < start:
                self.add_error("end", "The last day must not be before the first day.")
            elif (end - start).days + 1 > MAX_CUSTOM_PERIOD_DAYS:
                self.add_error("end", "Choose a period of at most two years.")
        return cleaned

    def period_value(self, *, today: datetime.date | None = None) -> Period:
        """The chosen period (call after is_valid())."""
        period = self.cleaned_data.get("period") or DEFAULT_PERIOD
        if period == "custom":
            return Period(self.cleaned_data["start"], self.cleaned_data["end"], "custom")
        return period_named(period, today=today or timezone.localdate())
