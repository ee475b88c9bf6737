"""One notion of "late" (handoffs.lateness, followups.lateness): the pages' markers, the
reminder scan's candidates and the dropped-baton report agree, item by item.

The same data — items just inside and just outside each threshold — is read by every
page that marks something late (through the test client, so in the user's own zone),
by the reminder scan (followups.overdue.rules) and by the drop rules (followups.rules).

Which date is "today" is each reader's: a page uses its viewer's, the scan and the
report the organisation's (settings.TIME_ZONE, UTC here). The rep works in Berlin. At
10:00 UTC both dates are the same day; at 23:30 UTC Berlin is already on the next day,
so there the page is compared with the scan and the report asked about the rep's date:
the rule is one, only the day differs (the scan gets there at midnight UTC).
"""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.models import OrganisationSettings
from followups import overdue
from followups.choices import CheckInStatus, ReminderKind
from followups.rules import RULES, RuleContext
from followups.selectors.checkins import checkin_sections_for, overdue_checkins_page
from handoffs.choices import HandoffStatus, MeetingStatus, Stage, StepStatus
from tests.factories import CheckInFactory, DealFactory, HandoffFactory, HandoffStepFactory, MeetingFactory

pytestmark = pytest.mark.django_db

BERLIN = "Europe/Berlin"
ACCEPT_WITHIN = 2
SCHEDULE_WITHIN = 4
GRACE = 3
SAME_DAY = datetime.datetime(2025, 6, 11, 10, 0, tzinfo=datetime.UTC)  # 12:00 in Berlin
BERLIN_AHEAD = datetime.datetime(2025, 6, 10, 23, 30, tzinfo=datetime.UTC)  # 01:30 on 11 June in Berlin


@pytest.fixture(params=[SAME_DAY, BERLIN_AHEAD], ids=["same-day", "berlin-ahead"])
def now(request):
    with time_machine.travel(request.param, tick=False):
        yield request.param


@pytest.fixture
def berlin_team(rep, manager):
    for user in (rep, manager):
        user.timezone = BERLIN
        user.save(update_fields=["timezone"])
    # Distinct thresholds, so that a rule reading the wrong one is caught.
    OrganisationSettings.load()
    OrganisationSettings.objects.filter(pk=1).update(
        acceptance_within_days=ACCEPT_WITHIN, meeting_schedule_within_days=SCHEDULE_WITHIN, checkin_grace_days=GRACE
    )
    return rep


def days_before(today: datetime.date, days: int) -> datetime.date:
    return today - datetime.timedelta(days=days)


def build(rep, today: datetime.date) -> dict[str, dict[str, int]]:
    """Every kind of item on both sides of its threshold; the names say which side."""

    def before(days: int) -> datetime.date:
        return days_before(today, days)

    def at(day: datetime.date) -> datetime.datetime:
        return datetime.datetime.combine(day, datetime.time(9), tzinfo=rep.tzinfo)

    def handoff(closed_days_ago: int, **values):
        return HandoffFactory(deal__owner=rep, deal__closed_on=before(closed_days_ago), **values)

    def accepted(closed_days_ago: int, **values):
        values.setdefault("status", HandoffStatus.ACCEPTED)
        values.setdefault("accepted_at", at(before(closed_days_ago)))
        return handoff(closed_days_ago, delivery_owner=rep, **values)

    deals = {
        "late": DealFactory(owner=rep, next_step_due=before(1)),
        "late_long_ago": DealFactory(owner=rep, stage=Stage.NEGOTIATE, next_step_due=before(30)),
        "due_today": DealFactory(owner=rep, next_step_due=today),
        "due_tomorrow": DealFactory(owner=rep, next_step_due=today + datetime.timedelta(days=1)),
        "lost": DealFactory(
            owner=rep, stage=Stage.LOST, closed_on=before(2), lost_reason="price", next_step_due=before(5)
        ),
    }

    with_steps = accepted(1)
    steps = {
        "late": HandoffStepFactory(handoff=with_steps, due_on=before(1)),
        "late_unassigned": HandoffStepFactory(handoff=with_steps, due_on=before(8)),
        "due_today": HandoffStepFactory(handoff=with_steps, due_on=today),
        "done": HandoffStepFactory(handoff=with_steps, due_on=before(1), status=StepStatus.DONE, done_at=at(today)),
        "skipped": HandoffStepFactory(handoff=with_steps, due_on=before(1), status=StepStatus.SKIPPED),
    }

    ownership = {
        "nobody_proposed_late": handoff(ACCEPT_WITHIN + 1),
        "nobody_proposed_last_day": handoff(ACCEPT_WITHIN),
        "proposed_late": handoff(ACCEPT_WITHIN + 1, status=HandoffStatus.OWNER_PROPOSED, proposed_owner=rep),
        "declined_late": handoff(ACCEPT_WITHIN + 1, status=HandoffStatus.DECLINED, declined_at=at(before(1))),
        "declined_in_time": handoff(1, status=HandoffStatus.DECLINED, declined_at=at(today)),
        "accepted_in_time": accepted(ACCEPT_WITHIN + 5),
        "accepted_too_late": accepted(10, accepted_at=at(before(10 - ACCEPT_WITHIN - 1))),
    }

    # Accepted (or further) in time, so only the meeting can be late.
    late_close = SCHEDULE_WITHIN + 1
    meeting = {
        "none_late": accepted(late_close),
        "none_last_day": accepted(SCHEDULE_WITHIN),
        "cancelled_only": accepted(late_close),
        "scheduled": accepted(late_close, status=HandoffStatus.MEETING_SCHEDULED),
        # Settled in issue 11: a meeting scheduled while the status still says accepted,
        # or one held without all three sides, is not "late to schedule" (the board used
        # to mark these late; the reminders never did).
        "scheduled_status_behind": accepted(late_close),
        "held_incomplete": accepted(late_close),
        "held_three_way": accepted(late_close, status=HandoffStatus.MEETING_HELD, meeting_held_at=at(before(1))),
    }
    MeetingFactory(handoff=meeting["cancelled_only"], status=MeetingStatus.CANCELLED)
    MeetingFactory(handoff=meeting["scheduled"])
    MeetingFactory(handoff=meeting["scheduled_status_behind"])
    MeetingFactory(
        handoff=meeting["held_incomplete"],
        status=MeetingStatus.HELD,
        starts_at=at(before(1)),
        held_at=at(before(1)),
        counts_as_handoff_meeting=False,
    )

    with_checkins = accepted(1)
    checkins = {
        "late_in_grace": CheckInFactory(handoff=with_checkins, cadence_days=7, due_on=before(1)),
        "late_last_grace_day": CheckInFactory(handoff=with_checkins, cadence_days=14, due_on=before(GRACE)),
        "missed": CheckInFactory(handoff=with_checkins, cadence_days=21, due_on=before(GRACE + 1)),
        "due_today": CheckInFactory(handoff=with_checkins, cadence_days=30, due_on=today),
        "done": CheckInFactory(
            handoff=with_checkins, cadence_days=90, due_on=before(10), status=CheckInStatus.DONE, done_at=at(before(9))
        ),
    }

    def ids(items: dict) -> dict[str, int]:
        return {name: item.pk for name, item in items.items()}

    return {
        "deals": ids(deals),
        "steps": ids(steps),
        "ownership": ids(ownership),
        "meeting": ids(meeting),
        "handoffs": {
            **ids(ownership),
            **ids(meeting),
            "with_steps": with_steps.pk,
            "with_checkins": with_checkins.pk,
        },
        "checkins": ids(checkins),
    }


def named(ids: dict[str, int], found) -> set[str]:
    """The names of the built items among `found` (ids), to compare by name."""
    found = set(found)
    return {name for name, pk in ids.items() if pk in found}


def scan(today: datetime.date) -> dict[str, set[int]]:
    return {rule.kind: {row["overdue_item"] for row in rule.candidates()} for rule in overdue.rules(today)}


def drops(code: str, today: datetime.date) -> dict[int, bool]:
    """The drop's subjects, and whether each is still open."""
    context = RuleContext(today=today, settings=OrganisationSettings.load())
    return {row["drop_subject_id"]: row["drop_is_open"] for row in RULES[code].drops(context)}


def test_the_pages_the_reminders_and_the_report_agree_on_what_is_late(now, berlin_team, manager, client_for):
    # given
    rep = berlin_team
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(BERLIN))  # the rep's day
    built = build(rep, today)
    deals, steps, checkins = built["deals"], built["steps"], built["checkins"]
    ownership, meeting, handoffs = built["ownership"], built["meeting"], built["handoffs"]
    if now == SAME_DAY:
        # The scan's own day (the organisation's) is the rep's: it finds the same items.
        assert timezone.localdate() == today
        assert scan(None) == scan(today)

    # when: the reminder scan, at the rep's date
    reminders = scan(today)
    # when: the pages, as the rep sees them (their zone)
    client = client_for(rep)
    board = client.get(reverse("handoffs:board"), {"scope": "mine"}).context["columns"]
    board_cards = [deal for column in board if column.is_open for deal in column.deals]
    my_day = client.get(reverse("handoffs:my_day")).context["day"]
    deal_rows = client.get(reverse("handoffs:deal_list"), {"stage": "open"}).context["page_obj"]
    deal_list_overdue = client.get(reverse("handoffs:deal_list"), {"overdue": "on"}).context["page_obj"]
    deal_pages = {pk: client.get(reverse("handoffs:deal_detail", args=[pk])).context["deal"] for pk in deals.values()}
    handoff_rows = {row.pk: row for row in client.get(reverse("handoffs:handoff_list")).context["handoffs"]}
    handoff_list_overdue = client.get(reverse("handoffs:handoff_list"), {"overdue": "true"}).context["handoffs"]
    step_rows = client.get(reverse("handoffs:handoff_detail", args=[handoffs["with_steps"]])).context["steps"]
    sections = checkin_sections_for(rep)
    all_overdue_checkins = overdue_checkins_page(rep).object_list
    client.logout()
    dashboard = client_for(manager).get(reverse("followups:dashboard")).context["dashboard"]

    # then: a deal's next step
    late_deals = {"late", "late_long_ago"}
    assert named(deals, reminders[ReminderKind.NEXT_STEP_OVERDUE]) == late_deals
    assert named(deals, [deal.pk for deal in board_cards if deal.next_step_is_late]) == late_deals
    assert named(deals, [deal.pk for deal in my_day.overdue]) == late_deals
    assert named(deals, [deal.pk for deal in deal_rows if deal.next_step_is_late]) == late_deals
    assert named(deals, [deal.pk for deal in deal_list_overdue]) == late_deals
    assert named(deals, [pk for pk, deal in deal_pages.items() if deal.next_step_is_late]) == late_deals
    assert named(deals, drops("no_next_step", today)) == late_deals

    # then: a hand-off step
    late_steps = {"late", "late_unassigned"}
    assert named(steps, reminders[ReminderKind.STEP_OVERDUE]) == late_steps
    assert named(steps, [step.pk for step in step_rows if step.is_late]) == late_steps
    assert handoff_rows[handoffs["with_steps"]].overdue_step_count == len(late_steps)
    assert named(steps, drops("step_overdue", today)) == late_steps

    # then: a hand-off nobody accepted in time
    not_accepted = {"nobody_proposed_late", "proposed_late", "declined_late"}
    assert named(ownership, reminders[ReminderKind.OWNER_NOT_ACCEPTED]) == not_accepted
    assert named(ownership, [pk for pk, row in handoff_rows.items() if row.ownership_is_late]) == not_accepted
    # The report adds what is a dropped baton without being late (yet): a decline at
    # once, and an acceptance that came too late (a closed drop).
    ownership_drops = drops("ownership_not_accepted", today)
    assert named(ownership, [pk for pk, is_open in ownership_drops.items() if is_open]) == {
        *not_accepted,
        "declined_in_time",
    }
    assert named(ownership, [pk for pk, is_open in ownership_drops.items() if not is_open]) == {"accepted_too_late"}

    # then: a hand-off whose meeting is not scheduled in time (no drop rule: the report's
    # no_handoff_meeting is about a three-way meeting *held* within meeting_within_days)
    meeting_late = {"none_late", "cancelled_only"}
    assert named(meeting, reminders[ReminderKind.MEETING_NOT_SCHEDULED]) == meeting_late
    assert named(meeting, [pk for pk, row in handoff_rows.items() if row.meeting_is_late]) == meeting_late

    # then: the hand-off list's "overdue" marker and filter are the union of the three
    late_handoffs = {
        pk for kind in (ReminderKind.OWNER_NOT_ACCEPTED, ReminderKind.MEETING_NOT_SCHEDULED) for pk in reminders[kind]
    }
    late_handoffs |= set(
        overdue.overdue_steps(today)
        .filter(pk__in=reminders[ReminderKind.STEP_OVERDUE])
        .values_list("handoff_id", flat=True)
    )
    # (the two accepted ones of the ownership set have had no meeting for a week either)
    assert named(handoffs, late_handoffs) == {
        *not_accepted,
        *meeting_late,
        "with_steps",
        "accepted_in_time",
        "accepted_too_late",
    }
    assert named(handoffs, [pk for pk, row in handoff_rows.items() if row.is_overdue]) == named(handoffs, late_handoffs)
    assert named(handoffs, [row.pk for row in handoff_list_overdue]) == named(handoffs, late_handoffs)

    # then: a check-in, and one missed (late for longer than the grace period)
    late_checkins = {"late_in_grace", "late_last_grace_day", "missed"}
    assert named(checkins, reminders[ReminderKind.CHECKIN_OVERDUE]) == late_checkins
    assert named(checkins, [checkin.pk for checkin in sections.overdue]) == late_checkins
    assert sections.overdue_count == len(late_checkins)
    assert named(checkins, [checkin.pk for checkin in all_overdue_checkins]) == late_checkins
    [rep_row] = [row for row in dashboard.overdue_checkins_by_rep if row["rep_id"] == rep.pk]
    assert rep_row["count"] == len(late_checkins)
    missed = named(checkins, drops("missed_check_in", today))
    assert missed == {"missed"}
    assert missed == named(checkins, [checkin.pk for checkin in sections.overdue if checkin.days_overdue > GRACE])
    assert missed == named(checkins, scan(days_before(today, GRACE))[ReminderKind.CHECKIN_OVERDUE])
