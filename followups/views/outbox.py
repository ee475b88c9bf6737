"""The admins' view of the outbox: every message Baton sends, pending, sending, failed,
sent or cancelled, by purpose; retry one, or every failed one."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.access import role_required
from accounts.choices import Role
from accounts.common.exports import export_format_of, export_response
from accounts.common.pagination import COUNT_CAP, CappedPaginator
from followups.choices import MessagePurpose, MessageStatus
from followups.exports import OUTBOX_COLUMNS
from followups.selectors.outbox import (
    ADMIN_STATUS_TABS,
    outbox_messages_for_admin,
    outbox_purpose_choices,
    outbox_status_counts,
)
from followups.services.outbox import outbox_retry, outbox_retry_failed

PAGE_SIZE = 50


def _purpose_param(request: HttpRequest) -> str:
    purpose = request.GET.get("purpose") or request.POST.get("purpose") or ""
    return purpose if purpose in MessagePurpose.values else ""


def _admin_url(*, status: str, purpose: str) -> str:
    query = {"status": status, **({"purpose": purpose} if purpose else {})}
    return f"{reverse('followups:outbox_admin')}?{urlencode(query)}"


def _status_param(request: HttpRequest) -> str:
    status = request.GET.get("status", MessageStatus.FAILED)
    return status if status in MessageStatus.values else MessageStatus.FAILED


@role_required(Role.ADMIN)
@require_GET
def outbox_admin(request: HttpRequest) -> HttpResponse:
    status = _status_param(request)
    purpose = _purpose_param(request)
    # Capped: the "sent" tab holds every message ever sent (issue 17).
    page = CappedPaginator(outbox_messages_for_admin(status=status, purpose=purpose), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    counts = outbox_status_counts(purpose=purpose)
    tabs = [
        {
            "status": tab,
            "label": MessageStatus(tab).label,
            "count": counts.get(tab, 0),
            "count_display": f"{COUNT_CAP:,}+" if counts.get(tab, 0) > COUNT_CAP else f"{counts.get(tab, 0):,}",
            "active": tab == status,
            "url": _admin_url(status=tab, purpose=purpose),
        }
        for tab in ADMIN_STATUS_TABS
    ]
    context = {
        "page": page,
        "outbox_messages": list(page.object_list),
        "tabs": tabs,
        "status": status,
        "purpose": purpose,
        "purposes": outbox_purpose_choices(),
        "failed_count": counts.get(MessageStatus.FAILED, 0),
        "failed_count_display": next(tab["count_display"] for tab in tabs if tab["status"] == MessageStatus.FAILED),
    }
    return render(request, "followups/outbox/admin.html", context)


@role_required(Role.ADMIN)
@require_GET
def outbox_export(request: HttpRequest) -> HttpResponse:
    """The messages of the outbox tab shown (`?format=csv|xlsx&status=…&purpose=…`)."""
    export_format = export_format_of(request)
    outbox = outbox_messages_for_admin(status=_status_param(request), purpose=_purpose_param(request))
    return export_response(outbox, columns=OUTBOX_COLUMNS, export_format=export_format, name="outbox")


@role_required(Role.ADMIN)
@require_POST
def outbox_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        outbox_retry(message_id=pk, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "The message is back in the outbox and will be sent within seconds.")
    return redirect(_admin_url(status=MessageStatus.FAILED, purpose=_purpose_param(request)))


@role_required(Role.ADMIN)
@require_POST
def outbox_retry_failed_view(request: HttpRequest) -> HttpResponse:
    purpose = _purpose_param(request)
    count = outbox_retry_failed(actor=request.user, purpose=purpose or None)
    messages.success(request, f"{count} failed message{'s' if count != 1 else ''} back in the outbox.")
    return redirect(_admin_url(status=MessageStatus.FAILED, purpose=purpose))
