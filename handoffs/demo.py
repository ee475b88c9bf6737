"""Demo data of the handoffs app, for `manage.py seed_demo`.

The pipeline: ~30 deals in every stage for the ~10 customers of accounts.demo, built
through the services so that the timelines read as they would in use. Called with the
people of accounts.demo.seed_people().

The dropped-baton stories: a handful of customers whose deals and hand-offs each drop a
baton of a different kind, written directly and back-dated over the last weeks, as
history would have left them; followups.demo_report adds their check-ins and computes
the report once.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from accounts.demo import demo_customer, seed_pipeline_customers
from accounts.models import Account, Contact, User
from handoffs.choices import (
    ContactRole,
    HandoffStatus,
    LeadSource,
    LostReason,
    MeetingStatus,
    PromiseStatus,
    Stage,
    StepOwnerRole,
)
from handoffs.models import Deal, DealContact, Handoff, HandoffStep, Meeting, MeetingAttendee, Promise
from handoffs.services.deals import deal_close, deal_contact_add, deal_create, deal_move_stage, promise_add

# (index in accounts.demo.DEMO_ACCOUNTS, title, amount, stage, next step due in days (negative: overdue),
#  expected close in days, number of contacts on the deal, promises)
DEMO_DEALS = [
    (
        0,
        "Fleet tracking roll-out",
        84000,
        Stage.NEGOTIATE,
        2,
        12,
        3,
        ["Live in 3 depots by 1 June", "Weekly status call"],
    ),
    (0, "Driver app pilot", 12000, Stage.DISCOVER, -4, 40, 1, []),
    (0, "Warehouse scanners", 36000, Stage.WON, None, None, 2, ["On-site training for 20 staff"]),
    (1, "Store inventory sync", 150000, Stage.PROPOSE, 5, 20, 1, ["Integration with their POS"]),
    (1, "Loyalty analytics", 48000, Stage.QUALIFY, 1, 75, 1, []),
    (1, "Returns portal", 22000, Stage.LOST, None, None, 1, []),
    (2, "Patient intake forms", 18000, Stage.NEGOTIATE, -2, 5, 1, ["HIPAA-ready hosting"]),
    (2, "Scheduling module", 9500, Stage.QUALIFY, 3, 60, 1, []),
    (2, "Telehealth add-on", 14000, Stage.WON, None, None, 2, ["Live by the end of the quarter", "SSO included"]),
    (3, "Cold-chain monitoring", 67000, Stage.PROPOSE, 0, 15, 2, ["Alerts by SMS"]),
    (3, "Supplier portal", 41000, Stage.DISCOVER, 6, 50, 1, []),
    (3, "Quality audit tool", 16000, Stage.LOST, None, None, 1, []),
    (4, "Plant maintenance suite", 230000, Stage.NEGOTIATE, 4, 18, 3, ["Dedicated delivery manager", "99.9% uptime"]),
    (4, "Engineering change control", 95000, Stage.PROPOSE, -7, 10, 1, []),
    (4, "Spare parts forecasting", 58000, Stage.WON, None, None, 3, ["Forecast accuracy report monthly"]),
    (5, "Tenant portal", 27000, Stage.DISCOVER, 2, 45, 1, []),
    (5, "Facilities ticketing", 19000, Stage.PROPOSE, 8, 25, 2, ["Mobile app for caretakers"]),
    (5, "Lease analytics", 11000, Stage.LOST, None, None, 1, []),
    (6, "Workshop scheduling", 7000, Stage.QUALIFY, -1, 30, 1, []),
    (6, "Tool tracking tags", 5200, Stage.NEGOTIATE, 3, 8, 1, ["Tags delivered within 2 weeks"]),
    (7, "Lab notebook migration", 62000, Stage.PROPOSE, 4, 22, 2, ["Data migrated without downtime"]),
    (7, "Sample inventory", 23000, Stage.DISCOVER, -3, 55, 1, []),
    (7, "Compliance reporting", 31000, Stage.WON, None, None, 2, ["Audit trail export"]),
    (8, "Newsroom planning board", 44000, Stage.NEGOTIATE, 1, 9, 3, ["Training for 40 editors"]),
    (8, "Ad sales CRM sync", 38000, Stage.QUALIFY, 5, 80, 1, []),
    (8, "Archive digitisation", 120000, Stage.LOST, None, None, 2, []),
    (9, "Import tracking", 15000, Stage.PROPOSE, -5, 14, 1, []),
    (9, "Customs paperwork automation", 26000, Stage.DISCOVER, 7, 35, 2, []),
    (9, "Latex supplier portal", 8000, Stage.WON, None, None, 1, ["Go-live before the trade fair"]),
    (6, "Second site roll-out", 9000, Stage.QUALIFY, 10, 90, 1, []),
]

LEAD_SOURCES = [LeadSource.INBOUND, LeadSource.REFERRAL, LeadSource.OUTBOUND, LeadSource.EVENT, LeadSource.PARTNER]
ROLES = [ContactRole.DECISION_MAKER, ContactRole.CHAMPION, ContactRole.FINANCE, ContactRole.USER]
LOST_REASONS = [LostReason.PRICE, LostReason.COMPETITOR, LostReason.NO_DECISION, LostReason.TIMING]
OPEN_PATH = [Stage.QUALIFY, Stage.DISCOVER, Stage.PROPOSE, Stage.NEGOTIATE]


def seed_handoffs_demo(people: dict[str, User]) -> None:
    """Create the demo pipeline: its customers (accounts.demo) and their deals
    (idempotent: skipped if accounts exist)."""
    if Account.objects.exists():
        return
    today = timezone.localdate()
    accounts = seed_pipeline_customers(people)

    overdue: dict[int, int] = {}
    for position, (index, title, amount, stage, due_in, close_in, contact_count, promises) in enumerate(DEMO_DEALS):
        account = accounts[index]
        owner = account.owner
        closed = stage in (Stage.WON, Stage.LOST)
        has_context = not (stage == Stage.WON and position % 3 == 2)  # a few won deals lack context on purpose
        deal = deal_create(
            actor=owner,
            account=account,
            title=title,
            amount=Decimal(amount),
            currency="GBP" if owner.username == "sam" else "EUR",
            expected_close_date=today + datetime.timedelta(days=close_in if close_in is not None else 10),
            lead_source=LEAD_SOURCES[position % len(LEAD_SOURCES)] if has_context else "",
            context_origin=f"Met {account.name} at a partner event." if has_context else "",
            context_known="Saw the demo and the pricing page; knows the onboarding takes four weeks."
            if has_context
            else "",
            context_talked_to="Spoke with our solutions engineer twice." if has_context else "",
            context_needs=f"Replace spreadsheets for {title.lower()}." if has_context else "",
            next_step="Send the proposal" if not closed else "Final call with the decision maker",
            next_step_due=today + datetime.timedelta(days=max(due_in or 0, 0) + 1),
        )
        for contact, role in zip(account.contacts.order_by("pk")[:contact_count], ROLES, strict=False):
            deal_contact_add(actor=owner, deal=deal, contact=contact, role=role)
        for number, promise in enumerate(promises):
            promise_add(
                actor=owner,
                deal=deal,
                description=promise,
                target_date=today + datetime.timedelta(days=30 * (number + 1)) if number == 0 else None,
            )
        target = Stage.NEGOTIATE if closed else stage
        for next_stage in OPEN_PATH[1 : OPEN_PATH.index(target) + 1]:
            deal = deal_move_stage(actor=owner, deal=deal, stage=next_stage)
        if stage == Stage.WON:
            deal_close(
                actor=owner,
                deal=deal,
                outcome="won",
                closed_on=today - datetime.timedelta(days=2 + position % 9),
                final_amount=Decimal(amount),
                reason="Best fit for their process; strong champion.",
                packet_waiver_reason=_demo_waiver(has_context=has_context, contact_count=contact_count),
            )
        elif stage == Stage.LOST:
            deal_close(
                actor=owner,
                deal=deal,
                outcome="lost",
                closed_on=today - datetime.timedelta(days=3 + position % 20),
                final_amount=Decimal(0),
                reason="They chose to wait a year.",
                lost_reason=LOST_REASONS[position % len(LOST_REASONS)],
            )
        elif due_in is not None and due_in < 0:
            overdue[deal.pk] = due_in
    # Some next steps went overdue "before today": the services refuse a past due date
    # on save, so the demo ages them directly, as the passing days would have.
    for deal_id, due_in in overdue.items():
        Deal.objects.filter(pk=deal_id).update(next_step_due=today + datetime.timedelta(days=due_in))


def _demo_waiver(*, has_context: bool, contact_count: int) -> str:
    """Why a demo deal closes without its full hand-off packet ("" when it has it): the
    deals that lack context or a second contact on purpose sign for it (handoffs.packet)."""
    if not has_context:
        return "They signed a week early to use this year's budget; the context follows with delivery."
    if contact_count < 2:
        return "A small firm: the owner is the only person we deal with."
    return ""


# --- the dropped-baton stories ------------------------------------------------------------


@dataclass(frozen=True)
class DroppedBatonStories:
    """The stories' hand-offs that followups.demo_report gives check-ins."""

    initech: Handoff  # complete, then never contacted
    wayne: Handoff  # met without the customer
    acme: Handoff  # done right, for contrast


def utc_at(day: datetime.date, hour: int = 14) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=datetime.UTC)


def _deal(account: Account, owner: User, title: str, *, contacts: list[Contact], **values) -> Deal:
    defaults = {
        "owner": owner,
        "team": owner.team,
        "amount": Decimal("48000.00"),
        "lead_source": LeadSource.REFERRAL,
        "context_origin": "Referred by a happy customer.",
        "context_needs": "A predictable onboarding for new sites.",
        **values,
    }
    deal, _ = Deal.objects.get_or_create(account=account, title=title, defaults=defaults)
    for contact in contacts:
        DealContact.objects.get_or_create(deal=deal, contact=contact)
    return deal


def _won(account: Account, owner: User, title: str, closed_days_ago: int, today: datetime.date, **values) -> Deal:
    return _deal(
        account,
        owner,
        title,
        stage=Stage.WON,
        closed_on=today - datetime.timedelta(days=closed_days_ago),
        close_reason="Best fit for their rollout.",
        **values,
    )


def _handoff(deal: Deal, **values) -> Handoff:
    handoff, _ = Handoff.objects.get_or_create(
        deal=deal,
        defaults={"closed_on": deal.closed_on, "rep": deal.owner, "team": deal.team, **values},
    )
    return handoff


def _meeting(handoff: Handoff, held_on: datetime.date, attendees: list[User | Contact]) -> Meeting:
    meeting = Meeting.objects.create(
        handoff=handoff,
        starts_at=utc_at(held_on, 10),
        location="https://meet.example/handoff",
        organizer=handoff.rep,
        status=MeetingStatus.HELD,
        held_at=utc_at(held_on, 11),
        recorded_by=handoff.rep,
    )
    for person in attendees:
        field = "contact" if isinstance(person, Contact) else "user"
        MeetingAttendee.objects.create(meeting=meeting, attended=True, **{field: person})
    return meeting


def seed_dropped_baton_stories(people: dict[str, User]) -> DroppedBatonStories | None:
    """One customer story per kind of dropped baton, up to the hand-off; None if the
    stories are already there (idempotent by the first account's name)."""
    if Account.objects.filter(name="Northwind Traders").exists():
        return None
    today = timezone.localdate()
    rita, sam, dana, lee = people["rita"], people["sam"], people["dana"], people["lee"]
    day = datetime.timedelta(days=1)

    # Open deals: a next step that slipped (no_next_step) in a late stage with a single
    # contact (single_threaded).
    northwind, (nora,) = demo_customer("Northwind Traders", rita, "Nora Quist")
    _deal(
        northwind,
        rita,
        "Northwind — 40 seats",
        contacts=[nora],
        stage=Stage.NEGOTIATE,
        next_step="Send the revised quote",
        next_step_due=today - 9 * day,
    )
    umbrella, (ulrich,) = demo_customer("Umbrella Logistics", sam, "Ulrich Baum")
    _deal(
        umbrella,
        sam,
        "Umbrella — pilot",
        contacts=[ulrich],
        stage=Stage.PROPOSE,
        next_step="Call back after their board meeting",
        next_step_due=today - 23 * day,
    )

    # Won without context (no_context), a promise broken (promise_broken); its
    # check-ins (followups.demo_report) show it never contacted since (ghosted,
    # missed_check_in).
    initech, (irene, ivan) = demo_customer("Initech", rita, "Irene Holm", "Ivan Petrov")
    deal = _won(
        initech,
        rita,
        "Initech — rollout",
        70,
        today,
        contacts=[irene, ivan],
        lead_source="",
        packet_waiver_reason="Signed in a rush before their budget froze; the context was to follow.",
        packet_waived_by=rita,
        packet_waived_at=utc_at(today - 70 * day),
    )
    initech_handoff = _handoff(
        deal,
        status=HandoffStatus.COMPLETE,
        delivery_owner=dana,
        proposed_owner=dana,
        accepted_at=utc_at(deal.closed_on + day),
    )
    _meeting(initech_handoff, deal.closed_on + 4 * day, [rita, dana, irene])
    Promise.objects.create(
        deal=deal,
        description="Data import done before go-live",
        status=PromiseStatus.BROKEN,
        reviewed_at=utc_at(today - 12 * day),
        status_note="Go-live happened without the import.",
    )

    # Nobody accepted, no meeting, a step overdue (ownership_not_accepted,
    # no_handoff_meeting, step_overdue).
    hooli, (hana,) = demo_customer("Hooli Retail", sam, "Hana Sato")
    deal = _won(hooli, sam, "Hooli — stores", 18, today, contacts=[hana])
    handoff = _handoff(
        deal, status=HandoffStatus.OWNER_PROPOSED, proposed_owner=lee, proposed_at=utc_at(deal.closed_on)
    )
    HandoffStep.objects.create(
        handoff=handoff,
        position=1,
        title="Contract countersigned",
        owner_role=StepOwnerRole.SALES_OPS,
        due_on=deal.closed_on + day,
    )

    # Declined and left with nobody (ownership_not_accepted).
    stark, (sven,) = demo_customer("Stark Components", rita, "Sven Ek")
    deal = _won(stark, rita, "Stark — phase 1", 6, today, contacts=[sven])
    _handoff(
        deal,
        status=HandoffStatus.DECLINED,
        declined_by=lee,
        declined_at=utc_at(today - 4 * day),
        decline_reason="No capacity before next quarter.",
    )

    # A "hand-off meeting" without the customer (incomplete_meeting, so also
    # no_handoff_meeting) where the promises were never reviewed (promise_unconfirmed).
    wayne, (wanda,) = demo_customer("Wayne Foods", sam, "Wanda Roy")
    deal = _won(wayne, sam, "Wayne — plants", 32, today, contacts=[wanda])
    wayne_handoff = _handoff(
        deal,
        status=HandoffStatus.MEETING_HELD,
        delivery_owner=lee,
        proposed_owner=lee,
        accepted_at=utc_at(deal.closed_on + 2 * day),
    )
    _meeting(wayne_handoff, deal.closed_on + 6 * day, [sam, lee])
    Promise.objects.create(deal=deal, description="Weekly status call", status=PromiseStatus.OPEN)

    # A hand-off done right, for contrast: accepted, met in time (and checked in).
    acme, (alice,) = demo_customer("Acme Robotics", rita, "Alice Marsh")
    deal = _won(acme, rita, "Acme — line 2", 12, today, contacts=[alice])
    acme_handoff = _handoff(
        deal,
        status=HandoffStatus.MEETING_HELD,
        delivery_owner=dana,
        proposed_owner=dana,
        accepted_at=utc_at(deal.closed_on + day),
    )
    _meeting(acme_handoff, deal.closed_on + 3 * day, [rita, dana, alice])
    Promise.objects.create(deal=deal, description="SSO included", status=PromiseStatus.CONFIRMED)

    return DroppedBatonStories(initech=initech_handoff, wayne=wayne_handoff, acme=acme_handoff)
