import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_GET

from accounts.choices import Role
from followups.choices import HeartbeatName
from followups.models import Heartbeat
from followups.selectors.outbox import outbox_health

logger = logging.getLogger(__name__)

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


def _may_read_health_figures(request: HttpRequest) -> bool:
    """Monitoring with the configured token, or a logged-in admin; everyone else learns
    only whether Baton is up (the figures say how busy the organisation is)."""
    token = settings.BATON_HEALTH_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and constant_time_compare(header.removeprefix("Bearer "), token):
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_admin_role)


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """For monitoring: JSON always, 503 when the database does not answer.

    With the figures (admins, or the monitoring token): when beat and a worker last ran,
    the outbox's backlog (due and unsent, retrying, failed), the age of the oldest unsent
    message since it first became due, and the last reminder scan."""
    now = timezone.now()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        may_read = _may_read_health_figures(request)
        body: dict = {"status": "ok", "database": "ok"}
        if may_read:
            body.update(_health_figures(now))
    except DatabaseError:
        logger.warning("Health check: the database does not answer.", exc_info=True)
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse(body)


def _health_figures(now) -> dict:
    heartbeat = Heartbeat.objects.filter(name=HeartbeatName.BEAT).first()
    outbox = outbox_health(now=now)
    return {
        "last_heartbeat_at": heartbeat.last_seen_at.isoformat() if heartbeat else None,
        "heartbeat_age_seconds": round((now - heartbeat.last_seen_at).total_seconds()) if heartbeat else None,
        "outbox_due_unsent": outbox.due_unsent,
        "outbox_retrying": outbox.retrying,
        "outbox_failed": outbox.failed,
        "oldest_unsent_message_due_at": outbox.oldest_due_at.isoformat() if outbox.oldest_due_at else None,
        "oldest_unsent_message_age_seconds": outbox.oldest_due_age_seconds,
        "last_reminder_scan_at": outbox.last_scan_at.isoformat() if outbox.last_scan_at else None,
        "last_reminder_scan_age_seconds": outbox.last_scan_age_seconds,
    }
