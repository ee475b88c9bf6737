"""The start of a hand-off: its row and its steps copied from the playbook.

Apart from handoffs.services.handoffs (which re-exports it) so that the services that may
complete a pending packet (handoffs.services.packet_pending, called by promise_add too)
start a hand-off without an import circle through handoffs.services.promises.
"""

from __future__ import annotations

import datetime

from django.db import transaction

from accounts.choices import EventVerb
from accounts.models import User
from accounts.services import event_record
from handoffs.choices import HandoffStatus, StepOwnerRole
from handoffs.models import Deal, Handoff, HandoffStep, Playbook
from handoffs.signals import EVENT_ABOUT_HANDOFF, EVENT_HANDOFF_STARTED, send_domain_event


def playbook_for_deal(deal: Deal) -> Playbook | None:
    """The active playbook of the deal's segment, else the default one."""
    active = Playbook.objects.filter(is_active=True)
    if deal.segment:
        by_segment = active.filter(segment=deal.segment).first()
        if by_segment is not None:
            return by_segment
    return active.filter(is_default=True).first()


def _assignee_for(role: str, *, rep: User) -> User | None:
    # Steps owned by the rep or their manager get a named assignee at once; delivery
    # steps get the delivery owner when one accepts (see handoff_accept).
    if role == StepOwnerRole.SALES:
        return rep
    if role == StepOwnerRole.MANAGER:
        return rep.manager
    return None


@transaction.atomic
def handoff_start(*, deal: Deal, actor: User | None) -> Handoff:
    """Create the hand-off of a deal just marked won, copying its playbook's steps.

    Called inside their transaction by deals.deal_close, the waiver of a pending packet
    and packet_pending.packet_pending_settle; not meant to be called alone. Every start
    announces handoff.started here, once, whichever path started it.
    """
    if deal.closed_on is None:
        raise ValueError("handoff_start needs a deal with its close date set.")
    playbook = playbook_for_deal(deal)
    handoff = Handoff.objects.create(
        deal=deal,
        playbook=playbook,
        closed_on=deal.closed_on,
        rep=deal.owner,
        team=deal.team,
        status=HandoffStatus.AWAITING_OWNER,
    )
    if playbook is not None:
        HandoffStep.objects.bulk_create(
            [
                HandoffStep(
                    handoff=handoff,
                    position=step.position,
                    title=step.title,
                    owner_role=step.owner_role,
                    assignee=_assignee_for(step.owner_role, rep=deal.owner),
                    required=step.required,
                    due_on=deal.closed_on + datetime.timedelta(days=step.due_offset_days),
                )
                for step in playbook.steps.all()
            ]
        )
    event_record(
        account=deal.account,
        subject=deal,
        verb=EventVerb.HANDOFF_STARTED,
        message=f"Hand-off started with the playbook “{playbook}”." if playbook else "Hand-off started (no playbook).",
        actor=actor,
        data={"handoff_id": handoff.pk},
    )
    send_domain_event(
        Handoff,
        event=EVENT_HANDOFF_STARTED,
        item_kind=EVENT_ABOUT_HANDOFF,
        item_id=handoff.pk,
        actor_id=actor.pk if actor is not None else None,
    )
    return handoff
