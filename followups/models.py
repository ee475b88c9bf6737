"""What watches the baton after the close: check-ins, the outbox of every message Baton
sends, notifications, and the liveness records of the scheduler."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Now

from accounts.models import Account
from followups.choices import (
    Channel,
    CheckInStatus,
    MessageChannel,
    MessagePurpose,
    MessageStatus,
    NotificationKind,
    PulseAnswer,
    Sentiment,
    WebhookEvent,
    WebhookFormat,
)
from handoffs.models import Deal, Handoff


class CheckIn(models.Model):
    """A scheduled touch-point of the rep with the customer after the hand-off (for
    example 7, 30 and 90 days after the close). Logged once done; rescheduled with a
    reason (see CheckInReschedule), never deleted."""

    handoff = models.ForeignKey(Handoff, on_delete=models.PROTECT, related_name="checkins")
    # Denormalised from the hand-off so that "my check-ins" and the report need no join.
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="checkins")
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="checkins")
    # Which cadence point this is (days after the close); 0 for one added by hand.
    cadence_days = models.PositiveSmallIntegerField(default=0)
    due_on = models.DateField()
    status = models.CharField(max_length=16, choices=CheckInStatus.choices, default=CheckInStatus.SCHEDULED)
    done_at = models.DateTimeField(null=True, blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    sentiment = models.CharField(max_length=16, choices=Sentiment.choices, blank=True)
    notes = models.TextField(blank=True)
    issues_raised = models.TextField(blank=True, help_text="Flagged to the delivery owner.")
    referral_asked = models.BooleanField(default=False)
    repeat_business_asked = models.BooleanField(default=False)
    # A new deal opened from this check-in (referral or repeat business).
    opened_deal = models.ForeignKey(Deal, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # Stamped on every save; rows written with SQL get the database's clock. The reminder
    # scan re-checks only what changed since its last run (followups.services.reminders).
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            # Scheduling on the cadence is idempotent: one check-in per cadence point of a
            # hand-off. Those added by hand (cadence_days=0) may be as many as the rep likes.
            models.UniqueConstraint(
                fields=["handoff", "cadence_days"],
                condition=models.Q(cadence_days__gt=0),
                name="checkin_cadence_point_once_per_handoff",
            ),
        ]
        indexes = [
            models.Index(fields=["rep", "status", "due_on"], name="checkin_rep_status_due_idx"),
            models.Index(fields=["account", "due_on"], name="checkin_account_due_idx"),
            # Exactly the overdue scan's predicate: scheduled check-ins by due date.
            models.Index(fields=["due_on"], name="checkin_scheduled_due_idx", condition=models.Q(status="scheduled")),
            # The reminder scan's "changed since its last run", over the scheduled check-ins.
            models.Index(
                fields=["updated_at"], name="checkin_scheduled_changed_idx", condition=models.Q(status="scheduled")
            ),
        ]

    def __str__(self) -> str:
        return f"Check-in with {self.account} due {self.due_on}"


class CheckInReschedule(models.Model):
    """One move of a check-in's due date, with who moved it and why. Append-only."""

    checkin = models.ForeignKey(CheckIn, on_delete=models.CASCADE, related_name="reschedules")
    old_due_on = models.DateField()
    new_due_on = models.DateField()
    reason = models.CharField(max_length=300)
    rescheduled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.old_due_on} → {self.new_due_on}"


class Heartbeat(models.Model):
    """When a periodic job last ran (one row per job name). /health/ reads these so
    monitoring can page when the worker or beat stops."""

    name = models.CharField(max_length=64, unique=True)
    last_seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.last_seen_at}"


class ReminderScanMark(models.Model):
    """Where the reminder scan got to (one row, written by every scan).

    Every overdue rule compares a date with the organisation's date, so an item becomes
    overdue either when that date moves on or when the item (or a row its rule reads)
    changes. The first scan of each day, or after the rules' thresholds changed, reads
    every overdue item; the others read only the items changed since a little before the
    previous scan (see followups.services.reminders)."""

    scanned_at = models.DateTimeField(help_text="The clock of the last scan, full or not.")
    full_scan_at = models.DateTimeField(help_text="The clock of the last full scan.")
    full_scan_key = models.CharField(
        max_length=200,
        help_text="What the last full scan was for: the organisation's date, the thresholds and the rules. "
        "A scan that finds another key reads everything again.",
    )

    def __str__(self) -> str:
        return f"Reminder scan at {self.scanned_at} (full at {self.full_scan_at})"


class Notification(models.Model):
    """An in-app message in a user's notification centre (the bell): a reminder, an
    escalation, an issue raised at a check-in, a declined hand-off… Read once opened."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_idx"),
            models.Index(fields=["user"], name="notification_unread_idx", condition=models.Q(read_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return self.title


def webhook_secret() -> str:
    """A fresh signing secret for a webhook endpoint (256 bits, URL-safe)."""
    return f"whsec_{secrets.token_urlsafe(32)}"


class WebhookEndpoint(models.Model):
    """An address outside Baton that is told what happens: a system of the customer's
    (generic JSON, signed), or a Slack or Microsoft Teams channel (their incoming-webhook
    formats). It subscribes to events by name (WebhookEvent); each event becomes one
    outbox row per subscribed active endpoint (channel webhook), claimed, leased, retried
    and logged like every message (followups.services.outbox). Admins register, edit,
    deactivate (never delete: its delivery log stays) and rotate its secret."""

    name = models.CharField(max_length=100)
    url = models.URLField(
        max_length=500,
        help_text="Where Baton POSTs each event. https:// is required unless DEBUG or BATON_WEBHOOK_ALLOW_HTTP.",
    )
    format = models.CharField(max_length=16, choices=WebhookFormat.choices, default=WebhookFormat.GENERIC)
    events = models.JSONField(default=list, blank=True, help_text="The event names it subscribes to (WebhookEvent).")
    secret = models.CharField(
        max_length=100,
        default=webhook_secret,
        help_text="Signs every delivery (X-Baton-Signature); shown to admins, rotated from the endpoint's page.",
    )
    is_active = models.BooleanField(default=True, help_text="Inactive: nothing is sent, pending deliveries cancelled.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def recipient_key(self) -> str:
        """The endpoint in the outbox's uniqueness key."""
        return f"endpoint:{self.pk}"

    def subscribes_to(self, event: str) -> bool:
        return event in (self.events or [])

    def clean(self) -> None:
        errors = {}
        events = self.events if isinstance(self.events, list) else None
        if events is None or any(event not in WebhookEvent.values for event in events):
            errors["events"] = "Choose events from the list."
        elif not events:
            errors["events"] = "Choose at least one event."
        else:
            self.events = [event for event in WebhookEvent.values if event in events]  # known order, no repeats
        scheme = (self.url or "").split(":", 1)[0].lower()
        http_allowed = settings.BATON_WEBHOOK_ALLOW_HTTP or settings.DEBUG
        if self.url and scheme != "https" and not (scheme == "http" and http_allowed):
            errors["url"] = "Use an https:// address: every delivery carries customer data."
        if errors:
            raise ValidationError(errors)


class OutboxMessage(models.Model):
    """One message Baton sends: to one recipient, for one purpose, about one state of one
    item — a reminder of an overdue step, a meeting invite at SEQUENCE 2, a customer
    summary, a weekly digest, a webhook delivery of an event to one endpoint. Every e-mail
    and every webhook Baton sends is a row here first (channel says which).

    Rows are written in the same transaction as the change that calls for them (never
    twice: unique per purpose, item, version and recipient). A worker claims due rows
    with a short lease, renders each message when it sends it, confirms before each
    message that the lease is still its own, and marks the row sent as soon as the
    server accepted it. Redis only wakes the workers up: a lost wake-up costs seconds,
    never a message. See followups.services.outbox.
    """

    purpose = models.CharField(max_length=32, choices=MessagePurpose.choices)
    channel = models.CharField(max_length=16, choices=MessageChannel.choices, default=MessageChannel.EMAIL)
    kind = models.CharField(
        max_length=32,
        help_text="What item_id names: a ReminderKind for reminders and escalations; "
        "meeting, handoff, notification or week for the other purposes.",
    )
    item_id = models.PositiveBigIntegerField(help_text="Primary key of the item (its table depends on kind).")
    version = models.PositiveBigIntegerField(
        default=0,
        help_text="Which state of the item: a reminder's level (1 the owner, 2 their manager, 3 an admin), "
        "a meeting's SEQUENCE, the time of a proposal or a decline.",
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="outbox_messages"
    )
    contact = models.ForeignKey(
        "accounts.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="outbox_messages"
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_index=False,  # outbox_endpoint_log_idx leads with it
        help_text="Channel webhook: the endpoint it is POSTed to.",
    )
    recipient_key = models.CharField(
        max_length=40, help_text="user:<id>, contact:<id> or endpoint:<id>: the recipient, in the uniqueness key."
    )
    status = models.CharField(max_length=16, choices=MessageStatus.choices, default=MessageStatus.PENDING)
    send_after = models.DateTimeField(
        help_text="Not sent before this: the recipient's next working hour (unless urgent), or a retry's backoff."
    )
    first_due_at = models.DateTimeField(
        help_text="When the message first became due; a retry moves send_after, never this (for /health/)."
    )
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="While sending: when another worker may claim it again."
    )
    lease_token = models.UUIDField(null=True, blank=True, help_text="The claim that holds the row while sending.")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Claims so far (each one a send attempt).")
    last_error = models.TextField(blank=True, help_text="Why the last attempt failed.")
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(
        max_length=200,
        blank=True,
        help_text="The e-mail's Message-ID (blank when delivered in the app only); a webhook's "
        "X-Baton-Delivery id, set when queued and kept by a replay.",
    )
    subject = models.CharField(max_length=300, blank=True, help_text="The subject line it was sent with.")
    urgent = models.BooleanField(default=False, help_text="Sent at once, outside working hours and digests.")
    escalate_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Reminders and escalations: when the next level is due if the item is still overdue "
        "(cleared once the scan has looked).",
    )
    # Webhooks (channel webhook): the event as it was when it happened, and the delivery log.
    payload = models.JSONField(
        null=True,
        blank=True,
        help_text="Webhooks: the event (id, event, occurred_at, data), frozen when it happened; "
        "rendered in the endpoint's format when sent.",
    )
    response_code = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Webhooks: the HTTP status of the last attempt (none: no answer)."
    )
    response_excerpt = models.CharField(
        max_length=500,
        blank=True,
        db_default="",  # the reminder scan's INSERT … SELECT names only the columns it fills
        help_text="Webhooks: the start of the last answer's body.",
    )
    replay_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replays",
        help_text="Webhooks: the delivery an admin replayed (same X-Baton-Delivery id).",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who asked for it by hand (a webhook replay or test event); empty for the rest.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["purpose", "kind", "item_id", "version", "recipient_key"], name="outbox_message_once"
            ),
            models.CheckConstraint(
                condition=models.Q(recipient__isnull=False)
                | models.Q(contact__isnull=False)
                | models.Q(endpoint__isnull=False),
                name="outbox_message_has_recipient",
            ),
        ]
        indexes = [
            # Exactly the claim's two predicates (followups.services.outbox.outbox_claim).
            models.Index(fields=["send_after"], name="outbox_pending_due_idx", condition=models.Q(status="pending")),
            models.Index(fields=["lease_expires_at"], name="outbox_lease_idx", condition=models.Q(status="sending")),
            models.Index(fields=["status", "-created_at"], name="outbox_status_created_idx"),
            # The scan's "is this item reminded at this level already?" and the supersede lookup.
            models.Index(fields=["kind", "item_id", "version"], name="outbox_item_idx"),
            # The scan's escalation candidates, without re-reading every reminded item.
            models.Index(
                fields=["escalate_at"], name="outbox_escalate_idx", condition=models.Q(escalate_at__isnull=False)
            ),
            # An endpoint's delivery log, newest first (e-mails have no endpoint).
            models.Index(
                fields=["endpoint", "-created_at"],
                name="outbox_endpoint_log_idx",
                condition=models.Q(endpoint__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.kind} #{self.item_id} v{self.version} to {self.recipient_key}"

    @property
    def deterministic_message_id(self) -> str:
        """Derived from the purpose, the item, its version and the recipient: the same
        for every attempt, so that a second delivery can be recognised as the same message."""
        return message_id_for(self.purpose, self.kind, self.item_id, self.version, self.recipient_key)


def message_id_for(purpose: str, kind: str, item_id: int, version: int, recipient_key: str) -> str:
    """The one Message-ID rule of the outbox (see OutboxMessage.deterministic_message_id)."""
    return f"<{purpose}.{kind}.{item_id}.v{version}.{recipient_key.replace(':', '-')}@baton>"


class NotificationPreference(models.Model):
    """Whether a user wants e-mail for one kind of notification. No row: e-mail on.
    The in-app notification is always created, whatever this says."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=40, choices=NotificationKind.choices)
    email = models.BooleanField(default=True, help_text="Send an e-mail for this kind, besides the bell.")

    class Meta:
        ordering = ["user", "kind"]
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_once")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: {'email' if self.email else 'in-app only'}"


class DroppedBaton(models.Model):
    """One dropped baton found by a rule of followups.rules: a snapshot row, rewritten
    as a whole by followups.services.report.report_refresh (the worker, every few
    minutes). The report and the dashboard aggregate these rows instead of running
    every rule over all history on each page view.

    Foreign keys carry no database constraint: the snapshot is rebuilt, never edited,
    and must not stop a deal or a check-in from being deleted in between."""

    code = models.CharField(max_length=32, help_text="The rule's code (followups.rules.RULES).")
    subject_id = models.BigIntegerField(help_text="The row the rule fired on (deal, hand-off, step, …).")
    deal = models.ForeignKey(Deal, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    delivery_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    owner_team = models.ForeignKey(
        "accounts.Team",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        help_text="The delivery owner's team, so that a delivery manager sees their people's drops.",
    )
    drop_date = models.DateField(help_text="The first day the rule held.")
    is_open = models.BooleanField(help_text="Nobody has fixed it yet (counts against the account's health).")

    class Meta:
        ordering = ["-drop_date", "-id"]
        indexes = [
            models.Index(fields=["drop_date", "code"], name="dropped_baton_date_idx"),
            # The drill-down's order (newest first) with and without a code, so a page
            # of 50 reads 50 index entries instead of sorting the whole period.
            models.Index(fields=["code", "drop_date", "id"], name="dropped_baton_code_list_idx"),
            models.Index(fields=["drop_date", "id"], name="dropped_baton_list_idx"),
            models.Index(fields=["team", "drop_date"], name="dropped_baton_team_idx"),
            models.Index(fields=["owner_team", "drop_date"], name="dropped_baton_owner_team_idx"),
            models.Index(fields=["account"], name="dropped_baton_open_account_idx", condition=models.Q(is_open=True)),
        ]

    def __str__(self) -> str:
        return f"{self.code} on {self.drop_date}"


class HandoffLatency(models.Model):
    """How long each hand-off took to reach its milestones after the start of its close
    date (in the site's time zone): a snapshot rebuilt with DroppedBaton, so that medians
    and 90th percentiles per rep, team and week are computed over one small table."""

    handoff = models.OneToOneField(Handoff, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    closed_on = models.DateField()
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    time_to_accept = models.DurationField(null=True, help_text="Close → delivery owner accepted.")
    time_to_meeting = models.DurationField(null=True, help_text="Close → three-way meeting held.")
    time_to_first_checkin = models.DurationField(null=True, help_text="Close → first check-in done.")

    class Meta:
        ordering = ["-closed_on"]
        indexes = [
            models.Index(fields=["closed_on"], name="handoff_latency_closed_idx"),
            # A manager's figures: their team's hand-offs closed in the period or the trend's weeks.
            models.Index(fields=["team", "closed_on"], name="handoff_latency_team_idx"),
        ]

    def __str__(self) -> str:
        return f"Latency of hand-off {self.handoff_id}"


class DropRollup(models.Model):
    """DroppedBaton rows counted per drop code and calendar week (Monday) or calendar
    month, at three grains: per sales team and delivery team ("team"), and in addition
    per rep ("rep") or per delivery owner ("owner"). Rebuilt from the snapshot in the
    same transaction by followups.services.report.report_refresh.

    The report's totals, tables, period comparison and trend, the dashboard and the
    digest add up these rows: whole months and weeks of a period come from here, only
    the odd days at the ends of a custom period from DroppedBaton itself."""

    class Bucket(models.TextChoices):
        WEEK = "week", "Week"
        MONTH = "month", "Month"

    class Grain(models.TextChoices):
        TEAM = "team", "Per team"
        REP = "rep", "Per rep"
        OWNER = "owner", "Per delivery owner"

    bucket = models.CharField(max_length=8, choices=Bucket.choices, help_text="A calendar week or month.")
    starts_on = models.DateField(help_text="The Monday of the week, or the first day of the month.")
    grain = models.CharField(max_length=8, choices=Grain.choices, help_text="What else the rows are counted by.")
    code = models.CharField(max_length=32, help_text="The rule's code (followups.rules.RULES).")
    # No single-column indexes: the composite ones below lead with the teams.
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    owner_team = models.ForeignKey(
        "accounts.Team",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
        help_text="The delivery owner's team (a manager's scope is their sales or delivery team).",
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
        help_text="The rep (grain rep) or the delivery owner (grain owner); empty at grain team.",
    )
    count = models.PositiveIntegerField(help_text="Dropped batons of the bucket.")
    open_count = models.PositiveIntegerField(help_text="Of which still open.")

    class Meta:
        ordering = ["bucket", "starts_on", "grain", "code"]
        indexes = [
            # An admin (every team) reads buckets by date; a manager by their team first.
            models.Index(fields=["bucket", "grain", "starts_on"], name="drop_rollup_bucket_idx"),
            models.Index(fields=["team", "bucket", "grain", "starts_on"], name="drop_rollup_team_idx"),
            models.Index(fields=["owner_team", "bucket", "grain", "starts_on"], name="drop_rollup_owner_team_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.count} × {self.code} in the {self.bucket} of {self.starts_on} ({self.grain})"


class CustomerPulse(models.Model):
    """The customer's own voice after a check-in: "How is it going with <delivery>?",
    answered from a signed link without logging in. One per check-in; the answer may be
    changed within a week of the first one. Sent through the outbox (purpose "pulse")
    when the check-in is logged, unless the contact opted out."""

    checkin = models.OneToOneField(CheckIn, on_delete=models.CASCADE, related_name="pulse")
    contact = models.ForeignKey("accounts.Contact", on_delete=models.CASCADE, related_name="pulses")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="pulses")
    answer = models.CharField(max_length=16, choices=PulseAnswer.choices, blank=True)
    comment = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True, help_text="When the customer first answered.")
    changed_at = models.DateTimeField(null=True, blank=True, help_text="When the answer was last changed.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The account's latest answer (account list, account page, report).
            models.Index(fields=["account", "-answered_at"], name="pulse_account_answered_idx"),
            # Customers who said "at risk" (dashboard, the drop rule).
            models.Index(fields=["answered_at"], name="pulse_at_risk_idx", condition=models.Q(answer="at_risk")),
        ]

    def __str__(self) -> str:
        return f"Pulse of {self.contact_id} after check-in {self.checkin_id}: {self.answer or 'not answered'}"
