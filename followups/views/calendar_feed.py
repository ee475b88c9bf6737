"""The per-user iCalendar feed (a secret URL a calendar app subscribes to) and the
rotation of its token."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from followups.calendar import calendar_feed_build
from followups.selectors.checkins import feed_checkins_for, feed_meetings_for
from followups.services.checkins import user_rotate_feed_token


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    # No login: calendar apps cannot log in. The token is the secret; a wrong or
    # rotated one is a 404, the same answer as a URL that never existed.
    user = get_object_or_404(User, feed_token=token, is_active=True)
    body = calendar_feed_build(user=user, checkins=feed_checkins_for(user), meetings=feed_meetings_for(user))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="baton.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
@require_POST
def calendar_feed_rotate(request: HttpRequest) -> HttpResponse:
    user_rotate_feed_token(user=request.user)
    messages.success(request, "Your calendar feed has a new address. Subscriptions to the old one stop updating.")
    return redirect("accounts:profile")
