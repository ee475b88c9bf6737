"""Celery tasks: thin, taking ids, idempotent."""

from celery import shared_task
from django.utils import timezone

from followups.models import Heartbeat


@shared_task(name="followups.tasks.record_heartbeat")
def record_heartbeat(name: str = "beat") -> str:
    """Record that beat scheduled this and a worker ran it; returns the time written."""
    now = timezone.now()
    Heartbeat.objects.update_or_create(name=name, defaults={"last_seen_at": now})
    return now.isoformat()
