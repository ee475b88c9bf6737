"""The drill-down behind a report number, at scale (issue 17): a capped count ("2,000+"
past the cap), links to each deal and account, the same queries for 3 or 30 drops."""

from __future__ import annotations

import datetime
import functools

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from accounts.common.pagination import CappedPaginator
from tests.followups.report_data import late_deals, refreshed

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2025, 3, 12, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def drilldown(code: str) -> str:
    return reverse("followups:report_drilldown", args=[code])


def test_the_count_stops_at_the_cap_and_says_so(client_for, manager, rep, monkeypatch):
    # given: three drops, and a cap of two
    monkeypatch.setattr("followups.views.report.CappedPaginator", functools.partial(CappedPaginator, cap=2))
    late_deals(rep, 3)
    refreshed()
    # when
    response = client_for(manager).get(drilldown("no_next_step"))
    # then
    body = response.content.decode()
    assert '<span class="badge text-bg-dark" data-testid="drilldown-count">2+</span>' in body
    assert len(response.context["page_obj"].object_list) == 2


def test_each_row_links_its_deal_and_account(client_for, manager, rep):
    # given
    deals = late_deals(rep, 2)
    refreshed()
    # when
    body = client_for(manager).get(drilldown("no_next_step")).content.decode()
    # then
    for deal in deals:
        assert f'<a href="{reverse("handoffs:deal_detail", args=[deal.pk])}">{escape(deal.title)}</a>' in body
        account_url = reverse("handoffs:account_detail", args=[deal.account_id])
        assert f'<a href="{account_url}">{escape(deal.account.name)}</a>' in body
    assert '<span class="badge text-bg-dark" data-testid="drilldown-count">2</span>' in body


def test_the_page_reads_the_same_number_of_queries_for_3_or_30_drops(client_for, manager, rep):
    # given
    client = client_for(manager)
    late_deals(rep, 3)
    refreshed()
    with CaptureQueriesContext(connection) as few:
        client.get(drilldown("all"))
    late_deals(rep, 27)
    refreshed()
    # when
    with CaptureQueriesContext(connection) as many:
        response = client.get(drilldown("all"))
    # then
    assert response.context["page_obj"].paginator.count == 30
    assert len(many) == len(few)
