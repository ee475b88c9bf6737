"""Deals and what travels with them (contacts on the deal, promises), playbooks, and
the hand-off of each won deal: its steps, its three-way meeting, its acceptance."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from accounts.models import Account, Contact, Team, TimelineEvent
from handoffs.choices import (
    OPEN_STAGES,
    ContactRole,
    Currency,
    HandoffStatus,
    LeadSource,
    LostReason,
    MeetingStatus,
    PromiseStatus,
    Stage,
    StepOwnerRole,
    StepStatus,
)

MAX_DEAL_AMOUNT = 10**12


class Deal(models.Model):
    """A sale in progress or closed. An open deal always has a next step with a date;
    a won deal has exactly one Handoff, created in the same transaction as the close."""

    title = models.CharField(max_length=200)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="deals")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_deals")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals")
    amount = models.DecimalField(
        max_digits=15, decimal_places=2, validators=[MinValueValidator(0), MaxValueValidator(MAX_DEAL_AMOUNT)]
    )
    currency = models.CharField(max_length=3, choices=Currency.choices, default=Currency.EUR)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.QUALIFY)
    # Picks the playbook of the hand-off ("enterprise", "smb"…); blank: the default one.
    segment = models.CharField(max_length=50, blank=True)
    expected_close_date = models.DateField(null=True, blank=True)
    # Where the row came from outside Baton (a CRM's webhook, an API client, an import):
    # the source's name and its own id, so that a second delivery updates instead of duplicating.
    external_source = models.CharField(max_length=40, blank=True, db_default="")
    external_id = models.CharField(max_length=100, blank=True, db_default="")

    lead_source = models.CharField(max_length=32, choices=LeadSource.choices, blank=True, default="")
    context_origin = models.TextField("where they came from", blank=True)
    context_known = models.TextField("what they already know", blank=True)
    context_talked_to = models.TextField("who they have talked to", blank=True)
    context_needs = models.TextField("what they need", blank=True)

    next_step = models.CharField(max_length=300, blank=True)
    next_step_due = models.DateField(null=True, blank=True)

    closed_on = models.DateField(null=True, blank=True)
    close_reason = models.TextField(blank=True)
    # The hand-off packet (the close gate): "no promises were made" said explicitly, and a
    # manager's or rep's waiver of what is missing, with its reason.
    # db_default on the new columns: the set-based seeders insert rows with SQL of their own.
    no_promises_made = models.BooleanField(
        default=False, db_default=False, help_text="The rep states that no promises were made."
    )
    packet_waiver_reason = models.TextField(
        blank=True, db_default="", help_text="Why the deal closes without its full packet."
    )
    packet_waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    packet_waived_at = models.DateTimeField(null=True, blank=True)
    # A close that came from outside Baton (a CRM's webhook, the API) is recorded even when
    # its packet is incomplete: the deal is won, its hand-off waits until the packet is
    # complete or waived (handoffs.services.deals). Null: nothing is pending.
    packet_pending_since = models.DateTimeField(null=True, blank=True)
    lost_reason = models.CharField(max_length=32, choices=LostReason.choices, blank=True)

    # Optimistic locking, as on Account.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    events = GenericRelation(TimelineEvent, content_type_field="subject_type", object_id_field="subject_id")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "stage"], name="deal_owner_stage_idx"),
            models.Index(fields=["team", "stage"], name="deal_team_stage_idx"),
            models.Index(fields=["stage", "-created_at"], name="deal_stage_created_idx"),
            # The pipeline board's columns: open ones by next step, closed ones by close date.
            models.Index(fields=["stage", "next_step_due", "id"], name="deal_stage_next_step_idx"),
            models.Index(fields=["stage", "-closed_on", "id"], name="deal_stage_closed_idx"),
            models.Index(Lower("title"), name="deal_title_lower_idx"),
            models.Index(
                fields=["next_step_due"],
                name="deal_open_next_step_idx",
                condition=models.Q(stage__in=OPEN_STAGES),
            ),
            models.Index(fields=["closed_on"], name="deal_closed_on_idx", condition=models.Q(stage=Stage.WON)),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="deal_amount_not_negative"),
            models.CheckConstraint(
                condition=~models.Q(stage__in=[Stage.WON, Stage.LOST]) | models.Q(closed_on__isnull=False),
                name="deal_closed_has_close_date",
            ),
            models.UniqueConstraint(
                fields=["external_source", "external_id"],
                condition=~models.Q(external_id=""),
                name="deal_external_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES

    @property
    def has_context(self) -> bool:
        return bool(self.lead_source) and any(
            [self.context_origin, self.context_known, self.context_talked_to, self.context_needs]
        )

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.is_open and (not self.next_step.strip() or self.next_step_due is None):
            if not self.next_step.strip():
                errors["next_step"] = "An open deal needs a next step: what happens next?"
            if self.next_step_due is None:
                errors["next_step_due"] = "An open deal needs a date for its next step."
        if self.stage in (Stage.WON, Stage.LOST) and self.closed_on is None:
            errors["closed_on"] = "A closed deal needs its close date."
        if self.stage == Stage.LOST and not self.lost_reason:
            errors["lost_reason"] = "Say why the deal was lost."
        if errors:
            raise ValidationError(errors)


class DealContact(models.Model):
    """A customer contact taking part in a deal, with their role on it. The contact
    must belong to the deal's account."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="deal_contacts")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="deal_roles")
    role = models.CharField(max_length=32, choices=ContactRole.choices, default=ContactRole.OTHER)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["deal", "contact"], name="deal_contact_unique")]

    def __str__(self) -> str:
        return f"{self.contact} ({self.get_role_display()})"

    def clean(self) -> None:
        if self.contact_id and self.deal_id and self.contact.account_id != self.deal.account_id:
            raise ValidationError({"contact": "This contact belongs to another account."})


class Promise(models.Model):
    """Something the rep committed to the customer during the sale. Reviewed in the
    hand-off meeting (confirmed, renegotiated or dropped), then kept or broken."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="promises")
    description = models.CharField(max_length=300)
    target_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=PromiseStatus.choices, default=PromiseStatus.OPEN)
    # The wording before a renegotiation in the hand-off meeting, kept for the record.
    original_description = models.CharField(max_length=300, blank=True)
    status_note = models.CharField(max_length=300, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # Through delivery: who keeps it on the delivery side, and how it ended.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_promises",
        help_text="Who keeps the promise on the delivery side, once the hand-off has an owner.",
    )
    resolved_on = models.DateField(null=True, blank=True, help_text="When it was kept, or found broken.")
    resolution_note = models.TextField(blank=True, db_default="", help_text="Kept: how. Broken: why.")
    customer_told = models.TextField(blank=True, db_default="", help_text="Broken: what the customer was told.")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # Exactly handoffs.lateness.promise_late's filter: the reminder scan reads the
            # promises past due through it instead of the whole table.
            models.Index(
                fields=["target_date"],
                name="promise_pending_due_idx",
                condition=models.Q(status__in=["open", "confirmed"]),
            ),
        ]

    def __str__(self) -> str:
        return self.description


class Playbook(models.Model):
    """An ordered checklist of hand-off steps, and the check-in cadence after the close.
    A won deal's segment picks the playbook; otherwise the default one. Hand-offs copy
    the steps when they start, so editing a playbook never changes running hand-offs."""

    name = models.CharField(max_length=100, unique=True)
    segment = models.CharField(max_length=50, blank=True, help_text="Deals of this segment use this playbook.")
    is_default = models.BooleanField(default=False)
    checkin_cadence = models.JSONField(
        default=list, blank=True, help_text="Days after the close of each check-in; empty: the organisation's."
    )
    is_active = models.BooleanField(default=True)
    # Optimistic locking: an edit carries the version it started from (see bump_version).
    version = models.PositiveIntegerField(default=1, help_text="Raised by one on every saved edit.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_playbook"
            ),
            models.UniqueConstraint(
                fields=["segment"], condition=~models.Q(segment=""), name="one_playbook_per_segment"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        cadence = self.checkin_cadence
        if not isinstance(cadence, list) or not all(isinstance(day, int) and 0 < day <= 3650 for day in cadence):
            raise ValidationError({"checkin_cadence": "List whole numbers of days between 1 and 3650."})


class PlaybookStep(models.Model):
    """One step of a playbook: what must happen, which role owns it, and how many days
    after the close it is due."""

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    owner_role = models.CharField(max_length=16, choices=StepOwnerRole.choices)
    due_offset_days = models.PositiveSmallIntegerField(validators=[MaxValueValidator(365)])
    required = models.BooleanField(default=True)

    class Meta:
        ordering = ["playbook", "position"]
        constraints = [
            models.UniqueConstraint(fields=["playbook", "position"], name="playbook_step_position_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"


class Handoff(models.Model):
    """The passing of a won deal from the rep to a named delivery owner: proposed,
    accepted (or declined), a three-way meeting, then complete. Its status changes only
    through handoffs.services; see HandoffStatus for the states."""

    deal = models.OneToOneField(Deal, on_delete=models.PROTECT, related_name="handoff")
    status = models.CharField(max_length=20, choices=HandoffStatus.choices, default=HandoffStatus.AWAITING_OWNER)
    playbook = models.ForeignKey(Playbook, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Copied from the deal at the close so that report queries need no join.
    closed_on = models.DateField()
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="handoffs_as_rep")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="handoffs")
    proposed_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="proposed_handoffs"
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    proposed_at = models.DateTimeField(null=True, blank=True)
    delivery_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="owned_handoffs"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    declined_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    declined_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.TextField(blank=True)
    meeting_held_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    agreement = models.TextField(blank=True, help_text="What delivery will do, by when (from the meeting).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-closed_on", "-id"]
        indexes = [
            models.Index(fields=["status", "closed_on"], name="handoff_status_closed_idx"),
            models.Index(fields=["proposed_owner", "status"], name="handoff_proposed_status_idx"),
            models.Index(fields=["delivery_owner", "status"], name="handoff_owner_status_idx"),
            models.Index(fields=["team", "closed_on"], name="handoff_team_closed_idx"),
            models.Index(fields=["rep", "closed_on"], name="handoff_rep_closed_idx"),
        ]

    def __str__(self) -> str:
        return f"Hand-off of {self.deal}"


class HandoffStep(models.Model):
    """A step of one hand-off, copied from its playbook at the close, with a due date
    and an owner; done by someone at some time, or skipped with a reason."""

    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    owner_role = models.CharField(max_length=16, choices=StepOwnerRole.choices)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="handoff_steps"
    )
    required = models.BooleanField(default=True)
    due_on = models.DateField()
    status = models.CharField(max_length=16, choices=StepStatus.choices, default=StepStatus.OPEN)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    skip_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["handoff", "position"]
        constraints = [
            models.UniqueConstraint(fields=["handoff", "position"], name="handoff_step_position_unique"),
        ]
        indexes = [
            # Exactly the overdue scan's predicate: open steps by due date.
            models.Index(fields=["due_on"], name="handoff_step_open_due_idx", condition=models.Q(status="open")),
        ]

    def __str__(self) -> str:
        return self.title


class Meeting(models.Model):
    """The three-way hand-off meeting: the rep, the delivery owner and at least one
    customer contact. Its uid and sequence make every invite update one calendar event."""

    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="meetings")
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # iCalendar SEQUENCE: raised on every reschedule or cancellation.
    sequence = models.PositiveIntegerField(default=0)
    starts_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(
        default=45, validators=[MinValueValidator(5), MaxValueValidator(8 * 60)]
    )
    location = models.CharField(max_length=300, help_text="A room, an address or a video link.")
    status = models.CharField(max_length=16, choices=MeetingStatus.choices, default=MeetingStatus.SCHEDULED)
    organizer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    held_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notes = models.TextField(blank=True, help_text="What was agreed in the meeting.")
    counts_as_handoff_meeting = models.BooleanField(
        null=True,
        blank=True,
        help_text="Once recorded: were the rep, the delivery owner and a customer contact all there?",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return f"Hand-off meeting for {self.handoff.deal}"


class MeetingAttendee(models.Model):
    """Someone invited to a meeting — a team user or a customer contact, never both —
    and, once recorded, whether they actually attended."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendees")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    attended = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(user__isnull=False) & models.Q(contact__isnull=True))
                | (models.Q(user__isnull=True) & models.Q(contact__isnull=False)),
                name="attendee_is_user_or_contact",
            ),
            models.UniqueConstraint(fields=["meeting", "user"], name="attendee_user_once"),
            models.UniqueConstraint(fields=["meeting", "contact"], name="attendee_contact_once"),
        ]

    def __str__(self) -> str:
        return str(self.user or self.contact)
