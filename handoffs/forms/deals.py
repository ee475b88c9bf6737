"""Forms of the rep's pipeline: a deal, its close and reopening, contacts on a deal,
promises, and the board's stage move. They validate input; services make changes."""

from __future__ import annotations

from decimal import Decimal

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Fieldset, Layout
from django import forms
from django.utils import timezone

from accounts.access import account_users_assignable_by, user_may_reassign
from accounts.models import User
from accounts.validators import validate_plausible_date
from handoffs.access import accounts_visible_to
from handoffs.choices import OPEN_STAGES, ContactRole, LostReason, Stage
from handoffs.models import MAX_DEAL_AMOUNT, Deal
from handoffs.selectors.deals import contacts_addable_to

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
OPEN_STAGE_CHOICES = [(stage.value, stage.label) for stage in OPEN_STAGES]
AMOUNT_LIMIT_MESSAGE = "This amount is not plausible: it must stay below 1,000,000,000,000."


def _check_amount(amount: Decimal | None) -> Decimal | None:
    if amount is not None and amount < 0:
        raise forms.ValidationError("The amount cannot be negative.")
    if amount is not None and amount >= MAX_DEAL_AMOUNT:
        raise forms.ValidationError(AMOUNT_LIMIT_MESSAGE)
    return amount


class DealForm(forms.ModelForm):
    """Create or edit a deal. An open deal needs a next step whose date is not in the
    past; managers and admins also choose the owner; an edit carries its version."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Deal
        fields = [
            "title",
            "account",
            "amount",
            "currency",
            "stage",
            "expected_close_date",
            "segment",
            "lead_source",
            "context_origin",
            "context_known",
            "context_talked_to",
            "context_needs",
            "next_step",
            "next_step_due",
        ]
        widgets = {
            "expected_close_date": DATE_INPUT,
            "next_step_due": DATE_INPUT,
            "context_origin": forms.Textarea(attrs={"rows": 2}),
            "context_known": forms.Textarea(attrs={"rows": 2}),
            "context_talked_to": forms.Textarea(attrs={"rows": 2}),
            "context_needs": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {"next_step": "Next step", "next_step_due": "Next step due"}
        help_texts = {
            "segment": "Picks the hand-off playbook (e.g. enterprise); leave blank for the default one.",
            "next_step": "What happens next, agreed with the customer.",
        }

    def __init__(self, *args, actor: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.is_edit = self.instance.pk is not None
        self.fields["stage"].choices = OPEN_STAGE_CHOICES
        if self.is_edit:
            del self.fields["account"]
            self.fields["version"].initial = self.instance.version
            if not self.instance.is_open:
                for name in ("stage", "next_step", "next_step_due"):
                    del self.fields[name]
        else:
            del self.fields["version"]
            self.fields["account"].queryset = accounts_visible_to(actor).order_by("name")
        if "next_step" in self.fields:
            self.fields["next_step"].required = True
            self.fields["next_step_due"].required = True
        if user_may_reassign(actor):
            self.fields["owner"] = forms.ModelChoiceField(
                queryset=account_users_assignable_by(actor).order_by("first_name", "last_name"),
                initial=self.instance.owner_id if self.is_edit else actor.pk,
            )
        self.helper = FormHelper()
        self.helper.form_tag = False
        deal_fields = [name for name in ("title", "account", "owner", "amount", "currency") if name in self.fields]
        deal_fields += [name for name in ("stage", "expected_close_date", "segment") if name in self.fields]
        next_step = [name for name in ("next_step", "next_step_due") if name in self.fields]
        layout = [
            Fieldset("Deal", *deal_fields),
            # id="context": the hand-off packet's checklist links here (handoffs.packet).
            Fieldset(
                "Context",
                "lead_source",
                "context_origin",
                "context_known",
                "context_talked_to",
                "context_needs",
                css_id="context",
            ),
        ]
        if next_step:
            layout.append(Fieldset("Next step", *next_step))
        if "version" in self.fields:
            layout.append("version")
        self.helper.layout = Layout(*layout)

    def clean_amount(self):
        return _check_amount(self.cleaned_data.get("amount"))

    def _typed_date(self, name: str):
        """The date, within the plausible window (accounts.validators) if it was typed
        now: an old date left as it was does not block other edits (as in deal_update)."""
        value = self.cleaned_data.get(name)
        if name in self.changed_data:
            validate_plausible_date(value)
        return value

    def clean_expected_close_date(self):
        return self._typed_date("expected_close_date")

    def clean_next_step_due(self):
        due = self.cleaned_data.get("next_step_due")
        if due is not None and due < timezone.localdate():
            raise forms.ValidationError("The next step cannot be due in the past: when will it happen?")
        return self._typed_date("next_step_due")

    def clean(self):
        cleaned = super().clean()
        if self.is_edit and cleaned.get("version") is None:
            raise forms.ValidationError("This form is missing its version: reload the page and try again.")
        return cleaned

    def service_values(self) -> dict:
        skip = {"account", "owner", "version"}
        return {name: self.cleaned_data[name] for name in self.fields if name not in skip}


class DealCloseForm(forms.Form):
    """Log the close: won or lost, when, for how much, and why; a won close without the
    full hand-off packet also says why (deal_close checks the packet)."""

    outcome = forms.ChoiceField(
        choices=[(Stage.WON.value, "Won"), (Stage.LOST.value, "Lost")], widget=forms.RadioSelect
    )
    closed_on = forms.DateField(widget=DATE_INPUT, label="Close date")
    final_amount = forms.DecimalField(max_digits=15, decimal_places=2, min_value=0, label="Final amount")
    lost_reason = forms.ChoiceField(choices=[("", "—"), *LostReason.choices], required=False, label="Why it was lost")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        label="Reason",
        help_text="Won: what made them buy. Lost: a note on what happened.",
    )
    packet_waiver_reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        required=False,
        label="Close without the full packet: why?",
        help_text="Only for a won close whose hand-off packet is incomplete. Kept on the deal and shown in the brief.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def clean_final_amount(self):
        return _check_amount(self.cleaned_data.get("final_amount"))

    def clean_closed_on(self):
        closed_on = self.cleaned_data.get("closed_on")
        if closed_on is not None and closed_on > timezone.localdate():
            raise forms.ValidationError("A deal cannot close in the future; log the close on the day.")
        validate_plausible_date(closed_on)
        return closed_on

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("outcome") == Stage.LOST and not cleaned.get("lost_reason"):
            self.add_error("lost_reason", "Choose why the deal was lost.")
        return cleaned


class NoPromisesForm(forms.Form):
    """State (ticked) or withdraw (unticked) that no promises were made on the deal."""

    no_promises_made = forms.BooleanField(required=False, label="No promises were made")


class DealReopenForm(forms.Form):
    """Reopen a closed deal (managers): why, and the next step from here."""

    reason = forms.CharField(max_length=300, label="Why reopen it")
    next_step = forms.CharField(max_length=300)
    next_step_due = forms.DateField(widget=DATE_INPUT)

    def clean_next_step_due(self):
        due = self.cleaned_data.get("next_step_due")
        if due is not None and due < timezone.localdate():
            raise forms.ValidationError("The next step cannot be due in the past.")
        validate_plausible_date(due)
        return due


class PromiseForm(forms.Form):
    """A promise made to the customer, with an optional target date."""

    description = forms.CharField(max_length=300, label="Promise", help_text="E.g. “Live by 1 March”, “SSO included”.")
    target_date = forms.DateField(widget=DATE_INPUT, required=False, validators=[validate_plausible_date])


class DealContactForm(forms.Form):
    """Name one of the account's contacts on the deal, with their role."""

    contact = forms.ModelChoiceField(queryset=None, label="Contact")
    role = forms.ChoiceField(choices=ContactRole.choices, initial=ContactRole.OTHER)

    def __init__(self, *args, deal: Deal, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = contacts_addable_to(deal)
        self.fields["contact"].error_messages["invalid_choice"] = (
            "Choose a contact of this deal's account who is not on the deal yet."
        )


class StageMoveForm(forms.Form):
    """A move on the board; won and lost are sent on to the close form."""

    stage = forms.ChoiceField(choices=Stage.choices)
    version = forms.IntegerField(required=False)


class NextStepForm(forms.Form):
    """Set or move an open deal's next step, in place (issue 16). It only reads what was
    typed: whether the date may be used (not past, plausible) is deal_next_step_set's
    rule, shown on the date field by add_service_error."""

    next_step = forms.CharField(
        max_length=300,
        label="Next step",
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
    )
    next_step_due = forms.DateField(
        label="Due",
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}, format="%Y-%m-%d"),
    )
    # PositiveIntegerField's range: a larger number would only make the database complain.
    version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        max_value=2**31 - 1,
        error_messages={"required": "This form is missing its version: reload the page and try again."},
    )

    def mark_invalid_fields(self) -> None:
        """Flag the inputs with errors for Bootstrap and screen readers: the component
        renders the bare inputs, and each error is read with its field."""
        for name in self.errors:
            if name in self.fields and not self.fields[name].widget.is_hidden:
                attrs = self.fields[name].widget.attrs
                attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = f"{self[name].auto_id}-error"
