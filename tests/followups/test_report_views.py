"""The dropped-baton report page, its drill-down and its CSV export."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from followups.models import DroppedBaton
from tests.factories import DealFactory, HandoffFactory
from tests.followups.report_data import late_deals, refreshed, unowned_handoffs

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2025, 3, 12, 10, 0, tzinfo=datetime.UTC)
REPORT = reverse("followups:report")


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def drilldown(code: str) -> str:
    return reverse("followups:report_drilldown", args=[code])


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_it_shows_a_manager_the_totals_of_their_team_only(client_for, manager, rep, outsider_team_rep):
    # given
    late_deals(rep, 3)
    late_deals(outsider_team_rep, 5)
    refreshed()
    # when
    response = client_for(manager).get(REPORT)
    # then
    assert response.status_code == 200
    summary = response.context["summary"]
    assert summary.totals == {"no_next_step": 3}
    assert [row.name for row in summary.by_rep] == [str(rep)]
    assert b'data-testid="count-no_next_step">3<' in response.content


def test_an_admin_sees_every_team(client_for, admin_user, rep, outsider_team_rep):
    # given
    late_deals(rep, 3)
    late_deals(outsider_team_rep, 5)
    refreshed()
    # when
    response = client_for(admin_user).get(REPORT)
    # then
    assert response.context["summary"].totals == {"no_next_step": 8}
    assert {row.name for row in response.context["summary"].by_team} == {"Sales", "Other sales"}


@pytest.mark.parametrize("who", ["rep", "delivery_lead"])
def test_reps_and_delivery_leads_may_not_open_the_report(client_for, request, who):
    # given
    user = request.getfixturevalue(who)
    # when
    response = client_for(user).get(REPORT)
    # then
    assert response.status_code == 403


def test_a_manager_asking_for_another_teams_report_gets_a_404(client_for, manager, outsider_team_rep):
    # given
    other_team_id = outsider_team_rep.team_id
    client = client_for(manager)
    # when
    responses = [
        client.get(REPORT, {"team": other_team_id}),
        client.get(REPORT, {"team": "abc"}),
        client.get(drilldown("no_next_step"), {"team": other_team_id}),
    ]
    # then
    assert [response.status_code for response in responses] == [404, 404, 404]


def test_a_delivery_manager_sees_the_drops_of_their_delivery_owners(client_for, rep, delivery_lead, delivery_manager):
    # given
    unowned_handoffs(rep, 2, proposed_owner=delivery_lead)
    late_deals(rep, 4)
    refreshed()
    # when
    response = client_for(delivery_manager).get(REPORT)
    # then
    summary = response.context["summary"]
    assert summary.totals == {"ownership_not_accepted": 2, "step_overdue": 2}
    assert [row.name for row in summary.by_owner] == [str(delivery_lead)]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"period": "custom", "start": "2025-03-10", "end": "2025-03-01"}, "end", "must not be before"),
        ({"period": "custom", "start": "2021-01-01", "end": "2025-03-01"}, "end", "at most two years"),
        ({"period": "custom", "start": "10/99/2025", "end": "2025-03-01"}, "start", "Enter a valid date"),
        ({"period": "custom", "start": "", "end": "2025-03-01"}, "start", "first day"),
        ({"period": "decade"}, "period", "Select a valid choice"),
    ],
)
def test_a_bad_custom_period_gets_a_clear_message_and_keeps_the_form(client_for, manager, params, field, message):
    # when
    response = client_for(manager).get(REPORT, params)
    # then
    assert response.status_code == 200
    assert response.context["summary"] is None
    assert message in " ".join(response.context["form"].errors[field])
    assert message in response.content.decode()


def test_it_compares_the_period_with_the_previous_one(client_for, manager, rep):
    # given: three drops this month, one in February
    late_deals(rep, 3, days_late=2)
    late_deals(rep, 1, days_late=20)
    refreshed()
    # when
    response = client_for(manager).get(REPORT, {"period": "month"})
    # then
    summary = response.context["summary"]
    assert (summary.total, summary.previous_total) == (3, 1)
    assert summary.previous_period.start == datetime.date(2025, 2, 1)


def test_a_custom_period_counts_the_days_it_names(client_for, manager, rep):
    # given
    late_deals(rep, 2, days_late=20)  # dropped 21 Feb
    late_deals(rep, 1, days_late=2)  # dropped 11 Mar
    refreshed()
    # when
    response = client_for(manager).get(REPORT, {"period": "custom", "start": "2025-02-15", "end": "2025-02-28"})
    # then
    assert response.context["summary"].totals == {"no_next_step": 2}


def test_every_count_leads_to_the_same_number_of_deals(client_for, manager, rep, other_rep, delivery_lead):
    # given
    late_deals(rep, 2)
    late_deals(other_rep, 1)
    unowned_handoffs(rep, 2, proposed_owner=delivery_lead)
    refreshed()
    client = client_for(manager)
    summary = client.get(REPORT, {"period": "quarter"}).context["summary"]
    # when / then
    for code, count in summary.totals.items():
        listed = client.get(drilldown(code), {"period": "quarter"})
        assert listed.context["page_obj"].paginator.count == count, code
    for row in summary.by_rep:
        listed = client.get(drilldown("all"), {"period": "quarter", "rep": row.key})
        assert listed.context["page_obj"].paginator.count == row.total
    for row in summary.by_owner:
        listed = client.get(drilldown("ownership_not_accepted"), {"period": "quarter", "owner": row.key})
        assert listed.context["page_obj"].paginator.count == row.counts["ownership_not_accepted"]
    for row in summary.by_team:
        listed = client.get(drilldown("all"), {"period": "quarter", "by_team": row.key})
        assert listed.context["page_obj"].paginator.count == row.total


def test_the_drilldown_lists_the_deals_and_pages_them(client_for, manager, rep):
    # given
    deals = late_deals(rep, 55)
    refreshed()
    client = client_for(manager)
    # when
    first = client.get(drilldown("no_next_step"), {"period": "month"})
    second = client.get(drilldown("no_next_step"), {"period": "month", "page": 2})
    # then
    assert len(first.context["page_obj"].object_list) == 50
    assert len(second.context["page_obj"].object_list) == 5
    assert deals[0].title in first.content.decode() + second.content.decode()


def test_an_unknown_drop_code_is_a_404(client_for, manager):
    assert client_for(manager).get(drilldown("lost_the_keys")).status_code == 404


def test_the_csv_export_escapes_formulas(client_for, manager, rep):
    # given
    DealFactory(
        owner=rep, title='=HYPERLINK("http://evil")', next_step_due=timezone.localdate() - datetime.timedelta(2)
    )
    DealFactory(owner=rep, title="@SUM(A1)", next_step_due=timezone.localdate() - datetime.timedelta(2))
    DealFactory(owner=rep, title="-2+3", next_step_due=timezone.localdate() - datetime.timedelta(2))
    refreshed()
    # when
    response = client_for(manager).get(drilldown("no_next_step"), {"format": "csv"})
    # then
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    titles = sorted(row[3] for row in csv_rows(response)[1:])
    assert titles == ["'-2+3", '\'=HYPERLINK("http://evil")', "'@SUM(A1)"]


def test_each_report_table_exports_as_csv(client_for, manager, rep):
    # given
    late_deals(rep, 2)
    refreshed()
    client = client_for(manager)
    # when
    totals = csv_rows(client.get(REPORT, {"period": "month", "format": "csv", "table": "totals"}))
    by_rep = csv_rows(client.get(REPORT, {"period": "month", "format": "csv", "table": "by_rep"}))
    trend = csv_rows(client.get(REPORT, {"period": "month", "format": "csv", "table": "trend"}))
    latency = csv_rows(client.get(REPORT, {"period": "month", "format": "csv", "table": "latency"}))
    # then
    assert ["no_next_step", "No next step", "2", "0", "2"] in totals
    assert by_rep[1][0] == str(rep) and by_rep[1][1] == "2"
    assert trend[0][0] == "Week of" and len(trend) == 1 + 12
    assert latency[1][:2] == ["All", "Everyone"]
    assert client.get(REPORT, {"format": "csv", "table": "passwords"}).status_code == 404


def test_it_shows_the_median_and_p90_of_the_time_to_accept(client_for, manager, rep, delivery_lead):
    # given: closed on 1 March, accepted after 1, 2, 3 and 10 days
    for days in (1, 2, 3, 10):
        HandoffFactory(
            deal__owner=rep,
            deal__closed_on=datetime.date(2025, 3, 1),
            delivery_owner=delivery_lead,
            status="accepted",
            # at the site's midnight (its TIME_ZONE), from which latencies are counted
            accepted_at=datetime.datetime(2025, 3, 1 + days, tzinfo=timezone.get_default_timezone()),
        )
    refreshed()
    # when
    response = client_for(manager).get(REPORT, {"period": "month"})
    # then
    summary = response.context["summary"]
    median, p90, count = summary.latency_overall.figures["days_to_accept"]
    assert (median, p90, count) == (2.5, 7.9, 4)
    assert [row.name for row in summary.latency_by_rep] == [str(rep)]
    assert [row.name for row in summary.latency_by_team] == ["Sales"]


def test_the_report_runs_the_same_number_of_queries_for_3_or_30_drops(
    client_for, manager, rep, other_rep, delivery_lead, django_assert_num_queries
):
    # given
    late_deals(rep, 2)
    unowned_handoffs(other_rep, 1, proposed_owner=delivery_lead)
    refreshed()
    client = client_for(manager)
    with CaptureQueriesContext(connection) as small:
        client.get(REPORT, {"period": "month"})
    late_deals(rep, 15)
    late_deals(other_rep, 5)
    unowned_handoffs(other_rep, 5, proposed_owner=delivery_lead)
    refreshed()
    assert DroppedBaton.objects.count() >= 30
    # when / then
    with django_assert_num_queries(len(small.captured_queries)):
        client.get(REPORT, {"period": "month"})


def test_the_drilldown_runs_the_same_number_of_queries_for_3_or_30_drops(
    client_for, manager, rep, django_assert_num_queries
):
    # given
    late_deals(rep, 3)
    refreshed()
    client = client_for(manager)
    with CaptureQueriesContext(connection) as small:
        client.get(drilldown("no_next_step"))
    late_deals(rep, 27)
    refreshed()
    # when / then
    with django_assert_num_queries(len(small.captured_queries)):
        client.get(drilldown("no_next_step"))


def test_recompute_now_rebuilds_the_snapshot(client_for, manager, rep):
    # given
    late_deals(rep, 2)
    # when
    response = client_for(manager).post(reverse("followups:report_recompute"))
    # then
    assert response.status_code == 302
    assert DroppedBaton.objects.filter(code="no_next_step").count() == 2
    assert Account.objects.filter(health_score=95).count() == 2
