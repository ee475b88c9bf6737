"""Enumerations of the followups app."""

from django.db import models


class CheckInStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    DONE = "done", "Done"


class Channel(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "Email"
    MEETING = "meeting", "Meeting"
    MESSAGE = "message", "Message"


class Sentiment(models.TextChoices):
    HAPPY = "happy", "Happy"
    NEUTRAL = "neutral", "Neutral"
    AT_RISK = "at_risk", "At risk"


class ReminderKind(models.TextChoices):
    """What a reminder is about: one per overdue rule (followups.overdue), plus the
    e-mail copy of an in-app notification that is not a reminder."""

    CHECKIN_OVERDUE = "checkin_overdue", "Check-in overdue"
    STEP_OVERDUE = "step_overdue", "Hand-off step overdue"
    MEETING_NOT_SCHEDULED = "meeting_not_scheduled", "Hand-off meeting not scheduled"
    OWNER_NOT_ACCEPTED = "owner_not_accepted", "Delivery owner not accepted"
    NEXT_STEP_OVERDUE = "next_step_overdue", "Deal's next step overdue"
    PROMISE_OVERDUE = "promise_overdue", "Promise past its due date"
    NOTIFICATION = "notification", "Notification"


class HeartbeatName(models.TextChoices):
    """The liveness records (followups.models.Heartbeat) and who writes each."""

    BEAT = "beat", "Beat and a worker (record_heartbeat)"
    REMINDER_SCAN = "reminder_scan", "The reminder scan"
    REPORT_REFRESH = "report_refresh", "The dropped-baton report's refresh"


class MessageStatus(models.TextChoices):
    """Where an outbox message stands (followups.models.OutboxMessage)."""

    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class MessagePurpose(models.TextChoices):
    """Why Baton sends a message: one value per kind of message, whatever its channel.
    Each has one builder in followups.outbox.builders that renders it."""

    REMINDER = "reminder", "Reminder"
    ESCALATION = "escalation", "Escalation"
    NOTIFICATION = "notification", "Notification (check-in issue, hand-off news)"
    INVITE = "invite", "Meeting invite"
    CANCELLATION = "cancellation", "Meeting cancellation"
    CUSTOMER_SUMMARY = "customer_summary", "Customer summary"
    HANDOFF_PROPOSED = "handoff_proposed", "Hand-off proposed"
    DECLINE_NOTICE = "decline_notice", "Hand-off declined"
    WEEKLY_DIGEST = "weekly_digest", "Weekly digest"
    PULSE = "pulse", "Customer pulse"


class MessageChannel(models.TextChoices):
    """How a message leaves Baton. Only e-mail exists today; a webhook or a chat alert
    is another channel of the same outbox row (same claim, lease and retries)."""

    EMAIL = "email", "E-mail"


class PulseAnswer(models.TextChoices):
    """The customer's one-click answer to "How is it going?"."""

    GOING_WELL = "going_well", "Going well"
    SOME_CONCERNS = "some_concerns", "Some concerns"
    AT_RISK = "at_risk", "At risk"


class ReminderLevel(models.IntegerChoices):
    OWNER = 1, "Reminder to the owner"
    MANAGER = 2, "Escalation to the manager"
    ADMIN = 3, "Escalation to an admin"


class NotificationKind(models.TextChoices):
    """The kinds of notification a user can switch e-mail on or off for. The reminder
    kinds share their values with ReminderKind; the others are written by
    followups.services.notifications.notification_create."""

    CHECKIN_OVERDUE = "checkin_overdue", "Check-in overdue"
    STEP_OVERDUE = "step_overdue", "Hand-off step overdue"
    MEETING_NOT_SCHEDULED = "meeting_not_scheduled", "Hand-off meeting not scheduled"
    OWNER_NOT_ACCEPTED = "owner_not_accepted", "Delivery owner not accepted"
    NEXT_STEP_OVERDUE = "next_step_overdue", "Deal's next step overdue"
    PROMISE_OVERDUE = "promise_overdue", "Promise past its due date"
    PROMISE_BROKEN = "promise_broken", "A promise was broken"
    CUSTOMER_PULSE = "customer_pulse", "A customer's pulse (at risk, or a comment)"
    CHECKIN_ISSUE = "checkin_issue", "Issue raised at a check-in"
    HANDOFF = "handoff", "Hand-off news (proposed, declined, accepted)"
    OTHER = "other", "Other notifications"
