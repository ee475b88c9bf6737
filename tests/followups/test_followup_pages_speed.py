"""What the follow-up pages' speed work (issue 17) must not change: the report reads a
period's promises by the local day as the `__date` lookup did, "My check-ins" shows the
same names and links from its narrower query, and the dashboard's team filters on the
rows' own user columns keep the same rows."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts.choices import Role
from followups.choices import Channel, CheckInStatus, Sentiment
from followups.selectors.report import Period, period_instants, promise_keeping_by_rep
from handoffs.choices import HandoffStatus, PromiseStatus
from handoffs.models import Promise
from tests.factories import CheckInFactory, DealFactory, HandoffFactory, PromiseFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2025, 7, 9, 10, 0, tzinfo=datetime.UTC)
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
JUNE = Period(datetime.date(2025, 6, 1), datetime.date(2025, 6, 30), "custom")


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def _promise_made_at(rep, instant: datetime.datetime) -> Promise:
    handoff = HandoffFactory(deal__owner=rep, rep=rep, status=HandoffStatus.ACCEPTED)
    promise = PromiseFactory(deal=handoff.deal, created_by=rep, status=PromiseStatus.KEPT)
    Promise.objects.filter(pk=promise.pk).update(created_at=instant)  # created_at is auto_now_add
    return promise


def test_the_period_is_the_local_days_from_midnight_to_midnight():
    with timezone.override(PARIS):
        since, until = period_instants(JUNE)
    # Paris is UTC+2 in summer: 1 June 00:00 there is 31 May 22:00 UTC.
    assert since == datetime.datetime(2025, 5, 31, 22, 0, tzinfo=datetime.UTC)
    assert until == datetime.datetime(2025, 6, 30, 22, 0, tzinfo=datetime.UTC)


def test_promise_keeping_counts_the_promises_of_the_local_days_at_both_ends(rep):
    # given: promises just inside and just outside June, as Paris counts days
    inside = [
        datetime.datetime(2025, 5, 31, 22, 30, tzinfo=datetime.UTC),  # 1 June 00:30 in Paris
        datetime.datetime(2025, 6, 30, 21, 30, tzinfo=datetime.UTC),  # 30 June 23:30 in Paris
    ]
    outside = [
        datetime.datetime(2025, 5, 31, 21, 30, tzinfo=datetime.UTC),  # 31 May 23:30 in Paris
        datetime.datetime(2025, 6, 30, 22, 30, tzinfo=datetime.UTC),  # 1 July 00:30 in Paris
    ]
    for instant in inside + outside:
        _promise_made_at(rep, instant)
    with timezone.override(PARIS):
        # when
        rows = promise_keeping_by_rep(None, period=JUNE)
        # then: the two inside, the same rows as the `__date` lookup picks
        by_date = Promise.objects.filter(created_at__date__gte=JUNE.start, created_at__date__lte=JUNE.end).count()
    assert [(row.name, row.made, row.kept) for row in rows] == [(str(rep), 2, 2)]
    assert by_date == 2


def test_my_checkins_shows_the_names_and_links_of_each_row(client_for, manager, rep):
    # given: the manager's team has a rep without a name; an overdue, a done and an upcoming check-in
    nameless = UserFactory(username="no_name_rep", first_name="", last_name="", role=Role.REP, team=rep.team)
    today = timezone.localdate()
    overdue = CheckInFactory(
        handoff=HandoffFactory(deal__owner=rep, deal__title="Overdue deal", status=HandoffStatus.ACCEPTED),
        due_on=today - datetime.timedelta(days=2),
    )
    new_deal = DealFactory(owner=nameless, title="Referral deal")
    done = CheckInFactory(
        handoff=HandoffFactory(deal__owner=nameless, deal__title="Done deal", status=HandoffStatus.ACCEPTED),
        due_on=today - datetime.timedelta(days=1),
        status=CheckInStatus.DONE,
        done_at=timezone.now(),
        channel=Channel.CALL,
        sentiment=Sentiment.AT_RISK,
        issues_raised="Late invoices",
        opened_deal=new_deal,
    )
    upcoming = CheckInFactory(
        handoff=HandoffFactory(deal__owner=rep, deal__title="Upcoming deal", status=HandoffStatus.ACCEPTED),
        due_on=today + datetime.timedelta(days=3),
    )
    # when
    page = client_for(manager).get(reverse("followups:my_checkins")).content.decode()
    # then: each row names its account, deal and rep, and links to the account and the actions
    for checkin in (overdue, done, upcoming):
        assert f'href="{reverse("handoffs:account_detail", args=[checkin.account_id])}">' in page
        assert escape(checkin.account.name) in page
    for title in ("Overdue deal", "Done deal", "Upcoming deal"):
        assert title in page
    assert "(2 days overdue)" in page
    assert f"· {escape(str(rep))}" in page
    assert "· no_name_rep" in page  # a rep without a name is named by their username, as everywhere
    assert "new deal: Referral deal" in page
    assert 'title="Late invoices"' in page
    for checkin in (overdue, upcoming):
        assert reverse("followups:checkin_log", args=[checkin.pk]) in page
        assert reverse("followups:checkin_reschedule", args=[checkin.pk]) in page
    assert reverse("followups:checkin_log", args=[done.pk]) not in page


def test_the_overdue_page_links_each_row_too(client_for, rep):
    # given
    overdue = CheckInFactory(
        handoff=HandoffFactory(deal__owner=rep, status=HandoffStatus.ACCEPTED),
        due_on=timezone.localdate() - datetime.timedelta(days=5),
    )
    # when
    page = client_for(rep).get(reverse("followups:my_checkins") + "?show=overdue").content.decode()
    # then
    assert reverse("handoffs:account_detail", args=[overdue.account_id]) in page
    assert reverse("followups:checkin_log", args=[overdue.pk]) in page
    assert "(5 days overdue)" in page


def test_the_dashboard_keeps_to_the_teams_rows_by_their_own_user_columns(client_for, manager, rep, outsider_team_rep):
    # given: overdue check-ins of the team's rep and of another team's rep
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    for owner in (rep, outsider_team_rep):
        CheckInFactory(handoff=HandoffFactory(deal__owner=owner, status=HandoffStatus.ACCEPTED), due_on=yesterday)
    # and hand-offs of the other team: one proposed to a member of the manager's team,
    # one declined by one, one with nobody of the team
    proposed = HandoffFactory(deal__owner=outsider_team_rep, proposed_owner=rep)
    declined = HandoffFactory(deal__owner=outsider_team_rep, status=HandoffStatus.DECLINED, declined_by=rep)
    HandoffFactory(deal__owner=outsider_team_rep)
    # when
    dashboard = client_for(manager).get(reverse("followups:dashboard")).context["dashboard"]
    # then
    assert [(row["name"], row["count"]) for row in dashboard.overdue_checkins_by_rep] == [(str(rep), 1)]
    assert {handoff.pk for handoff in dashboard.waiting_for_owner} == {proposed.pk, declined.pk}
    assert dashboard.waiting_for_owner_count == 2
