"""Demo data of the dropped-baton report, for `manage.py seed_demo` (after the other demos).

A handful of customers, each of whose stories drops a baton of a different kind, spread
over the last weeks so that every drop type of the report and its trend show on a fresh
demo. Rows are written directly, back-dated, as history would have left them; then the
report's snapshot and the accounts' health are computed once.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from accounts.models import Account, Contact, User
from followups.choices import Channel, CheckInStatus, Sentiment
from followups.models import CheckIn
from followups.services.report import report_refresh
from handoffs.choices import HandoffStatus, LeadSource, MeetingStatus, PromiseStatus, Stage, StepOwnerRole
from handoffs.models import Deal, DealContact, Handoff, HandoffStep, Meeting, MeetingAttendee, Promise


def _at(day: datetime.date, hour: int = 14) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=datetime.UTC)


def _customer(name: str, owner: User, *contact_names: str) -> tuple[Account, list[Contact]]:
    account, _ = Account.objects.get_or_create(
        name=name, defaults={"owner": owner, "team": owner.team, "industry": "Manufacturing"}
    )
    contacts = []
    for full_name in contact_names:
        first, last = full_name.split(" ", 1)
        contact, _ = Contact.objects.get_or_create(
            account=account,
            first_name=first,
            last_name=last,
            defaults={"email": f"{first.lower()}@{name.split()[0].lower()}.example"},
        )
        contacts.append(contact)
    return account, contacts


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


def _handoff(deal: Deal, **values) -> Handoff:
    handoff, _ = Handoff.objects.get_or_create(
        deal=deal,
        defaults={"closed_on": deal.closed_on, "rep": deal.owner, "team": deal.team, **values},
    )
    return handoff


def _meeting(handoff: Handoff, held_on: datetime.date, attendees: list[User | Contact]) -> Meeting:
    meeting = Meeting.objects.create(
        handoff=handoff,
        starts_at=_at(held_on, 10),
        location="https://meet.example/handoff",
        organizer=handoff.rep,
        status=MeetingStatus.HELD,
        held_at=_at(held_on, 11),
        recorded_by=handoff.rep,
    )
    for person in attendees:
        field = "contact" if isinstance(person, Contact) else "user"
        MeetingAttendee.objects.create(meeting=meeting, attended=True, **{field: person})
    return meeting


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


def seed_report_demo(people: dict[str, User]) -> None:
    """One customer story per kind of dropped baton (idempotent by account name)."""
    if Account.objects.filter(name="Northwind Traders").exists():
        return
    today = timezone.localdate()
    rita, sam, dana, lee = people["rita"], people["sam"], people["dana"], people["lee"]
    day = datetime.timedelta(days=1)

    # Open deals: a next step that slipped (no_next_step) in a late stage with a single
    # contact (single_threaded).
    northwind, (nora,) = _customer("Northwind Traders", rita, "Nora Quist")
    _deal(
        northwind,
        rita,
        "Northwind — 40 seats",
        contacts=[nora],
        stage=Stage.NEGOTIATE,
        next_step="Send the revised quote",
        next_step_due=today - 9 * day,
    )
    umbrella, (ulrich,) = _customer("Umbrella Logistics", sam, "Ulrich Baum")
    _deal(
        umbrella,
        sam,
        "Umbrella — pilot",
        contacts=[ulrich],
        stage=Stage.PROPOSE,
        next_step="Call back after their board meeting",
        next_step_due=today - 23 * day,
    )

    # Won without context, never contacted since (no_context, ghosted), a promise broken
    # and a check-in missed.
    initech, (irene, ivan) = _customer("Initech", rita, "Irene Holm", "Ivan Petrov")
    deal = _won(initech, rita, "Initech — rollout", 70, today, contacts=[irene, ivan], lead_source="")
    handoff = _handoff(
        deal,
        status=HandoffStatus.COMPLETE,
        delivery_owner=dana,
        proposed_owner=dana,
        accepted_at=_at(deal.closed_on + day),
    )
    _meeting(handoff, deal.closed_on + 4 * day, [rita, dana, irene])
    Promise.objects.create(
        deal=deal,
        description="Data import done before go-live",
        status=PromiseStatus.BROKEN,
        reviewed_at=_at(today - 12 * day),
        status_note="Go-live happened without the import.",
    )
    CheckIn.objects.create(
        handoff=handoff,
        account=initech,
        rep=rita,
        cadence_days=7,
        due_on=deal.closed_on + 7 * day,
        status=CheckInStatus.DONE,
        done_at=_at(deal.closed_on + 8 * day),
        channel=Channel.CALL,
        sentiment=Sentiment.NEUTRAL,
    )
    CheckIn.objects.create(
        handoff=handoff, account=initech, rep=rita, cadence_days=30, due_on=deal.closed_on + 30 * day
    )

    # Nobody accepted, no meeting, a step overdue (ownership_not_accepted,
    # no_handoff_meeting, step_overdue).
    hooli, (hana,) = _customer("Hooli Retail", sam, "Hana Sato")
    deal = _won(hooli, sam, "Hooli — stores", 18, today, contacts=[hana])
    handoff = _handoff(deal, status=HandoffStatus.OWNER_PROPOSED, proposed_owner=lee, proposed_at=_at(deal.closed_on))
    HandoffStep.objects.create(
        handoff=handoff,
        position=1,
        title="Contract countersigned",
        owner_role=StepOwnerRole.SALES_OPS,
        due_on=deal.closed_on + day,
    )

    # Declined and left with nobody (ownership_not_accepted).
    stark, (sven,) = _customer("Stark Components", rita, "Sven Ek")
    deal = _won(stark, rita, "Stark — phase 1", 6, today, contacts=[sven])
    _handoff(
        deal,
        status=HandoffStatus.DECLINED,
        declined_by=lee,
        declined_at=_at(today - 4 * day),
        decline_reason="No capacity before next quarter.",
    )

    # A "hand-off meeting" without the customer (incomplete_meeting, so also
    # no_handoff_meeting) where the promises were never reviewed (promise_unconfirmed).
    wayne, (wanda,) = _customer("Wayne Foods", sam, "Wanda Roy")
    deal = _won(wayne, sam, "Wayne — plants", 32, today, contacts=[wanda])
    handoff = _handoff(
        deal,
        status=HandoffStatus.MEETING_HELD,
        delivery_owner=lee,
        proposed_owner=lee,
        accepted_at=_at(deal.closed_on + 2 * day),
    )
    _meeting(handoff, deal.closed_on + 6 * day, [sam, lee])
    Promise.objects.create(deal=deal, description="Weekly status call", status=PromiseStatus.OPEN)
    CheckIn.objects.create(handoff=handoff, account=wayne, rep=sam, cadence_days=7, due_on=deal.closed_on + 7 * day)

    # A hand-off done right, for contrast: accepted, met in time, checked in.
    acme, (alice,) = _customer("Acme Robotics", rita, "Alice Marsh")
    deal = _won(acme, rita, "Acme — line 2", 12, today, contacts=[alice])
    handoff = _handoff(
        deal,
        status=HandoffStatus.MEETING_HELD,
        delivery_owner=dana,
        proposed_owner=dana,
        accepted_at=_at(deal.closed_on + day),
    )
    _meeting(handoff, deal.closed_on + 3 * day, [rita, dana, alice])
    Promise.objects.create(deal=deal, description="SSO included", status=PromiseStatus.CONFIRMED)
    CheckIn.objects.create(
        handoff=handoff,
        account=acme,
        rep=rita,
        cadence_days=7,
        due_on=deal.closed_on + 7 * day,
        status=CheckInStatus.DONE,
        done_at=_at(deal.closed_on + 7 * day),
        channel=Channel.MEETING,
        sentiment=Sentiment.HAPPY,
    )

    report_refresh()
