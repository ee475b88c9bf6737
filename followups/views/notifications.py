"""The notification centre: the bell, the list, mark read, and the e-mail preferences."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.common.http import see_other
from followups.choices import NotificationKind
from followups.models import Notification
from followups.selectors.notifications import (
    notification_preferences_for,
    notifications_for,
    unread_notification_count,
)
from followups.services.notifications import (
    notification_mark_all_read,
    notification_mark_read,
    notification_preferences_set,
)

PAGE_SIZE = 25


def _changed(response: HttpResponse) -> HttpResponse:
    # The bell listens for this event and refreshes its count at once.
    response["HX-Trigger"] = "notificationsChanged"
    return response


@login_required
@require_GET
def bell(request: HttpRequest) -> HttpResponse:
    """The navbar bell's inside: polled by htmx every 30 seconds."""
    return render(
        request, "followups/notifications/_bell.html", {"unread": unread_notification_count(user=request.user)}
    )


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(notifications_for(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "notifications": list(page.object_list),
        "unread": unread_notification_count(user=request.user),
    }
    return render(request, "followups/notifications/list.html", context)


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        notification = notification_mark_read(user=request.user, notification_id=pk)
    except Notification.DoesNotExist:
        raise Http404("No such notification.") from None
    if request.htmx:
        return _changed(render(request, "followups/notifications/_row.html", {"notification": notification}))
    messages.success(request, f"“{notification.title}” marked read.")
    return see_other(request, "followups:notifications")


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    count = notification_mark_all_read(user=request.user)
    if request.htmx:
        page = Paginator(notifications_for(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
        return _changed(
            render(
                request,
                "followups/notifications/_list.html",
                {"page": page, "notifications": list(page.object_list), "unread": 0},
            )
        )
    messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked read.")
    return see_other(request, "followups:notifications")


@login_required
@require_http_methods(["GET", "POST"])
def notification_preferences(request: HttpRequest) -> HttpResponse:
    """Per-kind e-mail on/off: inside the profile page (loaded there with htmx), and a
    page of its own for a browser without JavaScript (the profile links to it)."""
    saved = False
    if request.method == "POST":
        chosen = set(request.POST.getlist("email"))
        notification_preferences_set(
            user=request.user, email_by_kind={kind: kind in chosen for kind in NotificationKind.values}
        )
        saved = True
        if not request.htmx:
            messages.success(request, "Your e-mail choices were saved.")
            return see_other(request, "followups:notification_preferences")
    context = {"preferences": notification_preferences_for(user=request.user), "saved": saved}
    template = "_preferences.html" if request.htmx else "preferences.html"
    return render(request, f"followups/notifications/{template}", context)
