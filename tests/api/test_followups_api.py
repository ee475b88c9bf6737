"""The API of check-ins, the outbox and the dropped-baton report, as a client with a
personal token uses it: whose check-ins each role works, field messages and nothing
written on a refusal, the admins-only outbox, the report's figures equal to the page's,
and list query counts that do not grow with the rows. The clock is pinned."""

from __future__ import annotations

import datetime
import uuid

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from followups.choices import CheckInStatus, MessagePurpose, MessageStatus, ReminderKind
from followups.models import CheckIn, CheckInReschedule, OutboxMessage
from followups.selectors.report import period_named, report_summary
from tests.factories import CheckInFactory, UserFactory
from tests.followups.report_data import late_deals, refreshed, unowned_handoffs
from tests.followups.test_checkin_services import accepted_handoff, log_values

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 5, 10, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def url(name: str, *args) -> str:
    return reverse(f"followups_api:{name}", args=args)


def ids(response) -> set[int]:
    assert response.status_code == 200, response.json()
    return {row["id"] for row in response.json()["results"]}


def fields_of(response) -> dict:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    return error.get("fields", {})


def queries_of(client: APIClient, path: str, params: dict | None = None) -> int:
    """The queries of a warm request (the first one of a token also records its use)."""
    client.get(path, params or {})
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params or {})
    assert response.status_code == 200, response.content
    return len(captured)


def checkin_of(rep, delivery_lead, *, days: int) -> CheckIn:
    """A check-in of `rep`, due `days` from today (negative: overdue)."""
    handoff = accepted_handoff(rep=rep, delivery_owner=delivery_lead)
    return CheckInFactory(handoff=handoff, cadence_days=0, due_on=TODAY + datetime.timedelta(days=days))


# --- check-ins: reading ---------------------------------------------------------------------


def test_each_role_lists_the_check_ins_it_works(
    api_client, rep, other_rep, manager, delivery_lead, admin_user, outsider_team_rep
):
    # given
    mine = checkin_of(rep, delivery_lead, days=2)
    teammates = checkin_of(other_rep, delivery_lead, days=2)
    elsewhere = checkin_of(outsider_team_rep, delivery_lead, days=2)
    # when / then: a rep their own, a manager their team's, an admin all
    assert ids(api_client(rep).get(url("checkin-list"))) == {mine.pk}
    assert ids(api_client(manager).get(url("checkin-list"))) == {mine.pk, teammates.pk}
    assert ids(api_client(admin_user).get(url("checkin-list"))) == {mine.pk, teammates.pk, elsewhere.pk}
    # a delivery lead has no check-ins page
    assert api_client(delivery_lead).get(url("checkin-list")).status_code == 403


def test_the_check_in_list_filters(api_client, rep, other_rep, manager, delivery_lead):
    # given
    overdue = checkin_of(rep, delivery_lead, days=-3)
    upcoming = checkin_of(rep, delivery_lead, days=10)
    teammates = checkin_of(other_rep, delivery_lead, days=1)
    done = checkin_of(rep, delivery_lead, days=0)
    CheckIn.objects.filter(pk=done.pk).update(status=CheckInStatus.DONE, done_at=NOW)
    client = api_client(manager)
    # when / then
    assert ids(client.get(url("checkin-list"), {"rep": other_rep.pk})) == {teammates.pk}
    assert ids(client.get(url("checkin-list"), {"mine": "true"})) == set()
    assert ids(api_client(rep).get(url("checkin-list"), {"mine": "true"})) == {overdue.pk, upcoming.pk, done.pk}
    assert ids(client.get(url("checkin-list"), {"status": "done"})) == {done.pk}
    overdue_rows = client.get(url("checkin-list"), {"overdue": "true"})
    assert ids(overdue_rows) == {overdue.pk}
    assert overdue_rows.json()["results"][0]["is_overdue"] is True
    window = {"due_after": TODAY.isoformat(), "due_before": (TODAY + datetime.timedelta(days=5)).isoformat()}
    assert ids(client.get(url("checkin-list"), window)) == {teammates.pk, done.pk}
    assert ids(client.get(url("checkin-list"), {"handoff": upcoming.handoff_id})) == {upcoming.pk}
    assert ids(client.get(url("checkin-list"), {"account": overdue.account_id})) == {overdue.pk}
    assert "status" in fields_of(client.get(url("checkin-list"), {"status": "sometime"}))


def test_the_check_in_list_runs_the_same_queries_for_3_or_30_check_ins(api_client, rep, manager, delivery_lead):
    client = api_client(manager)
    for day in range(3):
        checkin_of(rep, delivery_lead, days=day - 1)
    few = queries_of(client, url("checkin-list"))
    for day in range(27):
        checkin_of(rep, delivery_lead, days=day - 10)
    assert queries_of(client, url("checkin-list")) == few


def test_a_check_in_shows_its_moves_and_someone_elses_is_a_404(api_client, rep, other_rep, delivery_lead):
    # given
    checkin = checkin_of(rep, delivery_lead, days=3)
    CheckInReschedule.objects.create(
        checkin=checkin,
        old_due_on=TODAY,
        new_due_on=checkin.due_on,
        reason="Customer on holiday",
        rescheduled_by=rep,
    )
    # when
    response = api_client(rep).get(url("checkin-detail", checkin.pk))
    # then
    assert response.status_code == 200
    assert [move["reason"] for move in response.json()["reschedules"]] == ["Customer on holiday"]
    assert response.json()["deal"]["id"] == checkin.handoff.deal_id
    assert api_client(other_rep).get(url("checkin-detail", checkin.pk)).status_code == 404


# --- check-ins: writing ---------------------------------------------------------------------


def test_a_rep_logs_a_check_in(api_client, rep, delivery_lead):
    # given
    checkin = checkin_of(rep, delivery_lead, days=0)
    # when
    response = api_client(rep).post(url("checkin-log", checkin.pk), log_values(notes="Going well."), format="json")
    # then
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["sentiment"]) == ("done", "happy")
    checkin.refresh_from_db()
    assert (checkin.status, checkin.notes) == (CheckInStatus.DONE, "Going well.")


def test_a_manager_logs_a_team_check_in_and_opens_a_deal_from_it(api_client, rep, manager, delivery_lead):
    checkin = checkin_of(rep, delivery_lead, days=-1)
    values = log_values(repeat_business_asked=True, open_deal=True, new_deal_title="Second site")
    response = api_client(manager).post(url("checkin-log", checkin.pk), values, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["opened_deal"] is not None


def test_logging_is_refused_field_by_field_and_writes_nothing(api_client, rep, other_rep, delivery_lead):
    # given
    checkin = checkin_of(rep, delivery_lead, days=0)
    client = api_client(rep)
    # when / then
    fields = fields_of(client.post(url("checkin-log", checkin.pk), {"channel": "pigeon"}, format="json"))
    assert set(fields) == {"channel", "sentiment"}
    refused = client.post(url("checkin-log", checkin.pk), log_values(open_deal=True), format="json")
    assert "open_deal" in fields_of(refused)
    assert api_client(other_rep).post(url("checkin-log", checkin.pk), log_values(), format="json").status_code == 404
    checkin.refresh_from_db()
    assert checkin.status == CheckInStatus.SCHEDULED
    # and a check-in is logged once
    assert client.post(url("checkin-log", checkin.pk), log_values(), format="json").status_code == 200
    assert "non_field_errors" in fields_of(client.post(url("checkin-log", checkin.pk), log_values(), format="json"))


def test_a_retried_log_with_its_key_is_answered_once(api_client, rep, delivery_lead):
    checkin = checkin_of(rep, delivery_lead, days=0)
    client = api_client(rep)
    key = str(uuid.uuid4())
    first = client.post(url("checkin-log", checkin.pk), log_values(), format="json", HTTP_IDEMPOTENCY_KEY=key)
    retry = client.post(url("checkin-log", checkin.pk), log_values(), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"


def test_a_rep_adds_a_check_in_by_hand_to_their_accepted_hand_off(api_client, rep, other_rep, delivery_lead):
    # given
    handoff = accepted_handoff(rep=rep, delivery_owner=delivery_lead)
    theirs = accepted_handoff(rep=other_rep, delivery_owner=delivery_lead)
    client = api_client(rep)
    soon = (TODAY + datetime.timedelta(days=4)).isoformat()
    # when
    added = client.post(url("checkin-list"), {"handoff": handoff.pk, "due_on": soon}, format="json")
    past = client.post(url("checkin-list"), {"handoff": handoff.pk, "due_on": "2026-03-01"}, format="json")
    someone_elses = client.post(url("checkin-list"), {"handoff": theirs.pk, "due_on": soon}, format="json")
    # then
    assert added.status_code == 201, added.json()
    assert (added.json()["due_on"], added.json()["cadence_days"], added.json()["rep"]["id"]) == (soon, 0, rep.pk)
    assert fields_of(past) == {"due_on": ["Choose today or a later date."]}
    assert "handoff" in fields_of(someone_elses)
    assert list(CheckIn.objects.values_list("handoff_id", flat=True)) == [handoff.pk]
    assert api_client(delivery_lead).post(url("checkin-list"), {}, format="json").status_code == 403


def test_a_check_in_moves_with_a_reason(api_client, rep, delivery_lead):
    # given
    checkin = checkin_of(rep, delivery_lead, days=1)
    client = api_client(rep)
    new_day = (TODAY + datetime.timedelta(days=9)).isoformat()
    # when / then
    fields = fields_of(
        client.post(
            url("checkin-reschedule", checkin.pk),
            {"new_due_on": (TODAY - datetime.timedelta(days=1)).isoformat(), "reason": ""},
            format="json",
        )
    )
    assert set(fields) == {"reason"}  # a blank reason is refused before the service looks at the date
    past = client.post(
        url("checkin-reschedule", checkin.pk),
        {"new_due_on": (TODAY - datetime.timedelta(days=1)).isoformat(), "reason": "Oops"},
        format="json",
    )
    assert fields_of(past) == {"new_due_on": ["Choose today or a later date."]}
    assert not CheckInReschedule.objects.exists()
    moved = client.post(
        url("checkin-reschedule", checkin.pk), {"new_due_on": new_day, "reason": "Holiday"}, format="json"
    )
    assert moved.status_code == 200, moved.json()
    assert moved.json()["due_on"] == new_day
    assert [move["reason"] for move in moved.json()["reschedules"]] == ["Holiday"]


# --- the outbox -----------------------------------------------------------------------------


def outbox_row(user, *, item_id: int, status: str = MessageStatus.PENDING, purpose: str = "reminder") -> OutboxMessage:
    return OutboxMessage.objects.create(
        purpose=purpose,
        kind=ReminderKind.STEP_OVERDUE,
        item_id=item_id,
        version=1,
        recipient=user,
        recipient_key=f"user:{user.pk}",
        status=status,
        first_due_at=NOW,
        send_after=NOW,
    )


def test_admins_read_the_outbox_by_status_and_purpose(api_client, admin_user, rep):
    # given
    pending = outbox_row(rep, item_id=1)
    failed = outbox_row(rep, item_id=2, status=MessageStatus.FAILED)
    invite = outbox_row(rep, item_id=3, purpose=MessagePurpose.INVITE)
    client = api_client(admin_user)
    # when / then
    assert ids(client.get(url("outbox-message-list"))) == {pending.pk, failed.pk, invite.pk}
    assert ids(client.get(url("outbox-message-list"), {"status": "failed"})) == {failed.pk}
    assert ids(client.get(url("outbox-message-list"), {"purpose": "invite"})) == {invite.pk}
    detail = client.get(url("outbox-message-detail", failed.pk))
    assert detail.status_code == 200
    assert (detail.json()["status"], detail.json()["recipient"]["id"]) == ("failed", rep.pk)
    assert client.get(url("outbox-message-detail", 987654)).status_code == 404


@pytest.mark.parametrize("who", ["rep", "manager", "delivery_lead"])
def test_nobody_else_reads_the_outbox(api_client, request, who, rep):
    row = outbox_row(rep, item_id=1)
    client = api_client(request.getfixturevalue(who))
    assert client.get(url("outbox-message-list")).status_code == 403
    assert client.get(url("outbox-message-detail", row.pk)).status_code == 403


def test_the_outbox_list_runs_the_same_queries_for_3_or_30_messages(api_client, admin_user, rep):
    client = api_client(admin_user)
    for item_id in range(3):
        outbox_row(UserFactory(), item_id=item_id)
    few = queries_of(client, url("outbox-message-list"))
    for item_id in range(3, 30):
        outbox_row(UserFactory(), item_id=item_id)
    assert queries_of(client, url("outbox-message-list")) == few


# --- the dropped-baton report ----------------------------------------------------------------


def test_a_manager_reads_the_same_figures_as_the_report_page(api_client, manager, rep, outsider_team_rep):
    # given
    late_deals(rep, 3)
    late_deals(outsider_team_rep, 5)
    unowned_handoffs(rep, 2)
    refreshed()
    # when
    response = api_client(manager).get(url("report"), {"period": "month"})
    # then
    assert response.status_code == 200, response.json()
    report = response.json()
    page = report_summary(manager, period=period_named("month", today=TODAY))
    assert report["total"] == page.total > 0
    assert {row["code"]: row["count"] for row in report["by_code"] if row["count"]} == page.totals
    assert [(row["name"], row["total"]) for row in report["by_rep"]] == [(row.name, row.total) for row in page.by_rep]
    assert report["period"] == {"start": "2026-03-01", "end": "2026-03-31", "label": "month"}
    assert set(report["latency"]["overall"]["figures"]) == {
        "days_to_accept",
        "days_to_meeting",
        "days_to_first_checkin",
    }
    assert report["trend"]["labels"] and report["packet_waivers"]["closes"] >= 0


def test_an_admin_reads_every_team_and_a_custom_period(api_client, admin_user, rep, outsider_team_rep):
    late_deals(rep, 3)
    late_deals(outsider_team_rep, 5)
    refreshed()
    period = {"period": "custom", "start": "2026-02-20", "end": "2026-03-10"}
    response = api_client(admin_user).get(url("report"), period)
    assert response.status_code == 200, response.json()
    assert response.json()["total"] == 8
    assert {row["name"] for row in response.json()["by_team"]} == {"Sales", "Other sales"}


def test_the_report_refuses_bad_periods_and_other_teams(api_client, manager, outsider_team_rep):
    client = api_client(manager)
    backwards = client.get(url("report"), {"period": "custom", "start": "2026-03-10", "end": "2026-03-01"})
    assert fields_of(backwards) == {"end": ["The last day must not be before the first day."]}
    assert "start" in fields_of(client.get(url("report"), {"period": "custom", "end": "2026-03-01"}))
    assert "period" in fields_of(client.get(url("report"), {"period": "decade"}))
    assert client.get(url("report"), {"team": outsider_team_rep.team_id}).status_code == 404


@pytest.mark.parametrize("who", ["rep", "delivery_lead"])
def test_reps_and_delivery_leads_read_no_report(api_client, request, who):
    response = api_client(request.getfixturevalue(who)).get(url("report"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_the_report_runs_the_same_queries_whatever_the_drops(api_client, manager, rep):
    client = api_client(manager)
    late_deals(rep, 2)
    refreshed()
    few = queries_of(client, url("report"))
    late_deals(rep, 20)
    unowned_handoffs(rep, 5)
    refreshed()
    assert queries_of(client, url("report")) == few
