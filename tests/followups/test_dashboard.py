"""The manager dashboard and the accounts' baton health."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from handoffs.choices import HandoffStatus, StepStatus
from tests.factories import AccountFactory, CheckInFactory, HandoffFactory
from tests.followups.report_data import late_deals, refreshed, unowned_handoffs

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2025, 3, 12, 10, 0, tzinfo=datetime.UTC)
DASHBOARD = reverse("followups:dashboard")


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def test_a_manager_lands_on_the_dashboard(client_for, manager):
    # when
    response = client_for(manager).get(reverse("home"))
    # then
    assert response.status_code == 302
    assert response["Location"] == DASHBOARD


def test_a_rep_may_not_open_the_dashboard(client_for, rep):
    assert client_for(rep).get(DASHBOARD).status_code == 403


def test_it_shows_open_drops_waiting_handoffs_and_overdue_checkins(client_for, manager, rep, other_rep):
    # given
    late_deals(rep, 2)
    waiting = unowned_handoffs(other_rep, 1)[0]
    declined = HandoffFactory(deal__owner=rep, status=HandoffStatus.DECLINED, decline_reason="No capacity")
    accepted = HandoffFactory(deal__owner=rep, status=HandoffStatus.ACCEPTED)
    CheckInFactory(handoff=accepted, due_on=timezone.localdate() - datetime.timedelta(days=3))
    CheckInFactory(handoff=accepted, cadence_days=30, due_on=timezone.localdate() - datetime.timedelta(days=1))
    refreshed()
    # when
    response = client_for(manager).get(DASHBOARD)
    # then
    dashboard = response.context["dashboard"]
    open_counts = {row["code"]: row["count"] for row in dashboard.open_drops if row["count"]}
    assert open_counts == {"no_next_step": 2, "ownership_not_accepted": 2, "step_overdue": 1}
    assert {handoff.pk for handoff in dashboard.waiting_for_owner} == {waiting.pk, declined.pk}
    assert [(row["name"], row["count"], row["days_late"]) for row in dashboard.overdue_checkins_by_rep] == [
        (str(rep), 2, 3)
    ]
    assert b'canvas id="drop-trend"' in response.content


def test_it_lists_the_ten_least_healthy_accounts_worst_first(client_for, manager, rep):
    # given: accounts with 1..12 late deals (health 95, 90, … 40); one healthy account
    for count in range(1, 13):
        account = AccountFactory(owner=rep, name=f"Customer {count:02}")
        late_deals(rep, count, account=account)
    AccountFactory(owner=rep, name="Happy customer")
    refreshed()
    # when
    accounts = client_for(manager).get(DASHBOARD).context["dashboard"].least_healthy_accounts
    # then
    assert [account.name for account in accounts] == [f"Customer {count:02}" for count in range(12, 2, -1)]
    assert accounts[0].health_score == 40


def test_health_is_100_minus_the_weight_of_open_drops_and_recovers_when_fixed(rep):
    # given: an unaccepted hand-off (15) with an overdue step (5)
    handoff = unowned_handoffs(rep, 1)[0]
    healthy = AccountFactory(owner=rep)
    refreshed()
    handoff.deal.account.refresh_from_db()
    healthy.refresh_from_db()
    assert (handoff.deal.account.health_score, healthy.health_score) == (80, 100)
    # when
    handoff.steps.update(status=StepStatus.DONE, done_at=timezone.now())
    refreshed()
    # then
    handoff.deal.account.refresh_from_db()
    assert handoff.deal.account.health_score == 85


def test_health_never_goes_below_zero(rep):
    # given
    account = AccountFactory(owner=rep)
    late_deals(rep, 30, account=account)
    # when
    refreshed()
    # then
    account.refresh_from_db()
    assert account.health_score == 0


def test_the_dashboard_runs_the_same_number_of_queries_for_3_or_30_rows(
    client_for, manager, rep, other_rep, django_assert_num_queries
):
    # given
    late_deals(rep, 2)
    unowned_handoffs(other_rep, 1)
    refreshed()
    client = client_for(manager)
    with CaptureQueriesContext(connection) as small:
        client.get(DASHBOARD)
    late_deals(rep, 10)
    for handoff in unowned_handoffs(other_rep, 20):
        CheckInFactory(handoff=handoff, due_on=timezone.localdate() - datetime.timedelta(days=2))
    refreshed()
    # when / then
    with django_assert_num_queries(len(small.captured_queries)):
        client.get(DASHBOARD)


def test_the_account_health_panel_lists_its_open_drops(rep):
    # given
    from django.template import Context, Template

    handoff = unowned_handoffs(rep, 1)[0]
    refreshed()
    account = handoff.deal.account
    account.refresh_from_db()
    # when
    html = Template('{% include "followups/report/_account_health.html" %}').render(
        Context({"account": account, "user": rep})
    )
    # then
    assert "Ownership not accepted" in html and "Step overdue" in html
    assert ">80<" in html
