from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.choices import Role
from followups.models import Heartbeat
from followups.selectors.reminders import outbox_health

# Each role's home page.
HOME_BY_ROLE = {
    Role.REP: "handoffs:my_day",
    Role.DELIVERY: "handoffs:my_handoffs",
    Role.MANAGER: "followups:dashboard",
    Role.ADMIN: "followups:dashboard",
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    role = Role.ADMIN if request.user.is_superuser else request.user.role
    return redirect(HOME_BY_ROLE[role])


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """For monitoring: the database answers, when beat and a worker last ran, and whether
    reminders flow (age of the oldest due unsent reminder, time of the last scan)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    heartbeat = Heartbeat.objects.filter(name="beat").first()
    now = timezone.now()
    body = {
        "database": "ok",
        "last_heartbeat_at": heartbeat.last_seen_at.isoformat() if heartbeat else None,
        "heartbeat_age_seconds": round((now - heartbeat.last_seen_at).total_seconds()) if heartbeat else None,
    }
    # The reminder outbox: monitoring pages when the oldest due reminder waits too long
    # (workers stalled) or the scan stopped (beat stalled).
    outbox = outbox_health(now=now)
    body.update(
        {
            "oldest_unsent_reminder_due_at": outbox.oldest_due_at.isoformat() if outbox.oldest_due_at else None,
            "oldest_unsent_reminder_age_seconds": outbox.oldest_due_age_seconds,
            "last_reminder_scan_at": outbox.last_scan_at.isoformat() if outbox.last_scan_at else None,
            "last_reminder_scan_age_seconds": outbox.last_scan_age_seconds,
            "failed_reminders": outbox.failed,
        }
    )
    return JsonResponse(body)
