"""The end of a pending packet (handoffs.packet.packet_pending): the hand-off starts as
soon as the packet is complete.

packet_pending_settle is called, inside their transaction and on the locked deal row, by
every service that changes a part of the packet: deal_update (the context fields),
deal_contact_add, deal_no_promises_set (handoffs.services.deals) and promise_add
(handoffs.services.promises). It lives apart from deals.py because promises.py cannot
import deals.py (deals re-exports promise_add).
"""

from __future__ import annotations

from django.utils import timezone

from accounts.choices import EventVerb
from accounts.models import User
from accounts.services import event_record
from handoffs.models import Deal, Handoff
from handoffs.packet import deal_packet, packet_pending
from handoffs.services.handoff_start import handoff_start


def packet_pending_settle(*, deal: Deal, actor: User | None) -> Handoff | None:
    """If `deal` (locked by the caller) waits for its packet and the packet is now
    complete, clear the pending mark and start the hand-off; the started hand-off, or
    None when nothing was pending or something is still missing.

    The hand-off keeps the deal's close date (its steps are due from the close, as the
    dropped-baton rules count from it): a packet left pending is time lost, not reset."""
    if not packet_pending(deal):
        return None
    if deal_packet(deal).missing:
        return None
    pending_since = deal.packet_pending_since
    deal.packet_pending_since = None
    deal.save(update_fields=["packet_pending_since", "updated_at"])
    event_record(
        account=deal.account,
        subject=deal,
        verb=EventVerb.DEAL_UPDATED,
        message="Hand-off packet complete: the hand-off starts.",
        actor=actor,
        data={
            "fields": ["packet_pending_since"],
            "packet_pending": False,
            "pending_seconds": int((timezone.now() - pending_since).total_seconds()),
        },
    )
    return handoff_start(deal=deal, actor=actor)
