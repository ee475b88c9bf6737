"""Deals and what travels with them (contacts on the deal, promises), playbooks, and
the hand-off of each won deal: its steps, its three-way meeting, its acceptance."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower, Now
from django.utils import timezone

from accounts.models import Account, Contact, Team, TimelineEvent
from handoffs.choices import (
    OPEN_STAGES,
    ContactRole,
    Currency,
    HandoffStatus,
    InboundKind,
    InboundOutcome,
    LeadSource,
    LostReason,
    MeetingStatus,
    PromiseStatus,
    Stage,
    StepOwnerRole,
    StepStatus,
)
from handoffs.imports.choices import ImportKind, ImportSource, ImportStatus

MAX_DEAL_AMOUNT = 10**12


class Deal(models.Model):
    """A sale in progress or closed. An open deal always has a next step with a date;
    a won deal has exactly one Handoff, created in the same transaction as the close —
    except a close from a CRM whose hand-off packet was incomplete: it is won with its
    packet pending (packet_pending_since; handoffs.packet.packet_pending) and gets its
    Handoff once the packet is complete or a manager waives it."""

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
            # The deal list's owner filter: whether someone owns a deal of a team, one probe
            # per user (handoffs.access.deal_owners_visible_to). Partial, so that it cannot
            # answer the visibility's OR on its own: a whole (team, owner) index was read
            # end to end for a rep's COUNT (30–60 ms for the last team in it).
            models.Index(fields=["team", "owner"], name="deal_team_owner_idx", condition=models.Q(team__isnull=False)),
            # The accounts of the deals of a team or a user, read by an index-only scan
            # for every account page (handoffs.access.accounts_visible_to).
            models.Index(fields=["team", "account"], name="deal_team_account_idx"),
            models.Index(fields=["owner", "account"], name="deal_owner_account_idx"),
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
            # The reminder scan's "changed since its last run" (next steps, and promises whose
            # deal changed): see followups.services.reminders.
            models.Index(fields=["updated_at"], name="deal_updated_idx"),
            # The search's "deals of the accounts named …": ids from the index alone
            # (handoffs.search._deals_named).
            models.Index(fields=["account", "id"], name="deal_account_id_idx"),
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
    # Stamped on every save; rows written with SQL get the database's clock. The reminder
    # scan re-checks only what changed since its last run (followups.services.reminders).
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

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
            # The reminder scan's "changed since its last run", over the promises still to keep.
            models.Index(
                fields=["updated_at"],
                name="promise_pending_changed_idx",
                condition=models.Q(status__in=["open", "confirmed"]),
            ),
            # The dropped-baton report's promise-keeping table reads a period's promises by
            # created_at (followups.selectors.report.promise_keeping_by_rep): a range of
            # this index instead of the whole table.
            models.Index(fields=["created_at"], name="promise_created_idx"),
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
            # The manager dashboard's "waiting for an owner", oldest close first
            # (followups.selectors.report.dashboard_for): the index above cannot give two
            # statuses in one closed_on order, so PostgreSQL walked every hand-off by date.
            models.Index(
                fields=["closed_on", "id"],
                name="handoff_waiting_closed_idx",
                condition=models.Q(status__in=["awaiting_owner", "declined"]),
            ),
            models.Index(fields=["proposed_owner", "status"], name="handoff_proposed_status_idx"),
            models.Index(fields=["delivery_owner", "status"], name="handoff_owner_status_idx"),
            # My hand-offs' "Mine, in progress": a lead's running hand-offs, newest close
            # first, read in order (the index above reads all ~1,000 of a lead's hand-offs
            # to drop the complete ones and sort the rest).
            models.Index(
                fields=["delivery_owner", "-closed_on", "-id"],
                name="handoff_owner_running_idx",
                condition=~models.Q(status="complete"),
            ),
            models.Index(fields=["team", "closed_on"], name="handoff_team_closed_idx"),
            models.Index(fields=["rep", "closed_on"], name="handoff_rep_closed_idx"),
            # The reminder scan's "changed since its last run" (ownership and meeting not arranged).
            models.Index(fields=["updated_at"], name="handoff_updated_idx"),
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
    # Stamped on every save; rows written with SQL get the database's clock. The reminder
    # scan re-checks only what changed since its last run (followups.services.reminders).
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        ordering = ["handoff", "position"]
        constraints = [
            models.UniqueConstraint(fields=["handoff", "position"], name="handoff_step_position_unique"),
        ]
        indexes = [
            # Exactly the overdue scan's predicate: open steps by due date.
            models.Index(fields=["due_on"], name="handoff_step_open_due_idx", condition=models.Q(status="open")),
            # The reminder scan's "changed since its last run", over the open steps.
            models.Index(
                fields=["updated_at"], name="handoff_step_open_changed_idx", condition=models.Q(status="open")
            ),
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
        indexes = [
            # The reminder scan's "changed since its last run": a cancelled meeting makes its
            # hand-off's meeting late again (see handoffs.lateness.meeting_late).
            models.Index(fields=["updated_at"], name="meeting_updated_idx"),
        ]

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


class InboundSource(models.Model):
    """A CRM that sends Baton its closes (handoffs.inbound): HubSpot, Salesforce or any
    system posting the generic JSON, at POST /api/v1/inbound/<slug>/.

    Each delivery is signed with `secret` (HMAC-SHA256, handoffs.inbound.signature); the
    secret is kept in clear because checking an HMAC needs it. After a rotation the
    previous secret stays valid for a grace period (INBOUND_SECRET_GRACE), so that the
    CRM can be reconfigured without losing deliveries. Rows the source creates carry
    external_source = slug. An owner the CRM names who is not a Baton user (matched by
    e-mail) is replaced by `default_owner`."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=40, unique=True, help_text="Part of the address, and the external source.")
    kind = models.CharField(max_length=16, choices=InboundKind.choices)
    secret = models.CharField(max_length=128)
    previous_secret = models.CharField(max_length=128, blank=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    default_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Owns the deals whose owner in the CRM is not a Baton user.",
    )
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class InboundDelivery(models.Model):
    """One request received from an inbound source, kept 30 days
    (handoffs.inbound.services.inbound_deliveries_purge) whatever became of it: the raw
    body, the headers that matter, whether the signature held, the outcome and why, the
    deal and account it touched. Written in its own transaction before the mapping runs,
    so a payload that fails to map stays here for an admin to read and replay; a replay
    is a new delivery pointing at the one it replays (`replayed_from`)."""

    source = models.ForeignKey(InboundSource, on_delete=models.CASCADE, related_name="deliveries")
    received_at = models.DateTimeField()
    raw_body = models.TextField(blank=True)
    body_truncated = models.BooleanField(default=False, help_text="Only the start of a refused body is kept.")
    headers = models.JSONField(default=dict, blank=True)
    signature_ok = models.BooleanField(default=False)
    outcome = models.CharField(max_length=16, choices=InboundOutcome.choices, blank=True)
    reason = models.TextField(blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    external_id = models.CharField(max_length=100, blank=True, help_text="The CRM's id of the deal.")
    deal = models.ForeignKey(Deal, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    replayed_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays")
    replayed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["received_at"], name="inbound_delivery_received_idx"),
            models.Index(fields=["source", "-received_at"], name="inbound_delivery_source_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source} delivery #{self.pk}"


class ImportJob(models.Model):
    """One CSV file imported into Baton (issue 14): accounts, contacts and deals exported
    from Salesforce, HubSpot, Pipedrive or any CRM, by a manager (for their team) or an
    admin. The file's bytes are kept on the row (`content`, at most
    settings.BATON_IMPORT_MAX_BYTES) so that the web process and the worker need no shared
    disk, and a failed import can be started again. Selectors defer `content`.

    Its life: uploaded → mapped → dry_run_ready → queued → running → done, or failed
    (nothing of the file written: the run is one transaction; handoffs.imports.services).
    `rows_done` moves during the run although the run's transaction has not committed:
    it is written from a second database connection (handoffs.imports.progress)."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The importer's team when they uploaded: a manager's history shows their teams' imports.
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    file_name = models.CharField(max_length=255)
    content = models.BinaryField(editable=False)
    size_bytes = models.PositiveBigIntegerField(default=0)
    encoding = models.CharField(max_length=40, help_text="As detected at the upload (a Python codec name).")
    delimiter = models.CharField(max_length=1, default=",")
    header = models.JSONField(default=list, blank=True, help_text="The file's column names, in order.")
    source = models.CharField(max_length=16, choices=ImportSource.choices, default=ImportSource.GENERIC)
    object_kind = models.CharField(max_length=16, choices=ImportKind.choices, default=ImportKind.DEALS)
    # {column name in the file: Baton field (handoffs.imports.layouts.FIELDS) or ""}.
    column_mapping = models.JSONField(default=dict, blank=True)
    # {owner as the file names it (e-mail or name): Baton user id}.
    owner_mapping = models.JSONField(default=dict, blank=True)
    start_handoffs = models.BooleanField(
        default=False, help_text="Won deals start their hand-offs through the close gate."
    )
    status = models.CharField(max_length=16, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    # handoffs.imports.services.DryRunReport.as_json(): counts per kind and action, and the
    # first rows' outcomes (line, action, reason).
    dry_run_summary = models.JSONField(default=dict, blank=True)
    # The run's counts per kind and action, the hand-offs started and the packets left pending.
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    celery_task_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True, help_text="When rows_done last moved.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["team", "-created_at"], name="import_job_team_idx"),
            models.Index(fields=["status"], name="import_job_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Import of {self.file_name} (#{self.pk})"


class ImportRejectedRow(models.Model):
    """A row of an imported file that was not imported, with its line number in the file
    (the line it starts on), its cells as read ({column: value}) and why. Written by the
    dry run and again by the run (replacing the dry run's), in bulk; the rejected-rows
    download streams them (handoffs.imports.services.import_rejects_rows)."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rejected_rows")
    line = models.PositiveIntegerField()
    raw = models.JSONField(default=dict, blank=True)
    reason = models.TextField()

    class Meta:
        ordering = ["job", "line", "id"]
        indexes = [models.Index(fields=["job", "line"], name="import_rejected_job_line_idx")]

    def __str__(self) -> str:
        return f"Line {self.line}: {self.reason}"


class CustomerLink(models.Model):
    """The customer status link of one contact of a hand-off (issue 15), so that it can be
    revoked and resent. The signed token carries `version`; it opens the status page only
    while it names the current version, the link is not revoked, it is younger than
    settings.BATON_CUSTOMER_LINK_DAYS and the contact is still on the deal
    (handoffs.selectors.handoffs.customer_status_for_token). Revoking or sending a fresh
    link bumps the version, so every token sent before is dead at once.

    No row yet means version 1, never revoked: the links that customer summaries carried
    before rows existed keep working until someone revokes or replaces them. The row is
    written on the first revoke, fresh link or sent summary."""

    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="customer_links")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="customer_links")
    version = models.PositiveIntegerField(default=1, help_text="The only version whose tokens are valid.")
    created_at = models.DateTimeField(auto_now_add=True)
    issued_at = models.DateTimeField(
        default=timezone.now, help_text="When the current version was made (revoked or sent afresh)."
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When an e-mail carrying the current version was last sent."
    )

    class Meta:
        ordering = ["handoff", "contact"]
        constraints = [
            models.UniqueConstraint(fields=["handoff", "contact"], name="customer_link_once"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="customer_link_version_positive"),
        ]

    def __str__(self) -> str:
        return f"Status link of {self.contact} for hand-off #{self.handoff_id} (v{self.version})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def sent_since_issued(self) -> bool:
        """Whether the current version reached the contact (not only queued)."""
        return self.last_sent_at is not None and self.last_sent_at >= self.issued_at
