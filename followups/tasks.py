"""Celery tasks: thin, taking ids, idempotent.

The outbox tasks carry no message in their body: the rows in the database are the
work, and a task only says "wake up and look". Losing a task (Redis restarted empty)
costs at most one pump interval, never a message.

Tasks import the services they call; services trigger a task by its registered name
(current_app.send_task, on commit) and never import this module, so there is no circle.
"""

import logging

from celery import shared_task
from django.utils import timezone

from accounts.services_api import idempotency_keys_purge
from followups.models import Heartbeat
from followups.services.checkins import checkins_schedule_missing
from followups.services.outbox import outbox_deliver_due, outbox_due_exist, outbox_wake_sender, outbox_wake_senders
from followups.services.reminders import reminders_scan
from followups.services.report import last_week_start, report_refresh, weekly_digests_enqueue
from handoffs.imports.services import import_dry_run_queued, import_jobs_recover, import_run
from handoffs.inbound.services import inbound_deliveries_purge

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
    Wakes the senders on commit when anything is due. Returns how many rows it inserted."""
    result = reminders_scan()
    logger.info("Reminder scan inserted %s row(s) in %.3f s", result.total, result.seconds)
    return result.total


@shared_task(name="followups.tasks.deliver_outbox")
def deliver_outbox() -> int:
    """Claim and send due messages for a while; wake another run if work is left.
    Returns how many messages it delivered."""
    result = outbox_deliver_due(time_budget_seconds=DELIVERY_TIME_BUDGET_SECONDS)
    if result.batches and outbox_due_exist():
        outbox_wake_sender()
    return result.sent


@shared_task(name="followups.tasks.pump_outbox")
def pump_outbox() -> int:
    """Beat, every few seconds: wake the senders when anything is due or a dead worker's
    lease ran out, so that recovery takes seconds whatever happened to a wake-up."""
    return outbox_wake_senders()


# Rebuilding the snapshot over all history takes tens of seconds at benchmark scale
# (~25 s for 100k deals and 1M check-ins): more than the app's default time limit.
@shared_task(name="followups.tasks.refresh_dropped_batons", soft_time_limit=600, time_limit=660)
def refresh_dropped_batons() -> int:
    """Beat, every few minutes: rebuild the report's snapshot and every account's baton
    health. Returns how many dropped batons it found."""
    result = report_refresh()
    logger.info("Report refresh: %s drops, %s accounts changed health", result.drops, result.accounts_changed)
    return result.drops


@shared_task(name="followups.tasks.send_weekly_digests")
def send_weekly_digests() -> int:
    """Beat, Monday morning: queue each manager's digest of last week in the outbox (once
    per manager and week, however often this runs). Returns how many it offered."""
    return weekly_digests_enqueue(week_start=last_week_start())


@shared_task(name="followups.tasks.schedule_missing_checkins")
def schedule_missing_checkins() -> int:
    """Beat: schedule the check-ins of accepted hand-offs whose scheduling on commit
    failed. Idempotent; returns how many check-ins it created."""
    return checkins_schedule_missing()


@shared_task(name="followups.tasks.purge_inbound_deliveries")
def purge_inbound_deliveries() -> int:
    """Beat, daily: delete the inbound deliveries (closes from a CRM) older than their
    30 days of retention. Idempotent; returns how many it deleted."""
    return inbound_deliveries_purge()


@shared_task(name="followups.tasks.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    """Beat, hourly: delete the API's Idempotency-Keys past their 24 hours. Idempotent;
    returns how many it deleted."""
    return idempotency_keys_purge()


@shared_task(name="followups.tasks.run_import", soft_time_limit=1800, time_limit=1900, acks_late=True)
def run_import(job_id: int) -> str:
    """Run one queued CSV import (handoffs.imports.services.import_run): the whole file in
    one transaction. Longer limits than the other tasks': 100,000 rows take tens of seconds.
    Redelivered after a killed worker, it marks the dead run failed instead of re-running it."""
    job = import_run(job_id=job_id)
    return job.status if job is not None else "not claimed"


@shared_task(name="followups.tasks.recover_imports")
def recover_imports() -> int:
    """Beat, every minute: mark failed the imports whose worker died mid-run (nothing of
    them was written; they may be started again). Returns how many it marked."""
    return import_jobs_recover()


@shared_task(name="followups.tasks.make_dry_run", soft_time_limit=600, time_limit=660, acks_late=True)
def make_dry_run(job_id: int) -> str:
    """Make the dry run of a big CSV import (handoffs.imports.services.import_dry_run_queued):
    too long for a web request (100,000 rows take 15–20 s). Writes only at its end, so a
    redelivered task simply makes it again; one overtaken by a newer mapping writes nothing."""
    job = import_dry_run_queued(job_id=job_id)
    return job.status if job is not None else "not claimed"
