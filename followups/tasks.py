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


# --- the dropped-baton report (helper D) ---------------------------------------------------


# Rebuilding the snapshot over all history takes tens of seconds at benchmark scale
# (~25 s for 100k deals and 1M check-ins): more than the app's default time limit.
@shared_task(name="followups.tasks.refresh_dropped_batons", soft_time_limit=600, time_limit=660)
def refresh_dropped_batons() -> int:
    """Beat, every few minutes: rebuild the report's snapshot and every account's baton
    health. Returns how many dropped batons it found."""
    from followups.services.report import report_refresh

    result = report_refresh()
    logger.info("Report refresh: %s drops, %s accounts changed health", result.drops, result.accounts_changed)
    return result.drops


@shared_task(name="followups.tasks.send_weekly_digests")
def send_weekly_digests() -> int:
    """Beat, Monday morning: one digest task per manager for last week. Returns how many
    it enqueued; each digest is sent at most once however often this runs."""
    from followups.services.report import last_week_start, weekly_digest_recipients

    week_start = last_week_start().isoformat()
    managers = weekly_digest_recipients()
    for manager_id in managers:
        send_weekly_digest.delay(manager_id, week_start)
    return len(managers)


@shared_task(
    name="followups.tasks.send_weekly_digest",
    autoretry_for=(OSError,),
    retry_backoff=60,
    retry_kwargs={"max_retries": 5},
)
def send_weekly_digest(manager_id: int, week_start: str) -> bool:
    """E-mail one manager's digest of the week starting `week_start` (ISO date), once."""
    import datetime

    from accounts.models import User
    from followups.services.report import weekly_digest_send

    manager = User.objects.filter(pk=manager_id).first()
    if manager is None:
        return False
    return weekly_digest_send(manager=manager, week_start=datetime.date.fromisoformat(week_start))


@shared_task(name="followups.tasks.schedule_missing_checkins")
def schedule_missing_checkins() -> int:
    """Beat: schedule the check-ins of accepted hand-offs whose scheduling on commit
    failed. Idempotent; returns how many check-ins it created."""
    from followups.services.checkins import checkins_schedule_missing

    return checkins_schedule_missing()
