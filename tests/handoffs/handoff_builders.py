"""Builders shared by the hand-off tests: won deals and hand-offs driven through the services."""

from __future__ import annotations

import datetime

from django.utils import timezone

from handoffs.choices import Stage
from handoffs.models import Handoff, Meeting
from handoffs.services.handoffs import (
    handoff_accept,
    handoff_propose_owner,
    handoff_start,
    meeting_schedule,
)
from tests.factories import ContactFactory, DealContactFactory, DealFactory, PromiseFactory


def won_handoff(*, rep, closed_on: datetime.date | None = None, promises: int = 1, **deal_fields) -> Handoff:
    """A deal of `rep` just won, with one customer contact and `promises` promises, and its hand-off."""
    closed_on = closed_on or timezone.localdate()
    deal = DealFactory(owner=rep, stage=Stage.WON, closed_on=closed_on, next_step="", next_step_due=None, **deal_fields)
    DealContactFactory(deal=deal)
    for number in range(promises):
        PromiseFactory(deal=deal, description=f"Promise {number + 1}: live by 1 March")
    return handoff_start(deal=deal, actor=rep)


def accepted_handoff(*, rep, manager, lead, **kwargs) -> Handoff:
    handoff = won_handoff(rep=rep, **kwargs)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=lead)
    handoff_accept(actor=lead, handoff=handoff)
    return handoff


def scheduled_meeting(*, rep, manager, lead, starts_in=datetime.timedelta(days=2), **kwargs) -> Meeting:
    handoff = accepted_handoff(rep=rep, manager=manager, lead=lead, **kwargs)
    contact = handoff.deal.deal_contacts.first().contact
    return meeting_schedule(
        actor=rep,
        handoff=handoff,
        starts_at=timezone.now() + starts_in,
        duration_minutes=45,
        location="https://meet.example/kickoff",
        contacts=[contact],
    )


def other_account_contact():
    return ContactFactory()
