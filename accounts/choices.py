"""Enumerations of the accounts app."""

from django.db import models


class Role(models.TextChoices):
    REP = "rep", "Sales rep"
    DELIVERY = "delivery", "Delivery lead"
    MANAGER = "manager", "Manager"
    ADMIN = "admin", "Admin"


class CompanySize(models.TextChoices):
    UNKNOWN = "", "Unknown"
    MICRO = "1-10", "1–10"
    SMALL = "11-50", "11–50"
    MEDIUM = "51-250", "51–250"
    LARGE = "251-1000", "251–1,000"
    ENTERPRISE = "1000+", "1,000+"


class EventVerb(models.TextChoices):
    """What a timeline event records. One verb per kind of state change."""

    ACCOUNT_CREATED = "account_created", "Account created"
    ACCOUNT_UPDATED = "account_updated", "Account updated"
    OWNER_CHANGED = "owner_changed", "Owner changed"
    CONTACT_ADDED = "contact_added", "Contact added"
    CONTACT_UPDATED = "contact_updated", "Contact updated"
    DEAL_CREATED = "deal_created", "Deal created"
    DEAL_UPDATED = "deal_updated", "Deal updated"
    STAGE_MOVED = "stage_moved", "Stage moved"
    NEXT_STEP_SET = "next_step_set", "Next step set"
    DEAL_CONTACT_ADDED = "deal_contact_added", "Contact added to deal"
    PROMISE_ADDED = "promise_added", "Promise added"
    PROMISE_UPDATED = "promise_updated", "Promise updated"
    PROMISE_KEPT = "promise_kept", "Promise kept"
    PROMISE_BROKEN = "promise_broken", "Promise broken"
    PACKET_WAIVED = "packet_waived", "Hand-off packet waived"
    DEAL_WON = "deal_won", "Deal won"
    DEAL_LOST = "deal_lost", "Deal lost"
    DEAL_REOPENED = "deal_reopened", "Deal reopened"
    HANDOFF_STARTED = "handoff_started", "Hand-off started"
    OWNER_PROPOSED = "owner_proposed", "Delivery owner proposed"
    OWNERSHIP_ACCEPTED = "ownership_accepted", "Ownership accepted"
    OWNERSHIP_DECLINED = "ownership_declined", "Ownership declined"
    STEP_DONE = "step_done", "Step done"
    STEP_SKIPPED = "step_skipped", "Step skipped"
    STEP_REOPENED = "step_reopened", "Step reopened"
    MEETING_SCHEDULED = "meeting_scheduled", "Meeting scheduled"
    MEETING_RESCHEDULED = "meeting_rescheduled", "Meeting rescheduled"
    MEETING_CANCELLED = "meeting_cancelled", "Meeting cancelled"
    MEETING_HELD = "meeting_held", "Meeting recorded"
    SUMMARY_SENT = "summary_sent", "Customer summary sent"
    HANDOFF_COMPLETED = "handoff_completed", "Hand-off completed"
    CHECKIN_SCHEDULED = "checkin_scheduled", "Check-in scheduled"
    CHECKIN_LOGGED = "checkin_logged", "Check-in logged"
    CHECKIN_RESCHEDULED = "checkin_rescheduled", "Check-in rescheduled"
    PULSE_SENT = "pulse_sent", "Customer pulse sent"
    PULSE_ANSWERED = "pulse_answered", "Customer pulse answered"
    REMINDER_SENT = "reminder_sent", "Reminder sent"
    ESCALATED = "escalated", "Escalated"
    IMPORTED = "imported", "Imported"
