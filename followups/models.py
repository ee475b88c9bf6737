"""What watches the baton after the close: check-ins, the reminder outbox and
notifications, and the liveness records of the scheduler."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import Account
from followups.choices import Channel, CheckInStatus, Sentiment
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
