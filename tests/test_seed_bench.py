"""The benchmark seeder and harness: consistent data at a tiny scale, bench users who
can log in, the guard against real databases, and the ceiling view."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, F, Q
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from accounts.models import Account, Contact, OwnershipChange, Team, TimelineEvent, User
from bench.pages import CEILING, PAGES, BenchPage
from bench.queries import plan_page
from followups.models import CheckIn, CheckInReschedule, Notification
from handoffs.choices import OPEN_STAGES, HandoffStatus, Stage
from handoffs.models import Deal, DealContact, Handoff, HandoffStep, Meeting, MeetingAttendee, Promise

SCALE = 0.01


@pytest.fixture
def seeded(db):
    out = io.StringIO()
    call_command("seed_bench", scale=SCALE, stdout=out)
    return out.getvalue()


def test_it_fills_every_table_the_pages_read(seeded):
    # given / when: seeded at 1% of scale 1
    # then
    assert Deal.objects.count() == 1_000
    assert Account.objects.count() == 200
    assert Contact.objects.count() == 600
    for model in (Team, OwnershipChange, TimelineEvent, DealContact, Promise, HandoffStep, Meeting, MeetingAttendee,
                  CheckInReschedule, Notification):  # fmt: skip
        assert model.objects.exists(), f"{model.__name__} is empty"
    assert 9_000 <= CheckIn.objects.count() <= 11_000
    assert "Benchmark data seeded" in seeded
    assert "bench-password" in seeded


def test_it_gives_every_won_deal_exactly_one_handoff_and_no_other_deal_one(seeded):
    won = Deal.objects.filter(stage=Stage.WON)
    assert won.count() > 0
    assert not won.filter(handoff__isnull=True).exists()
    assert Handoff.objects.count() == won.count()
    assert not Handoff.objects.exclude(deal__stage=Stage.WON).exists()
    assert not Handoff.objects.exclude(closed_on=F("deal__closed_on")).exists()
    assert not Handoff.objects.exclude(rep=F("deal__owner")).exists()


def test_it_keeps_denormalised_and_cross_table_links_consistent(seeded):
    assert not CheckIn.objects.exclude(account=F("handoff__deal__account")).exists()
    assert not CheckIn.objects.exclude(rep=F("handoff__rep")).exists()
    assert not DealContact.objects.exclude(contact__account=F("deal__account")).exists()
    assert not Deal.objects.filter(stage__in=[Stage.WON, Stage.LOST], closed_on__isnull=True).exists()
    # Every hand-off that has a delivery owner made them the owner of an account, with history.
    accepted = Handoff.objects.filter(delivery_owner__isnull=False)
    assert OwnershipChange.objects.count() == accepted.count()
    # Every three-way meeting invited the rep, the delivery owner and a customer contact.
    for meeting in Meeting.objects.select_related("handoff").prefetch_related("attendees")[:50]:
        invited_users = {attendee.user_id for attendee in meeting.attendees.all() if attendee.user_id}
        assert {meeting.handoff.rep_id, meeting.handoff.delivery_owner_id} <= invited_users
        assert any(attendee.contact_id for attendee in meeting.attendees.all())


def test_it_writes_rows_that_pass_the_models_own_validation(seeded):
    # A sample of each kind; open deals without a next step are deliberate (dropped batons).
    samples = [
        *Deal.objects.filter(stage__in=[Stage.WON, Stage.LOST])[:20],
        *Deal.objects.filter(stage__in=OPEN_STAGES).exclude(next_step="")[:20],
        *Handoff.objects.all()[:20],
        *HandoffStep.objects.all()[:20],
        *Meeting.objects.all()[:20],
        *CheckIn.objects.all()[:20],
        *Account.objects.all()[:20],
        *Contact.objects.all()[:20],
        *User.objects.all()[:20],
    ]
    for row in samples:
        row.full_clean()


def test_it_leaves_batons_dropped_for_the_report_to_find(seeded):
    today = timezone.localdate()
    overdue_checkins = CheckIn.objects.filter(status="scheduled", due_on__lt=today).count()
    assert 100 <= overdue_checkins <= 300  # ~20,000 at scale 1
    assert Deal.objects.filter(stage__in=OPEN_STAGES, next_step_due__lt=today).exists()
    assert Deal.objects.filter(stage=Stage.WON).filter(Q(lead_source="") | Q(context_origin="")).exists()
    single_threaded = Deal.objects.annotate(contacts=Count("deal_contacts")).filter(contacts=1)
    assert single_threaded.filter(stage__in=[Stage.PROPOSE, Stage.NEGOTIATE]).exists()
    assert HandoffStep.objects.filter(status="open", due_on__lt=today).exists()
    assert MeetingAttendee.objects.filter(attended=False).exists()
    statuses = set(Handoff.objects.values_list("status", flat=True))
    assert {HandoffStatus.AWAITING_OWNER, HandoffStatus.DECLINED, HandoffStatus.COMPLETE} <= statuses
    assert len(statuses) >= 6


def test_it_gives_every_deal_a_timeline_and_every_team_a_manager(seeded):
    deals_with_events = TimelineEvent.objects.values("subject_id").distinct().count()
    assert deals_with_events == Deal.objects.count()
    assert not Team.objects.filter(manager__isnull=True).exists()
    assert not Team.objects.exclude(manager__role=Role.MANAGER).exists()
    steps_per_handoff = HandoffStep.objects.count() / Handoff.objects.count()
    assert 4 <= steps_per_handoff <= 6


def test_it_lets_the_bench_users_log_in_with_the_printed_password(seeded):
    for username in ("bench_rep_1", "bench_delivery_1", "bench_manager_1", "bench_admin_1"):
        assert Client().login(username=username, password="bench-password"), username
    assert User.objects.get(username="bench_manager_1").managed_teams.exists()


def test_it_refuses_a_database_not_named_for_benchmarks_or_tests(rep, monkeypatch):
    # given
    monkeypatch.setitem(connection.settings_dict, "NAME", "baton_production")
    # when / then
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_bench", scale=SCALE, stdout=io.StringIO())
    assert User.objects.filter(pk=rep.pk).exists()  # stopped before emptying anything


def test_it_refuses_sqlite(db, monkeypatch):
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with pytest.raises(CommandError, match="PostgreSQL"):
        call_command("seed_bench", scale=SCALE, stdout=io.StringIO())


def test_it_answers_ok_to_a_logged_in_user_on_the_ping_page(client, rep):
    # given
    client.force_login(rep)
    # when
    response = client.get(reverse("accounts:ping"))
    # then
    assert response.status_code == 200
    assert response.content == b"ok"


def test_it_sends_an_anonymous_visitor_of_the_ping_page_to_the_login(client):
    response = client.get(reverse("accounts:ping"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_it_plans_the_ceiling_with_its_two_queries_and_marks_missing_pages_not_built(seeded):
    # when
    ceiling = plan_page(CEILING, users_per_page=2, client_class=Client)
    missing = plan_page(
        BenchPage("future page", "handoffs:not_a_page", Role.REP), users_per_page=2, client_class=Client
    )
    # then: the session and the user, nothing else
    assert ceiling["status"] == "ok"
    assert ceiling["queries"] == 2
    assert [login["username"] for login in ceiling["logins"]] == ["bench_rep_1", "bench_rep_2"]
    assert missing["status"] == "not built"
    assert len({page.label for page in PAGES}) == len(PAGES)  # labels name the results
