"""Celery tasks: thin, taking ids, idempotent.

The reminder tasks carry no reminder in their message: the outbox rows in the database
are the work, and a task only says "wake up and look". Losing a message (Redis
restarted empty) costs at most one beat interval, never a reminder.
"""

import logging

from celery import shared_task
from django.utils import timezone

from followups.models import Heartbeat
from followups.services.reminders import (
    reminders_deliver_due,
    reminders_due_exist,
    reminders_scan,
    reminders_wake_sender,
)

logger = logging.getLogger(__name__)

# Below the task's soft time limit (config/celery_app.py), so a batch is never cut mid-send.
DELIVERY_TIME_BUDGET_SECONDS = 40


@shared_task(name="followups.tasks.record_heartbeat")
def record_heartbeat(name: str = "beat") -> str:
    """Record that beat scheduled this and a worker ran it; returns the time written."""
    now = timezone.now()
    Heartbeat.objects.update_or_create(name=name, defaults={"last_seen_at": now})
    return now.isoformat()


@shared_task(name="followups.tasks.scan_overdue_items")
def scan_overdue_items() -> int:
    """Beat, every minute: insert reminders for newly overdue items (and due escalations).
    Wakes the sender on commit when anything is due. Returns how many rows it inserted."""
    result = reminders_scan()
    logger.info("Reminder scan inserted %s row(s) in %.3f s", result.total, result.seconds)
    return result.total


@shared_task(name="followups.tasks.deliver_reminders")
def deliver_reminders() -> int:
    """Claim and send due reminders for a while; wake another run if work is left.
    Returns how many reminders it delivered."""
    result = reminders_deliver_due(time_budget_seconds=DELIVERY_TIME_BUDGET_SECONDS)
    if result.batches and reminders_due_exist():
        reminders_wake_sender()
    return result.sent
