from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.choices import Role
from followups.models import Heartbeat

# Each role's home page; the first that exists wins.
HOME_BY_ROLE = {
    Role.REP: ["handoffs:my_day"],
    Role.DELIVERY: ["handoffs:my_handoffs"],
    Role.MANAGER: ["followups:dashboard"],
    Role.ADMIN: ["followups:dashboard"],
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    role = Role.ADMIN if request.user.is_superuser else request.user.role
    for url_name in HOME_BY_ROLE.get(role, []):
        try:
            return redirect(reverse(url_name))
        except NoReverseMatch:
            continue
    return render(request, "home.html")


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """For monitoring: the database answers, and when beat and a worker last ran."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    heartbeat = Heartbeat.objects.filter(name="beat").first()
    now = timezone.now()
    body = {
        "database": "ok",
        "last_heartbeat_at": heartbeat.last_seen_at.isoformat() if heartbeat else None,
        "heartbeat_age_seconds": round((now - heartbeat.last_seen_at).total_seconds()) if heartbeat else None,
    }
    return JsonResponse(body)
