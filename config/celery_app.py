"""The Celery application and the one place that defines the periodic schedule (beat).

Tasks are short and idempotent; work that must not be lost lives in database rows
(the outbox of every message Baton sends) and tasks only claim and process those rows.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("baton")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    # The outbox, not task results, records what happened.
    task_ignore_result=True,
    # A task is acknowledged after it ran, and given back if its worker dies, so a
    # killed worker loses no work; tasks are idempotent so a re-run is harmless.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_soft_time_limit=60,
    task_time_limit=90,
    broker_connection_retry_on_startup=True,
    timezone="UTC",
    beat_schedule={
        # Liveness: lets /health/ tell that beat and a worker are both alive.
        "record-heartbeat": {"task": "followups.tasks.record_heartbeat", "schedule": 60.0},
        # Reminders: write the messages of newly overdue items (and due escalations) in
        # the outbox. Reminders themselves are database rows.
        "scan-overdue-items": {"task": "followups.tasks.scan_overdue_items", "schedule": 60.0},
        # The outbox: wake the senders when anything is due or a dead worker's lease ran
        # out, whatever happened to the wake-ups (broker restarted, worker killed).
        "pump-outbox": {"task": "followups.tasks.pump_outbox", "schedule": 10.0},
        # Check-ins of accepted hand-offs whose scheduling on commit failed.
        "schedule-missing-checkins": {"task": "followups.tasks.schedule_missing_checkins", "schedule": 300.0},
        # The dropped-baton report's snapshot and the accounts' baton health.
        "refresh-dropped-batons": {"task": "followups.tasks.refresh_dropped_batons", "schedule": 300.0},
        # Inbound deliveries (closes from a CRM) are kept 30 days.
        "purge-inbound-deliveries": {
            "task": "followups.tasks.purge_inbound_deliveries",
            "schedule": crontab(hour=3, minute=30),
        },
        # CSV imports whose worker died mid-run are marked failed (nothing of them was written).
        "recover-imports": {"task": "followups.tasks.recover_imports", "schedule": 60.0},
        # The API's Idempotency-Keys are honoured 24 hours, then deleted.
        "purge-idempotency-keys": {"task": "followups.tasks.purge_idempotency_keys", "schedule": 3600.0},
        # Each manager's weekly digest of last week, Monday morning.
        "send-weekly-digests": {
            "task": "followups.tasks.send_weekly_digests",
            "schedule": crontab(hour=7, minute=0, day_of_week="mon"),
        },
    },
)
app.autodiscover_tasks()
