"""Forms of the followups app. They validate input only; the services decide."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from django import forms

from accounts.validators import validate_plausible_date
from followups.choices import Channel, Sentiment


class CheckinLogForm(forms.Form):
    """Logging a check-in: how the customer was reached, how they feel, what they raised."""

    channel = forms.ChoiceField(choices=Channel.choices, widget=forms.RadioSelect)
    sentiment = forms.ChoiceField(choices=Sentiment.choices, widget=forms.RadioSelect, label="Customer sentiment")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    issues_raised = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Anything the customer is unhappy about. The delivery owner is notified.",
    )
    referral_asked = forms.BooleanField(required=False, label="I asked for a referral")
    repeat_business_asked = forms.BooleanField(required=False, label="I asked about repeat business")
    open_deal = forms.BooleanField(
        required=False, label="Open a new deal on this account", help_text="For the referral or repeat business."
    )
    new_deal_title = forms.CharField(
        required=False, max_length=200, label="New deal title", help_text="Leave blank for a default title."
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


class CheckinRescheduleForm(forms.Form):
    """Moving a check-in to another day, with the reason."""

    new_due_on = forms.DateField(
        label="New date", widget=forms.DateInput(attrs={"type": "date"}), validators=[validate_plausible_date]
    )
    reason = forms.CharField(
        max_length=300, widget=forms.TextInput(attrs={"placeholder": "Customer on holiday until…"})
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


class CheckinAddForm(forms.Form):
    """An extra check-in, outside the cadence."""

    due_on = forms.DateField(
        label="Due on", widget=forms.DateInput(attrs={"type": "date"}), validators=[validate_plausible_date]
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
