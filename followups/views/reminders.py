"""The admins' view of the reminder outbox: pending, sending, failed, sent; retry."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.choices import Role
from accounts.permissions import role_required
from followups.choices import ReminderStatus
from followups.selectors.reminders import ADMIN_STATUS_TABS, reminder_status_counts, reminders_for_admin
from followups.services.reminders import reminder_retry

PAGE_SIZE = 50


@role_required(Role.ADMIN)
@require_GET
def reminder_admin(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", ReminderStatus.FAILED)
    if status not in ReminderStatus.values:
        status = ReminderStatus.FAILED
    page = Paginator(reminders_for_admin(status=status), PAGE_SIZE).get_page(request.GET.get("page"))
    counts = reminder_status_counts()
    tabs = [
        {"status": tab, "label": ReminderStatus(tab).label, "count": counts.get(tab, 0), "active": tab == status}
        for tab in ADMIN_STATUS_TABS
    ]
    context = {"page": page, "reminders": list(page.object_list), "tabs": tabs, "status": status}
    return render(request, "followups/reminders/admin.html", context)


@role_required(Role.ADMIN)
@require_POST
def reminder_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        reminder_retry(reminder_id=pk, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "The reminder is back in the outbox and will be sent within a minute.")
    return redirect(f"{reverse('followups:reminder_admin')}?status={ReminderStatus.FAILED}")
