"""The API's lists write their rows on a fast path (handoffs.api.rows) that must give
byte for byte what DRF's own serializer path gives: each list as each role reads it, in
a timezone east of UTC, one west of it and UTC itself, with the blanks, nulls and
decimals rows carry. And a list whose query string names only the page skips the filter
set (handoffs.api.filters.ListFilterBackend) without listing anything else, and a
filtered one builds its filter form's class once and still filters by each request."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers

from accounts.choices import Role
from followups.api.serializers import CheckInSerializer
from followups.choices import Channel, CheckInStatus, Sentiment
from followups.selectors.checkins import checkin_list_queryset
from handoffs.api import rows
from handoffs.api.rows import RowsListSerializer, row_plan
from handoffs.api.serializers import DealSerializer, HandoffSerializer, PromiseSerializer
from handoffs.choices import HandoffStatus, LostReason, PromiseStatus, Stage
from tests.factories import (
    CheckInFactory,
    DealContactFactory,
    DealFactory,
    HandoffFactory,
    HandoffStepFactory,
    PromiseFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 5, 10, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()
LISTS = ["deal-list", "promise-list", "handoff-list", "checkin-list"]


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def list_url(name: str) -> str:
    namespace = "followups_api" if name == "checkin-list" else "handoffs_api"
    return reverse(f"{namespace}:{name}")


@pytest.fixture
def rows_of_every_kind(rep, other_rep, manager, delivery_lead):
    """Deals, promises, hand-offs and check-ins with the values rows carry: nulls where
    a person or a date is missing, blank choices, a lost reason, decimals, moments."""
    nameless = UserFactory(username="nameless", first_name="", last_name="", role=Role.REP, team=rep.team)
    open_deal = DealFactory(owner=rep, amount=Decimal("1234.50"), next_step_due=TODAY - datetime.timedelta(days=2))
    DealContactFactory(deal=open_deal)
    DealFactory(
        owner=nameless,
        stage=Stage.LOST,
        closed_on=TODAY,
        close_reason="Too dear.",
        lost_reason=LostReason.PRICE,
        next_step="",
        next_step_due=None,
        packet_waived_at=NOW - datetime.timedelta(hours=3),
    )
    PromiseFactory(deal=open_deal, target_date=TODAY - datetime.timedelta(days=1))
    PromiseFactory(
        deal=open_deal,
        owner=delivery_lead,
        created_by=rep,
        resolved_by=delivery_lead,
        status=PromiseStatus.KEPT,
        resolved_on=TODAY,
        reviewed_at=NOW - datetime.timedelta(days=1),
    )
    waiting = HandoffFactory(deal__owner=other_rep)
    HandoffStepFactory(handoff=waiting, due_on=TODAY - datetime.timedelta(days=1))
    accepted = HandoffFactory(
        deal__owner=rep,
        status=HandoffStatus.ACCEPTED,
        proposed_owner=delivery_lead,
        proposed_at=NOW - datetime.timedelta(days=2),
        delivery_owner=delivery_lead,
        accepted_at=NOW - datetime.timedelta(days=1),
    )
    CheckInFactory(handoff=accepted, due_on=TODAY - datetime.timedelta(days=3))
    CheckInFactory(
        handoff=accepted,
        cadence_days=30,
        status=CheckInStatus.DONE,
        done_at=NOW - datetime.timedelta(minutes=90),
        channel=Channel.CALL,
        sentiment=Sentiment.AT_RISK,
        notes="Asked about SSO.",
        referral_asked=True,
        opened_deal=open_deal,
    )
    CheckInFactory(handoff=HandoffFactory(deal__owner=nameless))


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "UTC"])
@pytest.mark.parametrize("role", ["manager", "rep"])
@pytest.mark.parametrize("name", LISTS)
def test_a_list_is_byte_for_byte_what_drf_writes(
    api_client, monkeypatch, rows_of_every_kind, request, manager, rep, role, zone, name
):
    # given
    user = {"manager": manager, "rep": rep}[role]
    user.timezone = zone
    user.save(update_fields=["timezone"])
    client = api_client(user)
    fast = client.get(list_url(name), {"page_size": 3})
    # when: the same request without the row plans, every row through DRF's serializer
    monkeypatch.setattr(rows, "row_plan", lambda serializer_class: None)
    drf = client.get(list_url(name), {"page_size": 3})
    # then
    assert fast.status_code == drf.status_code == 200
    assert fast.json()["results"], "the list should show rows"
    assert fast.content == drf.content


def test_every_list_serializer_has_a_row_plan():
    # A field the plan does not know (a method field, a hyperlink) would send the whole
    # list back through DRF's slow path: the lists stay on the fast one.
    for serializer_class in (DealSerializer, PromiseSerializer, HandoffSerializer, CheckInSerializer):
        plan = row_plan(serializer_class)
        assert plan is not None, serializer_class
        assert [name for name, _ in plan] == list(serializer_class().fields), serializer_class
        assert serializer_class.Meta.list_serializer_class is RowsListSerializer


def test_a_row_plan_writes_moments_in_the_current_timezone(rows_of_every_kind, rep):
    checkins = list(checkin_list_queryset(rep).order_by("-id"))
    for zone in ("Asia/Kolkata", "America/St_Johns", "UTC"):
        with timezone.override(zone):
            # when
            fast = CheckInSerializer(checkins, many=True).data
            # then
            assert fast == [CheckInSerializer(checkin).data for checkin in checkins]
    assert any(row["done_at"] and row["done_at"].endswith("Z") for row in fast)


class NamedRefSerializer(serializers.Serializer):
    """A serializer with a method field: no row plan."""

    id = serializers.IntegerField(read_only=True)
    shout = serializers.SerializerMethodField()

    class Meta:
        list_serializer_class = RowsListSerializer

    def get_shout(self, user) -> str:
        return str(user).upper()


class MaybeNicknameSerializer(serializers.Serializer):
    """A serializer whose optional field some rows lack (DRF leaves the key out)."""

    id = serializers.IntegerField(read_only=True)
    nickname = serializers.CharField(read_only=True, required=False)

    class Meta:
        list_serializer_class = RowsListSerializer


def test_a_serializer_the_plan_cannot_write_goes_through_drf(rep, other_rep):
    assert row_plan(NamedRefSerializer) is None
    assert NamedRefSerializer([rep, other_rep], many=True).data == [
        {"id": rep.pk, "shout": str(rep).upper()},
        {"id": other_rep.pk, "shout": str(other_rep).upper()},
    ]


def test_a_row_the_plan_cannot_read_goes_through_drf(rep, other_rep):
    rep.nickname = "Rep"
    rows_written = MaybeNicknameSerializer([rep, other_rep], many=True).data
    assert rows_written == [{"id": rep.pk, "nickname": "Rep"}, {"id": other_rep.pk}]


@pytest.mark.parametrize("name", LISTS)
def test_a_list_without_filters_lists_what_empty_filters_list(api_client, rows_of_every_kind, manager, name):
    client = api_client(manager)
    # when
    bare = client.get(list_url(name))
    with_empty_filters = client.get(list_url(name), {"status": "", "overdue": ""})
    # then
    assert bare.status_code == with_empty_filters.status_code == 200
    assert bare.json()["results"] == with_empty_filters.json()["results"]


def test_a_list_still_filters_and_refuses_a_bad_filter(api_client, rows_of_every_kind, manager):
    # The filter set's form class is built once (handoffs.api.filters.ApiFilterSet):
    # each request still filters by its own values.
    client = api_client(manager)
    overdue = client.get(list_url("checkin-list"), {"overdue": "true"})
    assert overdue.status_code == 200
    assert [row["is_overdue"] for row in overdue.json()["results"]] == [True]
    for status in (CheckInStatus.DONE, CheckInStatus.SCHEDULED):
        listed = client.get(list_url("checkin-list"), {"status": status})
        assert listed.status_code == 200
        assert {row["status"] for row in listed.json()["results"]} == {status}
    refused = client.get(list_url("checkin-list"), {"status": "lost", "page_size": 5})
    assert refused.status_code == 400
    assert "status" in refused.json()["error"]["fields"]
