"""Promises watched after the hand-off: the overdue rule and its reminders through the
outbox, the bell and e-mail when one is broken, the report's promise-keeping table, and
the drop rules that must agree with them."""

import datetime

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts.choices import Role
from accounts.models import OrganisationSettings
from followups import overdue
from followups.choices import MessageStatus, NotificationKind, ReminderKind
from followups.models import Notification, OutboxMessage
from followups.rules import RULES, RuleContext
from followups.selectors.report import period_named, promise_keeping_by_rep
from followups.services.outbox import outbox_deliver_due
from followups.services.reminders import reminders_scan
from handoffs.choices import HandoffStatus, MeetingStatus, PromiseStatus, Stage
from handoffs.models import Promise
from handoffs.services.promises import promise_add, promise_mark_broken, promise_mark_kept, promise_renegotiate
from tests.factories import DealFactory, HandoffFactory, MeetingFactory, PromiseFactory, UserFactory

pytestmark = pytest.mark.django_db

# A Wednesday, 10:00 UTC: inside the 9–18 working hours in UTC.
NOW = datetime.datetime(2025, 6, 11, 10, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()
YESTERDAY = TODAY - datetime.timedelta(days=1)


@pytest.fixture
def at_ten():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def kept_by(lead, *, rep, target_date, **fields) -> Promise:
    handoff = HandoffFactory(deal__owner=rep, rep=rep, delivery_owner=lead, status=HandoffStatus.ACCEPTED)
    return PromiseFactory(deal=handoff.deal, owner=lead, target_date=target_date, created_by=rep, **fields)


# --- the overdue rule --------------------------------------------------------------------


def test_a_promise_is_overdue_once_its_due_day_is_over_and_it_is_not_kept(rep, delivery_lead):
    # given
    late = kept_by(delivery_lead, rep=rep, target_date=YESTERDAY)
    due_today = kept_by(delivery_lead, rep=rep, target_date=TODAY)
    confirmed_late = kept_by(delivery_lead, rep=rep, target_date=YESTERDAY, status=PromiseStatus.CONFIRMED)
    kept = kept_by(delivery_lead, rep=rep, target_date=YESTERDAY, status=PromiseStatus.KEPT)
    broken = kept_by(delivery_lead, rep=rep, target_date=YESTERDAY, status=PromiseStatus.BROKEN)
    undated = kept_by(delivery_lead, rep=rep, target_date=None)
    lost = PromiseFactory(
        deal=DealFactory(owner=rep, stage=Stage.LOST, closed_on=YESTERDAY, next_step="", next_step_due=None),
        target_date=YESTERDAY,
    )
    # when
    rule = overdue.rule_for(ReminderKind.PROMISE_OVERDUE, TODAY)
    found = {row["overdue_item"] for row in rule.candidates()}
    # then
    assert found == {late.pk, confirmed_late.pk}
    assert not {due_today.pk, kept.pk, broken.pk, undated.pk, lost.pk} & found


def test_it_reminds_the_promise_owner_else_the_deals_owner(rep, delivery_lead):
    owned = kept_by(delivery_lead, rep=rep, target_date=YESTERDAY)
    before_the_close = PromiseFactory(deal=DealFactory(owner=rep), target_date=YESTERDAY)
    rule = overdue.rule_for(ReminderKind.PROMISE_OVERDUE, TODAY)
    owners = {row["overdue_item"]: row["overdue_owner"] for row in rule.candidates()}
    assert owners == {owned.pk: delivery_lead.pk, before_the_close.pk: rep.pk}


def test_a_promise_becomes_overdue_exactly_at_midnight_after_its_due_date(rep, delivery_lead):
    promise = kept_by(delivery_lead, rep=rep, target_date=datetime.date(2025, 6, 10))
    # the organisation's midnight (its TIME_ZONE), whatever zone the server runs in
    site = timezone.get_default_timezone()
    with time_machine.travel(datetime.datetime(2025, 6, 10, 23, 59, 59, tzinfo=site), tick=False):
        assert not overdue.overdue_promises().filter(pk=promise.pk).exists()
    with time_machine.travel(datetime.datetime(2025, 6, 11, 0, 0, 0, tzinfo=site), tick=False):
        assert overdue.overdue_promises().filter(pk=promise.pk).exists()


def test_it_sends_the_overdue_promise_reminder_through_the_outbox_once(rep, delivery_lead, at_ten):
    # given
    promise = kept_by(delivery_lead, rep=rep, target_date=YESTERDAY, description="SSO included")
    # when
    result = reminders_scan()
    delivered = outbox_deliver_due()
    # then
    assert result.inserted[ReminderKind.PROMISE_OVERDUE] == 1 and delivered.sent == 1
    reminder = OutboxMessage.objects.get(kind=ReminderKind.PROMISE_OVERDUE)
    assert (reminder.item_id, reminder.recipient, reminder.status) == (promise.pk, delivery_lead, MessageStatus.SENT)
    [email] = mail.outbox
    assert email.to == [delivery_lead.email] and "SSO included" in email.subject
    assert f"#promise-{promise.pk}" in email.body
    # and a second scan and run send nothing more
    reminders_scan()
    assert outbox_deliver_due().sent == 0


def test_it_escalates_an_overdue_promise_to_the_owners_manager(rep, delivery_lead, delivery_manager, at_ten):
    kept_by(delivery_lead, rep=rep, target_date=YESTERDAY)
    reminders_scan()
    outbox_deliver_due()
    at_ten.shift(datetime.timedelta(days=3))
    reminders_scan()
    assert OutboxMessage.objects.filter(
        kind=ReminderKind.PROMISE_OVERDUE, purpose="escalation", recipient=delivery_manager
    ).exists()


def test_keeping_a_promise_cancels_its_pending_reminder(rep, delivery_lead, at_ten, django_capture_on_commit_callbacks):
    # given: a reminder written but not yet sent
    promise = kept_by(delivery_lead, rep=rep, target_date=YESTERDAY)
    reminders_scan()
    assert OutboxMessage.objects.filter(kind=ReminderKind.PROMISE_OVERDUE, status=MessageStatus.PENDING).count() == 1
    # when
    with django_capture_on_commit_callbacks(execute=True):
        promise_mark_kept(actor=delivery_lead, promise=promise, kept_on=TODAY)
    # then
    assert OutboxMessage.objects.get(kind=ReminderKind.PROMISE_OVERDUE).status == MessageStatus.CANCELLED
    assert outbox_deliver_due().sent == 0


def test_renegotiating_to_a_later_date_ends_the_overdue_item(rep, delivery_lead, at_ten):
    promise = kept_by(delivery_lead, rep=rep, target_date=YESTERDAY)
    promise_renegotiate(actor=delivery_lead, promise=promise, new_wording=promise.description, new_due=TODAY)
    assert not overdue.overdue_promises(TODAY).filter(pk=promise.pk).exists()


# --- a broken promise ---------------------------------------------------------------------


def test_a_broken_promise_rings_the_rep_and_their_manager_with_an_email_copy(
    rep, manager, delivery_lead, at_ten, django_capture_on_commit_callbacks
):
    # given
    promise = kept_by(delivery_lead, rep=rep, target_date=TODAY, description="Live by 1 July")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        promise_mark_broken(
            actor=delivery_lead, promise=promise, reason="Vendor late", customer_told="Live by 15 July instead"
        )
    delivered = outbox_deliver_due()
    # then: the bell of each
    bells = Notification.objects.filter(kind=NotificationKind.PROMISE_BROKEN)
    assert {bell.user for bell in bells} == {rep, manager}
    assert all("Live by 15 July instead" in bell.body for bell in bells)
    # and an e-mail to each, through the outbox
    assert delivered.sent == 2
    assert sorted(email.to[0] for email in mail.outbox) == sorted([rep.email, manager.email])
    assert all("Live by 1 July" in email.subject for email in mail.outbox)


def test_the_rep_who_marks_their_own_promise_broken_is_not_told_their_own_news(
    rep, manager, delivery_lead, at_ten, django_capture_on_commit_callbacks
):
    promise = kept_by(delivery_lead, rep=rep, target_date=TODAY)
    with django_capture_on_commit_callbacks(execute=True):
        promise_mark_broken(actor=rep, promise=promise, reason="Over-promised")
    assert list(Notification.objects.values_list("user_id", flat=True)) == [manager.pk]


# --- the drop rules agree -------------------------------------------------------------------


def _drops(code: str) -> list[dict]:
    return list(RULES[code].drops(RuleContext(today=TODAY, settings=OrganisationSettings.load())))


def test_a_broken_promise_is_a_drop_dated_the_day_it_was_found_broken(rep, delivery_lead, at_ten):
    promise = kept_by(delivery_lead, rep=rep, target_date=TODAY + datetime.timedelta(days=20))
    promise_mark_broken(actor=delivery_lead, promise=promise, reason="No capacity")
    [drop] = _drops("promise_broken")
    assert (drop["drop_subject_id"], drop["drop_date"]) == (promise.pk, TODAY)


def test_a_promise_added_after_the_hand_off_meeting_is_not_an_unconfirmed_drop(rep, delivery_lead, at_ten):
    handoff = HandoffFactory(
        deal__owner=rep,
        rep=rep,
        delivery_owner=delivery_lead,
        status=HandoffStatus.MEETING_HELD,
        meeting_held_at=NOW - datetime.timedelta(days=2),
    )
    MeetingFactory(
        handoff=handoff,
        status=MeetingStatus.HELD,
        starts_at=NOW - datetime.timedelta(days=2),
        held_at=NOW - datetime.timedelta(days=2),
    )
    promise_add(actor=delivery_lead, deal=handoff.deal, description="Extra training")
    assert _drops("promise_unconfirmed") == []


# --- the report -------------------------------------------------------------------------------


def _made_by(person, *, deal_owner, status, renegotiated=False, count=1):
    handoff = HandoffFactory(deal__owner=deal_owner, rep=deal_owner, status=HandoffStatus.ACCEPTED)
    for _ in range(count):
        PromiseFactory(
            deal=handoff.deal,
            created_by=person,
            status=status,
            original_description="The first wording" if renegotiated else "",
        )


def test_the_report_counts_promise_keeping_by_the_rep_who_made_them(client_for, manager, rep, other_rep, at_ten):
    # given: rep made 5 (2 kept, 2 broken of which 1 renegotiated first, 1 open); other_rep 1 kept
    _made_by(rep, deal_owner=rep, status=PromiseStatus.KEPT, count=2)
    _made_by(rep, deal_owner=rep, status=PromiseStatus.BROKEN)
    _made_by(rep, deal_owner=rep, status=PromiseStatus.BROKEN, renegotiated=True)
    _made_by(rep, deal_owner=rep, status=PromiseStatus.CONFIRMED)
    _made_by(other_rep, deal_owner=other_rep, status=PromiseStatus.KEPT)
    # when
    rows = {row.name: row for row in promise_keeping_by_rep(None, period=period_named("month", today=TODAY))}
    # then
    mine = rows[str(rep)]
    assert (mine.made, mine.kept, mine.broken, mine.renegotiated, mine.still_open) == (5, 2, 2, 1, 1)
    assert mine.kept_share == 50
    assert (rows[str(other_rep)].made, rows[str(other_rep)].kept) == (1, 1)
    # and the manager's report page shows the table, most broken first
    page = client_for(manager).get(reverse("followups:report")).content.decode()
    assert page.count('data-testid="promise-keeping-rep"') == 2
    table = page[page.index('data-testid="promise-keeping"') :]
    assert table.index(escape(str(rep))) < table.index(escape(str(other_rep)))
    assert "<td>" + escape(str(rep)) + '</td><td class="text-end">5</td>' in table


def test_the_promise_keeping_table_reads_a_constant_number_of_queries(at_ten, rep):
    period = period_named("month", today=TODAY)
    _made_by(rep, deal_owner=rep, status=PromiseStatus.KEPT)
    with CaptureQueriesContext(connection) as few:
        promise_keeping_by_rep(None, period=period)
    for number in range(6):
        person = UserFactory(username=f"seller{number}", role=Role.REP, team=rep.team)
        _made_by(person, deal_owner=person, status=PromiseStatus.BROKEN, count=3)
    with CaptureQueriesContext(connection) as many:
        rows = promise_keeping_by_rep(None, period=period)
    assert len(rows) == 7 and len(many.captured_queries) == len(few.captured_queries) == 2
