"""Admins' webhook pages: the endpoints (list, create, edit, deactivate, rotate the secret,
send a test event) and each endpoint's delivery log with its replay button. Thin views:
access (admins only) → form → service → redirect."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.access import role_required
from accounts.choices import Role
from accounts.common.forms import add_service_error
from followups.choices import MessageChannel, MessageStatus, WebhookEvent
from followups.forms_webhooks import WebhookEndpointForm
from followups.models import OutboxMessage, WebhookEndpoint
from followups.selectors.webhooks import webhook_deliveries, webhook_delivery_counts, webhook_endpoints_for_admin
from followups.services.webhooks import (
    REPLAYABLE_STATUSES,
    webhook_delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_set_active,
    webhook_endpoint_update,
    webhook_send_test,
)

PAGE_SIZE = 50
LOG_STATUSES = (
    MessageStatus.PENDING,
    MessageStatus.SENDING,
    MessageStatus.SENT,
    MessageStatus.FAILED,
    MessageStatus.CANCELLED,
)


@role_required(Role.ADMIN)
@require_GET
def webhook_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "followups/webhooks/list.html",
        {"endpoints": list(webhook_endpoints_for_admin()), "event_labels": dict(WebhookEvent.choices)},
    )


def _endpoint_fields(form: WebhookEndpointForm) -> dict:
    data = form.cleaned_data
    return {
        "name": data["name"],
        "url": data["url"],
        "format": data["format"],
        "events": data["events"],
        "is_active": data["is_active"],
    }


@role_required(Role.ADMIN)
def webhook_create(request: HttpRequest) -> HttpResponse:
    form = WebhookEndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = webhook_endpoint_create(actor=request.user, **_endpoint_fields(form))
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"The endpoint “{endpoint}” is registered. Its signing secret is below.")
            return redirect("followups:webhook_detail", pk=endpoint.pk)
    return render(request, "followups/webhooks/form.html", {"form": form, "title": "New webhook endpoint"})


@role_required(Role.ADMIN)
def webhook_edit(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    initial = {
        "name": endpoint.name,
        "url": endpoint.url,
        "format": endpoint.format,
        "events": endpoint.events,
        "is_active": endpoint.is_active,
    }
    form = WebhookEndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            webhook_endpoint_update(actor=request.user, endpoint=endpoint, **_endpoint_fields(form))
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "The endpoint is saved.")
            return redirect("followups:webhook_detail", pk=endpoint.pk)
    return render(
        request,
        "followups/webhooks/form.html",
        {"form": form, "endpoint": endpoint, "title": f"Edit “{endpoint}”"},
    )


@role_required(Role.ADMIN)
@require_GET
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    status = request.GET.get("status", "")
    if status not in MessageStatus.values:
        status = ""
    page = Paginator(webhook_deliveries(endpoint=endpoint, status=status), PAGE_SIZE).get_page(request.GET.get("page"))
    counts = webhook_delivery_counts(endpoint=endpoint)
    context = {
        "endpoint": endpoint,
        "event_labels": [label for value, label in WebhookEvent.choices if value in endpoint.events],
        "page": page,
        "deliveries": list(page.object_list),
        "status": status,
        "tabs": [
            {"status": value, "label": MessageStatus(value).label, "count": counts.get(value, 0)}
            for value in LOG_STATUSES
        ],
        "replayable": REPLAYABLE_STATUSES,
    }
    return render(request, "followups/webhooks/detail.html", context)


@role_required(Role.ADMIN)
@require_POST
def webhook_set_active_view(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    active = request.POST.get("active") == "1"
    webhook_endpoint_set_active(actor=request.user, endpoint=endpoint, active=active)
    if active:
        messages.success(request, "The endpoint is active again.")
    else:
        messages.success(request, "The endpoint is deactivated; what was queued for it is cancelled.")
    return redirect("followups:webhook_detail", pk=endpoint.pk)


@role_required(Role.ADMIN)
@require_POST
def webhook_rotate_secret_view(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    webhook_endpoint_rotate_secret(actor=request.user, endpoint=endpoint)
    messages.success(request, "A new secret signs every delivery from now on; the old one no longer verifies.")
    return redirect("followups:webhook_detail", pk=endpoint.pk)


@role_required(Role.ADMIN)
@require_POST
def webhook_send_test_view(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    try:
        webhook_send_test(actor=request.user, endpoint=endpoint)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "A test event is on its way; it shows in the log below within seconds.")
    return redirect("followups:webhook_detail", pk=endpoint.pk)


@role_required(Role.ADMIN)
@require_POST
def webhook_replay_view(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(OutboxMessage, pk=pk, channel=MessageChannel.WEBHOOK)
    try:
        webhook_delivery_replay(actor=request.user, delivery_id=delivery.pk)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Replayed with the same delivery id; the receiver can tell it is the same event.")
    return redirect(reverse("followups:webhook_detail", args=[delivery.endpoint_id]))
