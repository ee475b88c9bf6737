"""The customer's read-only status page, reached through a signed, expiring, revocable
link (no login); and, on the hand-off page, the card that revokes and resends those links."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Contact
from handoffs.models import Handoff
from handoffs.selectors.handoffs import (
    CustomerLinkRefused,
    customer_link_contact,
    customer_link_rows,
    customer_status_for_token,
    handoff_for_change,
)
from handoffs.services.customer_links import (
    customer_link_revoke,
    customer_link_send,
    user_may_manage_customer_links,
)


def _private(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
def customer_status(request: HttpRequest, token: str) -> HttpResponse:
    status = customer_status_for_token(token)
    if isinstance(status, CustomerLinkRefused):
        # Forged, expired, revoked, replaced or its contact off the deal: one page and one
        # status for all, so that a link tells nobody which; only who to ask for a new one.
        return _private(render(request, "handoffs/customer_link_invalid.html", {"ask": status.ask}, status=404))
    return _private(render(request, "handoffs/customer_status.html", {"status": status}))


# --- the "Customer links" card of the hand-off page -------------------------------------


def _managed_handoff(request: HttpRequest, pk: int) -> Handoff:
    """The hand-off (404 unless the user may read it), 403 unless they may manage its links."""
    handoff = handoff_for_change(request.user, pk)
    if not user_may_manage_customer_links(request.user, handoff):
        raise PermissionDenied("Only the hand-off's rep, delivery owner or their managers manage its links.")
    return handoff


def _card(request: HttpRequest, handoff: Handoff, *, status: int = 200, **extra) -> HttpResponse:
    """The card alone for htmx (the hand-off page loads it, the buttons swap it), else a
    page of its own (without JavaScript)."""
    context = {
        "handoff": handoff,
        "deal": handoff.deal,
        "rows": customer_link_rows(handoff),
        "link_days": settings.BATON_CUSTOMER_LINK_DAYS,
        **extra,
    }
    template = "handoffs/handoff/_customer_links_card.html" if request.htmx else "handoffs/handoff/customer_links.html"
    return render(request, template, context, status=status)


@require_GET
@login_required
def customer_links(request: HttpRequest, pk: int) -> HttpResponse:
    return _card(request, _managed_handoff(request, pk))


def _link_action(
    request: HttpRequest,
    pk: int,
    contact_pk: int,
    action: Callable[..., object],
    success: Callable[[Contact], str],
) -> HttpResponse:
    handoff = _managed_handoff(request, pk)
    contact = customer_link_contact(handoff, contact_pk)
    try:
        action(actor=request.user, handoff=handoff, contact=contact)
    except ValidationError as error:
        if request.htmx:
            return _card(request, handoff, status=422, errors=error.messages)
        for message in error.messages:
            messages.error(request, message)
        return redirect("handoffs:customer_links", pk=handoff.pk)
    notice = success(contact)
    if request.htmx:
        return _card(request, handoff, notice=notice)
    messages.success(request, notice)
    return redirect("handoffs:customer_links", pk=handoff.pk)


@require_POST
@login_required
def customer_link_revoke_view(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    return _link_action(
        request,
        pk,
        contact_pk,
        customer_link_revoke,
        lambda contact: f"{contact}'s link no longer opens the status page.",
    )


@require_POST
@login_required
def customer_link_send_view(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    return _link_action(
        request,
        pk,
        contact_pk,
        customer_link_send,
        lambda contact: f"A fresh link is on its way to {contact.email}; the one before no longer works.",
    )
