"""The deal page's actions on a pending hand-off packet (handoffs.packet.packet_pending):
a manager's waiver, and starting the hand-off of a packet that is complete now.

Each view: access (in the service) → form → service → back to the deal page's banner,
with the service's refusal as a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from handoffs.forms.packet_pending import PacketPendingWaiveForm
from handoffs.packet import packet_pending_waivable_by
from handoffs.selectors.deals import deal_for_change
from handoffs.services.deals import deal_packet_pending_recheck, deal_packet_pending_waive


def _banner(deal_id: int) -> HttpResponse:
    return redirect(f"{reverse('handoffs:deal_detail', args=[deal_id])}#packet-pending")


@login_required
@require_POST
def deal_packet_pending_waive_view(request: HttpRequest, pk: int) -> HttpResponse:
    deal = deal_for_change(request.user, pk)
    if not packet_pending_waivable_by(request.user, deal):
        raise PermissionDenied("Only a manager of this deal's team or an admin waives a pending packet.")
    form = PacketPendingWaiveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the hand-off starts without the full packet.")
        return _banner(deal.pk)
    try:
        deal_packet_pending_waive(actor=request.user, deal=deal, reason=form.cleaned_data["reason"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _banner(deal.pk)
    messages.success(request, "Packet waived — the hand-off has started.")
    return redirect("handoffs:deal_detail", pk=deal.pk)


@login_required
@require_POST
def deal_packet_pending_recheck_view(request: HttpRequest, pk: int) -> HttpResponse:
    deal = deal_for_change(request.user, pk)
    try:
        deal_packet_pending_recheck(actor=request.user, deal=deal)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _banner(deal.pk)
    messages.success(request, "The packet is complete — the hand-off has started.")
    return redirect("handoffs:deal_detail", pk=deal.pk)
