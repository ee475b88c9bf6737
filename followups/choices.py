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
    WEBHOOK = "webhook", "Webhook or chat alert"
    USER_INVITE = "user_invite", "Invitation to Baton"
    PASSWORD_RESET = "password_reset", "Password reset"
    CUSTOMER_LINK = "customer_link", "Customer status link"


class MessageChannel(models.TextChoices):
    """How a message leaves Baton: an e-mail, or an HTTP POST to a webhook endpoint (a
    system of the customer's, a Slack or Teams channel). Both are rows of the one outbox
    (same claim, lease, retries and backoff); followups.services.outbox sends each row by
    its channel."""

    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"


class WebhookFormat(models.TextChoices):
    """The body a webhook endpoint receives (followups.webhooks renders each)."""

    GENERIC = "generic", "Generic JSON (signed)"
    SLACK = "slack", "Slack (incoming webhook)"
    TEAMS = "teams", "Microsoft Teams (incoming webhook)"


class WebhookEvent(models.TextChoices):
    """What an endpoint can subscribe to: a fact at a moment. The values of the hand-off
    events are handoffs.signals.EVENT_*'s (handoffs cannot import this module)."""

    DEAL_WON = "deal.won", "Deal won"
    HANDOFF_STARTED = "handoff.started", "Hand-off started"
    HANDOFF_PROPOSED = "handoff.proposed", "Hand-off proposed to a delivery lead"
    HANDOFF_ACCEPTED = "handoff.accepted", "Hand-off accepted"
    HANDOFF_DECLINED = "handoff.declined", "Hand-off declined"
    MEETING_SCHEDULED = "meeting.scheduled", "Hand-off meeting scheduled"
    MEETING_HELD = "meeting.held", "Hand-off meeting held"
    CHECKIN_OVERDUE = "checkin.overdue", "Check-in overdue"
    PROMISE_BROKEN = "promise.broken", "Promise broken"
    PULSE_AT_RISK = "pulse.at_risk", "Customer pulse: at risk"
    BATON_DROPPED = "baton.dropped", "Baton dropped"


# Not subscribable: what "Send a test event" sends to one endpoint.
WEBHOOK_TEST_EVENT = "webhook.test"


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
