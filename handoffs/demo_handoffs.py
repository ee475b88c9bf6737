"""Demo hand-offs in every status, some overdue, driven through the services so that
their timelines read as they would in use, for customers of accounts.demo.

Called by `manage.py seed_demo` (after handoffs.demo) with the people of
accounts.demo.seed_people(): maria (sales manager), rita and sam (reps), oscar
(delivery manager), dana and lee (delivery leads), ada (admin).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from accounts.demo import handoff_customer
from accounts.models import Account, User
from handoffs.choices import ContactRole, LeadSource, Stage, StepOwnerRole
from handoffs.models import Handoff, Meeting
from handoffs.services.deals import deal_close, deal_contact_add, deal_create, deal_move_stage, promise_add
from handoffs.services.handoffs import (
    handoff_accept,
    handoff_complete,
    handoff_decline,
    handoff_propose_owner,
    handoff_step_complete,
    handoff_step_skip,
    meeting_record,
    meeting_schedule,
)

# The last status each demo hand-off is driven to.
AWAITING, PROPOSED, DECLINED, ACCEPTED, SCHEDULED, INCOMPLETE, HELD, COMPLETE = (
    "awaiting",
    "proposed",
    "declined",
    "accepted",
    "scheduled",
    "incomplete",
    "held",
    "complete",
)


@dataclass(frozen=True)
class DemoHandoff:
    account: str
    domain: str
    rep: str
    deal_title: str
    amount: str
    closed_days_ago: int
    target: str
    lead: str = "dana"
    steps_done: int = 0


DEMO_HANDOFFS = [
    DemoHandoff("Acme Dental Group", "acmedental.example", "rita", "Clinic scheduling suite", "42000", 6, AWAITING),
    DemoHandoff("Blue Harbor Ports", "blueharbor.example", "sam", "Berth planning pilot", "18000", 1, PROPOSED),
    DemoHandoff("Cobalt Mining", "cobalt.example", "rita", "Site safety tracking", "96000", 8, PROPOSED, lead="lee"),
    DemoHandoff("Delta Pharma", "deltapharma.example", "sam", "Batch release workflow", "120000", 5, DECLINED, "lee"),
    DemoHandoff("Evergreen Schools", "evergreen.example", "rita", "Parent portal", "27000", 7, ACCEPTED, "dana", 2),
    DemoHandoff("Fjord Energy", "fjord.example", "sam", "Field crew app", "64000", 2, SCHEDULED, "lee", 1),
    DemoHandoff("Granite Insurance", "granite.example", "rita", "Claims intake", "88000", 9, INCOMPLETE, "dana", 3),
    DemoHandoff("Helios Solar", "helios.example", "sam", "Installer scheduling", "51000", 10, HELD, "lee", 4),
    DemoHandoff("Iris Hotels", "iris.example", "rita", "Guest messaging", "39000", 21, COMPLETE, "dana"),
]


def _won_deal(spec: DemoHandoff, rep: User, today: datetime.date):
    account, first, second = handoff_customer(rep, name=spec.account, domain=spec.domain)
    deal = deal_create(
        actor=rep,
        account=account,
        title=spec.deal_title,
        amount=Decimal(spec.amount),
        lead_source=LeadSource.REFERRAL,
        context_origin=f"Referred by a customer who uses us for {spec.deal_title.lower()}.",
        context_known="Saw two demos; knows the onboarding plan and the pricing.",
        context_talked_to="The operations director (champion) and the IT lead.",
        context_needs=f"{spec.deal_title} live before the next quarter, with single sign-on.",
        next_step="Final call with the decision maker",
        next_step_due=today + datetime.timedelta(days=1),
    )
    deal_contact_add(actor=rep, deal=deal, contact=first, role=ContactRole.DECISION_MAKER)
    deal_contact_add(actor=rep, deal=deal, contact=second, role=ContactRole.CHAMPION)
    promise_add(actor=rep, deal=deal, description="Live within six weeks of kick-off")
    promise_add(actor=rep, deal=deal, description="Single sign-on included")
    promise_add(actor=rep, deal=deal, description="Weekly status call during onboarding")
    for stage in (Stage.DISCOVER, Stage.PROPOSE, Stage.NEGOTIATE):
        deal = deal_move_stage(actor=rep, deal=deal, stage=stage)
    deal_close(
        actor=rep,
        deal=deal,
        outcome="won",
        closed_on=today - datetime.timedelta(days=spec.closed_days_ago),
        final_amount=Decimal(spec.amount),
        reason="Clear fit; strong champion; budget approved.",
    )
    return deal, first


def _hold_meeting(handoff: Handoff, *, rep: User, lead: User, contact, with_customer: bool, days_ago: int) -> Meeting:
    meeting = meeting_schedule(
        actor=rep,
        handoff=handoff,
        starts_at=timezone.now() + datetime.timedelta(hours=1),
        duration_minutes=45,
        location="https://meet.example/handoff",
        contacts=[contact],
    )
    # The services refuse to record a meeting before it starts: the demo moves it to
    # the past, as the passing days would have, before recording it.
    Meeting.objects.filter(pk=meeting.pk).update(starts_at=timezone.now() - datetime.timedelta(days=days_ago))
    meeting.refresh_from_db()
    promises = list(handoff.deal.promises.order_by("id"))
    reviews = []
    if with_customer:
        reviews = [
            (promises[0], "renegotiated", "Live within eight weeks of kick-off", "Data migration needs two more weeks"),
            (promises[1], "confirmed", "", ""),
            (promises[2], "dropped", "", "The customer prefers a fortnightly call"),
        ]
    meeting_record(
        actor=rep,
        meeting=meeting,
        attended_user_ids=[rep.pk, lead.pk],
        attended_contact_ids=[contact.pk] if with_customer else [],
        agreement="Kick-off next Monday; SSO configured in week two; fortnightly status call.",
        promise_reviews=reviews,
    )
    return meeting


def seed_handoff_states(people: dict[str, User]) -> None:
    """Create demo accounts with won deals and drive their hand-offs into every status
    (idempotent: skipped if the first demo account exists)."""
    if Account.objects.filter(name=DEMO_HANDOFFS[0].account).exists():
        return
    today = timezone.localdate()
    manager = people["maria"]
    seeded: list[int] = []
    for spec in DEMO_HANDOFFS:
        rep, lead = people[spec.rep], people[spec.lead]
        deal, contact = _won_deal(spec, rep, today)
        handoff = Handoff.objects.get(deal=deal)
        seeded.append(handoff.pk)
        if spec.target == AWAITING:
            continue
        handoff_propose_owner(actor=manager, handoff=handoff, owner=lead)
        if spec.target == PROPOSED:
            continue
        if spec.target == DECLINED:
            handoff_decline(actor=lead, handoff=handoff, reason="At capacity until next month; dana knows pharma.")
            continue
        handoff_accept(actor=lead, handoff=handoff)
        steps = list(handoff.steps.order_by("position"))
        for step in steps[: spec.steps_done]:
            handoff_step_complete(actor=rep if step.owner_role != StepOwnerRole.DELIVERY else lead, step=step)
        if spec.target == SCHEDULED:
            meeting_schedule(
                actor=rep,
                handoff=handoff,
                starts_at=timezone.now() + datetime.timedelta(days=2, hours=2),
                duration_minutes=60,
                location="Customer office, meeting room 3",
                contacts=[contact],
            )
        elif spec.target == INCOMPLETE:
            _hold_meeting(handoff, rep=rep, lead=lead, contact=contact, with_customer=False, days_ago=2)
        elif spec.target in (HELD, COMPLETE):
            _hold_meeting(handoff, rep=rep, lead=lead, contact=contact, with_customer=True, days_ago=3)
        if spec.target == COMPLETE:
            for step in handoff.steps.filter(status="open"):
                if step.required:
                    handoff_step_complete(actor=lead, step=step)
                else:
                    handoff_step_skip(actor=lead, step=step, reason="Not needed for this customer.")
            handoff_complete(actor=lead, handoff=handoff)
    # The demo's e-mails (invites, summaries, notices) are in the outbox now; the demo
    # command marks them sent (followups.demo.settle_demo_outbox).
