"""Garbage in the query string of every page that reads one: a 400, a 404 or a message on
the page, never a 500; and a `next` that leaves the site is never followed."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from followups.services.report import report_refresh
from handoffs.choices import Stage
from tests.factories import AccountFactory, CheckInFactory, DealFactory
from tests.handoffs.handoff_builders import scheduled_meeting

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 5, 10, 0, tzinfo=datetime.UTC)
TOO_BIG = "99999999999999999999"  # more than a PostgreSQL bigint holds
GARBAGE = [
    "abc",
    "²",  # a digit to str.isdigit(), not to int()
    "-1",
    "1.5",
    "1e400",
    TOO_BIG,
    "9999-12-31",
    "0001-01-01",
    "\x00",
    "' OR 1=1 --",
    "x" * 3000,
]
CUSTOM_PERIOD = {"period": "custom", "start": "2026-02-01", "end": "2026-03-05"}
ANSWERS_TO_GARBAGE = {200, 302, 400, 404}


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(rep, manager, delivery_lead, admin_user):
    """A bit of everything, so that each page has rows to show and filter."""
    deal = DealFactory(owner=rep, next_step_due=datetime.date(2026, 3, 1))
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    CheckInFactory(handoff=meeting.handoff, due_on=datetime.date(2026, 3, 1))
    report_refresh()
    return {"deal": deal, "handoff": meeting.handoff, "account": deal.account}


# (who, page, the query parameters it reads, base queries the garbage is added to)
PAGES = [
    ("rep", lambda w: reverse("handoffs:board"), ["scope"], [{}]),
    ("rep", lambda w: reverse("handoffs:deal_list"), ["q", "stage", "owner", "overdue", "o", "page"], [{}]),
    ("manager", lambda w: reverse("handoffs:deal_list"), ["owner", "page"], [{"stage": "open", "o": "-amount"}]),
    ("rep", lambda w: reverse("handoffs:deal_create"), ["account"], [{}]),
    ("rep", lambda w: reverse("handoffs:deal_detail", args=[w["deal"].pk]), ["timeline_before"], [{}]),
    ("rep", lambda w: reverse("handoffs:deal_close", args=[w["deal"].pk]), ["outcome"], [{}]),
    ("rep", lambda w: reverse("handoffs:account_list"), ["q", "owner", "size", "o", "page"], [{}]),
    ("rep", lambda w: reverse("handoffs:account_detail", args=[w["account"].pk]), ["timeline_before"], [{}]),
    ("manager", lambda w: reverse("handoffs:handoff_list"), ["status", "owner", "overdue", "page"], [{}]),
    ("manager", lambda w: reverse("handoffs:handoff_detail", args=[w["handoff"].pk]), ["timeline_before"], [{}]),
    ("manager", lambda w: reverse("followups:my_checkins"), ["show", "rep", "page"], [{}, {"show": "overdue"}]),
    ("rep", lambda w: reverse("followups:notifications"), ["page"], [{}]),
    ("admin_user", lambda w: reverse("followups:outbox_admin"), ["status", "purpose", "page"], [{}]),
    (
        "manager",
        lambda w: reverse("followups:report"),
        ["period", "start", "end", "team", "format", "table"],
        [{}, CUSTOM_PERIOD, {"format": "csv"}],
    ),
    (
        "manager",
        lambda w: reverse("followups:report_drilldown", args=["all"]),
        ["rep", "owner", "by_team", "account", "team", "open", "period", "start", "end", "page", "format"],
        [{}, CUSTOM_PERIOD, {"format": "csv"}],
    ),
    ("admin_user", lambda w: reverse("followups:report_drilldown", args=["no_next_step"]), ["rep", "page"], [{}]),
]


@pytest.mark.parametrize(
    ("who", "page", "names", "bases"),
    PAGES,
    ids=[f"{who}-{index}-{'-'.join(names)}" for index, (who, _, names, _) in enumerate(PAGES)],
)
def test_garbage_in_any_query_parameter_never_breaks_the_page(request, world, who, page, names, bases):
    # given
    client = Client(raise_request_exception=False)
    client.force_login(request.getfixturevalue(who))
    url = page(world)
    # when: each parameter alone, then all at once, each garbage value in turn
    broken = []
    for base in bases:
        for value in GARBAGE:
            for query in [*({**base, name: value} for name in names), {**base, **dict.fromkeys(names, value)}]:
                status = client.get(url, query).status_code
                if status not in ANSWERS_TO_GARBAGE:
                    broken.append((status, query))
    # then
    assert broken == []


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_a_custom_report_period_at_the_ends_of_the_calendar_says_why(client_for, manager, day):
    response = client_for(manager).get(reverse("followups:report"), {"period": "custom", "start": day, "end": day})
    assert response.status_code == 200
    assert "This date is not plausible" in response.content.decode()


@pytest.mark.parametrize("name", ["rep", "account", "owner", "by_team", "team"])
@pytest.mark.parametrize("value", [TOO_BIG, "²"])
def test_a_drilldown_id_that_no_row_can_have_is_not_found(client_for, manager, name, value):
    response = client_for(manager).get(reverse("followups:report_drilldown", args=["all"]), {name: value})
    assert response.status_code == 404


def test_a_new_deal_link_with_a_garbage_account_opens_an_empty_form(client_for, rep):
    AccountFactory(owner=rep)
    response = client_for(rep).get(reverse("handoffs:deal_create"), {"account": "²"})
    assert response.status_code == 200
    assert response.context["form"].initial.get("account") is None


# --- next -------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "https:evil.example", "/\\evil.example"])
def test_a_board_move_never_follows_next_off_the_site(client_for, rep, target):
    # given
    deal = DealFactory(owner=rep, stage=Stage.QUALIFY)
    # when
    response = client_for(rep).post(
        reverse("handoffs:deal_stage", args=[deal.pk]), {"stage": Stage.PROPOSE, "version": 1, "next": target}
    )
    # then: See Other, back to the board (a plain form's post, without JavaScript)
    assert response.status_code == 303
    assert response["Location"] == reverse("handoffs:board")
    deal.refresh_from_db()
    assert deal.stage == Stage.PROPOSE


def test_a_board_move_goes_back_to_a_page_of_this_site(client_for, rep):
    deal = DealFactory(owner=rep, stage=Stage.QUALIFY)
    back_to = f"{reverse('handoffs:deal_list')}?stage=open"
    response = client_for(rep).post(
        reverse("handoffs:deal_stage", args=[deal.pk]), {"stage": Stage.PROPOSE, "version": 1, "next": back_to}
    )
    assert response["Location"] == back_to
