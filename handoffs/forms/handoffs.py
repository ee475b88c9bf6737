"""Forms of the hand-off pages. They validate input; the services decide."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from accounts.models import Contact
from accounts.validators import validate_plausible_datetime
from handoffs.choices import HandoffStatus
from handoffs.models import Handoff, Meeting, Promise
from handoffs.selectors.handoffs import account_contacts, delivery_lead_choices


class DeliveryLeadChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj} — {obj.team}" if obj.team_id else str(obj)


class ProposeOwnerForm(forms.Form):
    owner = DeliveryLeadChoiceField(
        queryset=delivery_lead_choices(),
        label="Delivery lead",
        empty_label="Choose…",
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, handoff: Handoff | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = delivery_lead_choices()
        if handoff is not None and handoff.status == HandoffStatus.DECLINED and handoff.declined_by_id:
            self.fields["owner"].queryset = self.fields["owner"].queryset.exclude(pk=handoff.declined_by_id)


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label="Why do you decline?",
        max_length=1000,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": "e.g. I am at capacity until March; Lee knows this sector."}
        ),
    )


class StepSkipForm(forms.Form):
    reason = forms.CharField(label="Why skip it?", max_length=300)


class MeetingTimeForm(forms.Form):
    starts_at = forms.DateTimeField(
        label="Date and time",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        validators=[validate_plausible_datetime],
    )
    duration_minutes = forms.IntegerField(label="Duration (minutes)", min_value=5, max_value=480, initial=45)
    location = forms.CharField(label="Place or video link", max_length=300)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The time is read in the zone the middleware activated for this user: name it.
        zone = timezone.get_current_timezone_name()
        self.fields["starts_at"].help_text = f"Times are in {zone} (your time zone)."


class MeetingScheduleForm(MeetingTimeForm):
    contacts = forms.ModelMultipleChoiceField(
        queryset=Contact.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Customer contacts",
        help_text="At least one: the rep and the delivery owner are invited with them.",
    )

    def __init__(self, *args, handoff: Handoff, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contacts"].queryset = account_contacts(handoff)
        self.fields["contacts"].label_from_instance = lambda contact: (
            f"{contact}"
            + (f" — {contact.title}" if contact.title else "")
            + (f" <{contact.email}>" if contact.email else " (no e-mail)")
        )


class MeetingCancelForm(forms.Form):
    reason = forms.CharField(label="Why is it cancelled?", max_length=300, required=False)


PROMISE_DECISION_CHOICES = [
    ("", "Not discussed"),
    ("confirmed", "Confirmed"),
    ("renegotiated", "Renegotiated"),
    ("dropped", "Dropped"),
]


class MeetingRecordForm(forms.Form):
    """Who attended, what was agreed, and one decision per promise (three fields each:
    promise_<id>_decision, promise_<id>_wording, promise_<id>_reason)."""

    attended_users = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple, required=False, label="Attended from our side"
    )
    attended_contacts = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple, required=False, label="Attended from the customer"
    )
    agreement = forms.CharField(
        label="What was agreed",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What delivery will do, by when.",
    )

    def __init__(self, *args, meeting: Meeting, promises: list[Promise], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        attendees = list(meeting.attendees.all())
        self.fields["attended_users"].choices = [(str(a.user_id), str(a.user)) for a in attendees if a.user_id]
        self.fields["attended_contacts"].choices = [
            (str(a.contact_id), str(a.contact)) for a in attendees if a.contact_id
        ]
        if not self.is_bound:
            self.fields["attended_users"].initial = [str(a.user_id) for a in attendees if a.user_id]
            self.fields["attended_contacts"].initial = [str(a.contact_id) for a in attendees if a.contact_id]
        self.promises = promises
        for promise in promises:
            prefix = f"promise_{promise.pk}"
            self.fields[f"{prefix}_decision"] = forms.ChoiceField(
                choices=PROMISE_DECISION_CHOICES, required=False, label=promise.description, widget=forms.RadioSelect
            )
            self.fields[f"{prefix}_wording"] = forms.CharField(
                max_length=300, required=False, label="New wording (if renegotiated)"
            )
            self.fields[f"{prefix}_reason"] = forms.CharField(
                max_length=300, required=False, label="Note or reason (required if dropped)"
            )

    def promise_rows(self) -> list[dict]:
        """The promise fields grouped by promise, for the template."""
        return [
            {
                "promise": promise,
                "decision": self[f"promise_{promise.pk}_decision"],
                "wording": self[f"promise_{promise.pk}_wording"],
                "reason": self[f"promise_{promise.pk}_reason"],
            }
            for promise in self.promises
        ]

    def promise_reviews(self) -> list[tuple[Promise, str, str, str]]:
        reviews = []
        for promise in self.promises:
            decision = self.cleaned_data.get(f"promise_{promise.pk}_decision")
            if decision:
                reviews.append(
                    (
                        promise,
                        decision,
                        self.cleaned_data.get(f"promise_{promise.pk}_wording", ""),
                        self.cleaned_data.get(f"promise_{promise.pk}_reason", ""),
                    )
                )
        return reviews
