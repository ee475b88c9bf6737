"""Closes straight from the CRM: the endpoint a CRM posts to, and the admins' pages.

- POST /api/v1/inbound/<slug>/ (InboundReceiveView): no session or token — Baton's HMAC
  signature, or HubSpot's v3 one for a HubSpot source (handoffs.inbound.signature), is
  the authentication; answers with the API's one error body (accounts.api.errors) or the
  delivery's result. Not in the OpenAPI schema: README "Closes from your CRM" documents it.
- /inbound/…: sources (create, edit, rotate the secret), the deliveries of the last 30
  days, one delivery's raw payload, replay — admins only.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import role_required
from accounts.api.errors import error_body
from accounts.choices import Role
from accounts.common.forms import add_service_error
from accounts.common.http import parse_id
from handoffs.choices import InboundOutcome
from handoffs.forms.inbound import InboundSourceEditForm, InboundSourceForm
from handoffs.inbound.selectors import (
    inbound_deliveries_for_admin,
    inbound_delivery_for_admin,
    inbound_source_for_admin,
    inbound_sources_for_admin,
)
from handoffs.inbound.services import (
    MAX_BODY_BYTES,
    RETENTION_DAYS,
    inbound_delivery_replay,
    inbound_receive,
    inbound_source_create,
    inbound_source_rotate_secret,
    inbound_source_update,
)
from handoffs.inbound.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER

PAGE_SIZE = 50


@extend_schema(exclude=True)
class InboundReceiveView(APIView):
    """A CRM's delivery: signed with the source's shared secret, no other authentication."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes: list = []  # the raw body is read as it came: the signature is over its bytes
    throttle_classes: list = []

    def post(self, request: Request, slug: str) -> Response:
        declared = (request.META.get("CONTENT_LENGTH") or "").strip()
        content_length = int(declared) if declared.isascii() and declared.isdigit() else 0
        body = b""
        if content_length <= MAX_BODY_BYTES:
            try:
                body = request.body
            except RequestDataTooBig:
                content_length = MAX_BODY_BYTES + 1
        answer = inbound_receive(
            slug=slug,
            body=body,
            headers=request.headers,
            remote_addr=request.META.get("REMOTE_ADDR", ""),
            content_length=content_length,
            method=request.method or "POST",
            # HubSpot signs the URL it posted to: behind a proxy, this is right only if the
            # proxy passes the original Host and the scheme (SECURE_PROXY_SSL_HEADER).
            request_uri=request.build_absolute_uri(),
        )
        if answer.error_code:
            data = error_body(answer.error_code, answer.message, answer.fields or None)
            if answer.delivery is not None:
                data["delivery"] = answer.delivery.pk
            return Response(data, status=answer.status)
        return Response(answer.result, status=answer.status)


# --- the admins' pages ------------------------------------------------------------------


def _endpoint_url(request: HttpRequest, slug: str) -> str:
    return request.build_absolute_uri(reverse("handoffs:inbound_receive", args=[slug]))


@role_required(Role.ADMIN)
@require_GET
def inbound_admin(request: HttpRequest) -> HttpResponse:
    """The sources, and the deliveries of the last 30 days (filter by source, outcome)."""
    source_id = parse_id(request.GET.get("source"))
    outcome = request.GET.get("outcome", "")
    if outcome not in InboundOutcome.values:
        outcome = ""
    deliveries = inbound_deliveries_for_admin(source_id=source_id, outcome=outcome)
    page = Paginator(deliveries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode({key: value for key, value in (("source", source_id or ""), ("outcome", outcome)) if value})
    context = {
        "sources": inbound_sources_for_admin(),
        "page": page,
        "deliveries": list(page.object_list),
        "source_id": source_id,
        "outcome": outcome,
        "outcomes": InboundOutcome.choices,
        "query": query,
        "retention_days": RETENTION_DAYS,
    }
    return render(request, "handoffs/inbound/admin.html", context)


@role_required(Role.ADMIN)
def inbound_source_create_view(request: HttpRequest) -> HttpResponse:
    form = InboundSourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            source = inbound_source_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"Source “{source}” created: copy its secret into your CRM.")
            return redirect("handoffs:inbound_source_detail", pk=source.pk)
    return render(request, "handoffs/inbound/source_form.html", {"form": form})


@role_required(Role.ADMIN)
def inbound_source_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A source: its address and secret (to paste into the CRM), its settings, rotation."""
    source = inbound_source_for_admin(pk)
    form = InboundSourceEditForm(request.POST or None, instance=source)
    if request.method == "POST" and form.is_valid():
        try:
            inbound_source_update(actor=request.user, source=source, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Source saved.")
            return redirect("handoffs:inbound_source_detail", pk=source.pk)
    source.refresh_from_db()
    context = {
        "source": source,
        "form": form,
        "endpoint_url": _endpoint_url(request, source.slug),
        "timestamp_header": TIMESTAMP_HEADER,
        "signature_header": SIGNATURE_HEADER,
        "max_body_bytes": MAX_BODY_BYTES,
    }
    return render(request, "handoffs/inbound/source_detail.html", context)


@role_required(Role.ADMIN)
@require_POST
def inbound_source_rotate_view(request: HttpRequest, pk: int) -> HttpResponse:
    source = inbound_source_for_admin(pk)
    inbound_source_rotate_secret(actor=request.user, source=source)
    messages.success(
        request, "New secret generated. The previous one keeps working for 24 hours: paste the new one into the CRM."
    )
    return redirect("handoffs:inbound_source_detail", pk=source.pk)


@role_required(Role.ADMIN)
@require_GET
def inbound_delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One delivery: outcome and reason, headers, the raw payload, its replays."""
    delivery = inbound_delivery_for_admin(pk)
    context = {
        "delivery": delivery,
        "replays": list(delivery.replays.order_by("-received_at").defer("raw_body", "headers")),
        "can_replay": delivery.outcome == InboundOutcome.FAILED_TO_MAP and delivery.signature_ok,
    }
    return render(request, "handoffs/inbound/delivery_detail.html", context)


@role_required(Role.ADMIN)
@require_POST
def inbound_delivery_replay_view(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = inbound_delivery_for_admin(pk)
    try:
        answer = inbound_delivery_replay(actor=request.user, delivery=delivery)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("handoffs:inbound_delivery_detail", pk=delivery.pk)
    replay = answer.delivery
    assert replay is not None
    if answer.error_code:
        messages.error(request, f"Replayed: {replay.get_outcome_display().lower()} again — {replay.reason}")
    else:
        messages.success(request, f"Replayed: {replay.get_outcome_display().lower()}.")
    return redirect("handoffs:inbound_delivery_detail", pk=replay.pk)
