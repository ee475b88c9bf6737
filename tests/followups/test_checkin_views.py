"""The check-in pages: My check-ins, logging, rescheduling, adding one, the account panel."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from followups.choices import CheckInStatus
from followups.models import CheckIn, CheckInReschedule
from followups.services.checkins import checkin_log
from tests.factories import CheckInFactory, UserFactory
from tests.followups.test_checkin_services import accepted_handoff, log_values

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 5, 10, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def make_checkins(rep, delivery_owner, count: int) -> list[CheckIn]:
    """`count` check-ins of `rep` spread over overdue, today, upcoming and done."""
    handoff = accepted_handoff(rep=rep, delivery_owner=delivery_owner)
    checkins = []
    for index in range(count):
        due_on = TODAY + datetime.timedelta(days=(index % 4) * 7 - 7)
        checkins.append(CheckInFactory(handoff=handoff, cadence_days=0, due_on=due_on))
    for checkin in checkins[::5]:
        checkin_log(actor=rep, checkin=checkin, **log_values(issues_raised="", repeat_business_asked=True))
    return checkins


def section_ids(response, name: str) -> list[int]:
    return [checkin.pk for checkin in getattr(response.context["sections"], name)]


# --- My check-ins ----------------------------------------------------------------------


def test_a_rep_sees_their_checkins_by_section_and_not_another_reps(client_for, rep, other_rep, delivery_lead):
    # given
    handoff = accepted_handoff(rep=rep, delivery_owner=delivery_lead)
    overdue = CheckInFactory(handoff=handoff, cadence_days=0, due_on=TODAY - datetime.timedelta(days=2))
    today = CheckInFactory(handoff=handoff, cadence_days=0, due_on=TODAY)
    upcoming = CheckInFactory(handoff=handoff, cadence_days=0, due_on=TODAY + datetime.timedelta(days=10))
    theirs = CheckInFactory(
        handoff=accepted_handoff(rep=other_rep, delivery_owner=delivery_lead), cadence_days=0, due_on=TODAY
    )
    # when
    response = client_for(rep).get(reverse("followups:my_checkins"))
    # then
    assert response.status_code == 200
    assert section_ids(response, "overdue") == [overdue.pk]
    assert section_ids(response, "due_today") == [today.pk]
    assert section_ids(response, "upcoming") == [upcoming.pk]
    page = response.content.decode()
    assert "2 days overdue" in page
    assert reverse("followups:checkin_log", args=[today.pk]) in page
    assert reverse("followups:checkin_log", args=[theirs.pk]) not in page


def test_a_manager_sees_the_teams_checkins_and_filters_by_rep(
    client_for, manager, rep, other_rep, outsider_team_rep, delivery_lead
):
    # given
    mine = CheckInFactory(handoff=accepted_handoff(rep=rep, delivery_owner=delivery_lead), due_on=TODAY)
    colleagues = CheckInFactory(handoff=accepted_handoff(rep=other_rep, delivery_owner=delivery_lead), due_on=TODAY)
    CheckInFactory(handoff=accepted_handoff(rep=outsider_team_rep, delivery_owner=delivery_lead), due_on=TODAY)
    client = client_for(manager)
    # when
    everyone = client.get(reverse("followups:my_checkins"))
    only_rep = client.get(reverse("followups:my_checkins"), {"rep": rep.pk})
    outsider = client.get(reverse("followups:my_checkins"), {"rep": outsider_team_rep.pk})
    # then
    assert sorted(section_ids(everyone, "due_today")) == sorted([mine.pk, colleagues.pk])
    assert section_ids(only_rep, "due_today") == [mine.pk]
    # A rep outside the manager's team is not a valid choice: the filter is ignored, never widened.
    assert sorted(section_ids(outsider, "due_today")) == sorted([mine.pk, colleagues.pk])
    assert str(rep) in everyone.content.decode()


def test_delivery_leads_have_no_checkins_page(client_for, delivery_lead):
    # when
    response = client_for(delivery_lead).get(reverse("followups:my_checkins"))
    # then
    assert response.status_code == 403


def test_due_today_on_the_page_is_the_reps_local_today(client_for, sales_team, delivery_lead):
    # given: 02:00 UTC on 10 March is 9 March, 21:00, in New York
    new_york_rep = UserFactory(team=sales_team, timezone="America/New_York")
    checkin = CheckInFactory(
        handoff=accepted_handoff(rep=new_york_rep, delivery_owner=delivery_lead), due_on=datetime.date(2026, 3, 9)
    )
    # when
    with time_machine.travel(datetime.datetime(2026, 3, 10, 2, 0, tzinfo=datetime.UTC), tick=False):
        response = client_for(new_york_rep).get(reverse("followups:my_checkins"))
    # then
    assert section_ids(response, "due_today") == [checkin.pk]
    assert section_ids(response, "overdue") == []


def test_the_overdue_section_shows_the_most_overdue_and_a_link_to_all_of_them_page_by_page(
    client_for, rep, delivery_lead, monkeypatch
):
    # given: seven overdue check-ins, a section of three and pages of two
    monkeypatch.setattr("followups.selectors.checkins.SECTION_LIMIT", 3)
    monkeypatch.setattr("followups.selectors.checkins.OVERDUE_PAGE_SIZE", 2)
    handoff = accepted_handoff(rep=rep, delivery_owner=delivery_lead)
    overdue = [
        CheckInFactory(handoff=handoff, cadence_days=0, due_on=TODAY - datetime.timedelta(days=days))
        for days in range(7, 0, -1)
    ]
    client = client_for(rep)
    # when
    response = client.get(reverse("followups:my_checkins"))
    pages = [client.get(reverse("followups:my_checkins"), {"show": "overdue", "page": n}) for n in (1, 2, 3, 4)]
    # then: the three most overdue, the total, and every one of them over the pages
    assert section_ids(response, "overdue") == [checkin.pk for checkin in overdue[:3]]
    assert response.context["sections"].overdue_count == 7
    page = response.content.decode()
    assert "The first 3 of 7." in page and "See all 7" in page
    listed = [checkin.pk for response in pages for checkin in response.context["overdue_page"].object_list]
    assert listed == [checkin.pk for checkin in overdue]
    assert "7 days overdue" in pages[0].content.decode()


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_all_overdue_checkins_run_the_same_number_of_queries_for_1_or_10_overdue(
    who, client_for, rep, manager, delivery_lead
):
    # given: five check-ins, one of them overdue (an empty page would skip its SELECT)
    client = client_for(rep if who == "rep" else manager)
    url = reverse("followups:my_checkins")
    make_checkins(rep, delivery_lead, 5)
    with CaptureQueriesContext(connection) as small:
        assert len(client.get(url, {"show": "overdue"}).context["overdue_page"].object_list) == 1
    make_checkins(rep, delivery_lead, 45)
    # when
    with CaptureQueriesContext(connection) as large:
        response = client.get(url, {"show": "overdue"})
    # then
    assert response.status_code == 200
    assert response.context["overdue_page"].paginator.count == 10
    assert len(large.captured_queries) == len(small.captured_queries)


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_my_checkins_runs_the_same_number_of_queries_for_3_or_30_checkins(
    who, client_for, rep, manager, other_rep, delivery_lead
):
    # given
    viewer = rep if who == "rep" else manager
    client = client_for(viewer)
    make_checkins(rep, delivery_lead, 3)
    with CaptureQueriesContext(connection) as small:
        assert client.get(reverse("followups:my_checkins")).status_code == 200
    make_checkins(rep, delivery_lead, 27)
    make_checkins(other_rep, delivery_lead, 10)
    # when
    with CaptureQueriesContext(connection) as large:
        response = client.get(reverse("followups:my_checkins"))
    # then
    assert response.status_code == 200
    assert len(section_ids(response, "upcoming")) > 3
    assert len(large.captured_queries) == len(small.captured_queries)


# --- logging ---------------------------------------------------------------------------


@pytest.fixture
def overdue_checkin(rep, delivery_lead):
    return CheckInFactory(
        handoff=accepted_handoff(rep=rep, delivery_owner=delivery_lead), due_on=TODAY - datetime.timedelta(days=3)
    )


def test_the_rep_logs_a_checkin_from_the_form(client_for, rep, overdue_checkin):
    # when
    response = client_for(rep).post(
        reverse("followups:checkin_log", args=[overdue_checkin.pk]),
        {"channel": "call", "sentiment": "happy", "notes": "Going well", "referral_asked": "on"},
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("followups:my_checkins")
    overdue_checkin.refresh_from_db()
    assert overdue_checkin.status == CheckInStatus.DONE
    assert overdue_checkin.referral_asked is True
    assert overdue_checkin.notes == "Going well"


def test_the_log_form_shows_field_errors_and_keeps_what_was_typed(client_for, rep, overdue_checkin):
    # when
    response = client_for(rep).post(
        reverse("followups:checkin_log", args=[overdue_checkin.pk]),
        {"channel": "email", "notes": "They want a call next week", "issues_raised": "Slow support"},
    )
    # then
    assert response.status_code == 200
    form = response.context["form"]
    assert "sentiment" in form.errors
    page = response.content.decode()
    assert "They want a call next week" in page
    assert "Slow support" in page
    overdue_checkin.refresh_from_db()
    assert overdue_checkin.status == CheckInStatus.SCHEDULED


def test_a_service_refusal_is_shown_on_the_form(client_for, rep, overdue_checkin):
    # when: a new deal without a referral or repeat business asked
    response = client_for(rep).post(
        reverse("followups:checkin_log", args=[overdue_checkin.pk]),
        {"channel": "call", "sentiment": "happy", "open_deal": "on", "new_deal_title": "Phase 2"},
    )
    # then
    assert response.status_code == 200
    assert "open_deal" in response.context["form"].errors
    assert 'value="Phase 2"' in response.content.decode()


def test_logging_twice_shows_that_it_was_already_logged(client_for, rep, overdue_checkin):
    # given
    client = client_for(rep)
    url = reverse("followups:checkin_log", args=[overdue_checkin.pk])
    client.post(url, {"channel": "call", "sentiment": "happy"})
    # when
    response = client.post(url, {"channel": "call", "sentiment": "at_risk"})
    # then
    assert response.status_code == 200
    assert "already logged" in response.content.decode()
    overdue_checkin.refresh_from_db()
    assert overdue_checkin.sentiment == "happy"


@pytest.mark.parametrize("url_name", ["followups:checkin_log", "followups:checkin_reschedule"])
def test_another_reps_checkin_is_not_found(client_for, other_rep, outsider_team_rep, overdue_checkin, url_name):
    # given
    url = reverse(url_name, args=[overdue_checkin.pk])
    # when / then
    for intruder in (other_rep, outsider_team_rep):
        client = client_for(intruder)
        assert client.get(url).status_code == 404
        assert client.post(url, {"channel": "call", "sentiment": "happy"}).status_code == 404
    overdue_checkin.refresh_from_db()
    assert overdue_checkin.status == CheckInStatus.SCHEDULED


def test_the_log_page_goes_back_where_it_came_from_on_this_site_only(client_for, rep, overdue_checkin):
    # given
    url = reverse("followups:checkin_log", args=[overdue_checkin.pk])
    client = client_for(rep)
    # when
    elsewhere = client.post(url, {"channel": "call", "sentiment": "happy", "next": "https://evil.example/"})
    # then
    assert elsewhere["Location"] == reverse("followups:my_checkins")


# --- rescheduling and adding -------------------------------------------------------------


def test_the_rep_reschedules_with_a_reason(client_for, rep, overdue_checkin):
    # when
    response = client_for(rep).post(
        reverse("followups:checkin_reschedule", args=[overdue_checkin.pk]),
        {"new_due_on": "2026-03-12", "reason": "Customer on holiday"},
    )
    # then
    assert response.status_code == 302
    overdue_checkin.refresh_from_db()
    assert overdue_checkin.due_on == datetime.date(2026, 3, 12)
    assert CheckInReschedule.objects.get(checkin=overdue_checkin).reason == "Customer on holiday"


def test_the_reschedule_form_refuses_a_past_date_and_keeps_the_reason(client_for, rep, overdue_checkin):
    # when
    response = client_for(rep).post(
        reverse("followups:checkin_reschedule", args=[overdue_checkin.pk]),
        {"new_due_on": "2026-03-01", "reason": "Typed carefully"},
    )
    # then
    assert response.status_code == 200
    assert "new_due_on" in response.context["form"].errors
    assert "Typed carefully" in response.content.decode()
    assert not CheckInReschedule.objects.exists()


def test_a_reschedule_without_a_reason_is_refused(client_for, rep, overdue_checkin):
    # when
    response = client_for(rep).post(
        reverse("followups:checkin_reschedule", args=[overdue_checkin.pk]), {"new_due_on": "2026-03-12", "reason": ""}
    )
    # then
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors


def test_there_is_no_way_to_delete_a_checkin(client_for, rep, overdue_checkin):
    # given
    client = client_for(rep)
    # when
    pages = [
        client.get(reverse(name, args=[overdue_checkin.pk]))
        for name in ("followups:checkin_log", "followups:checkin_reschedule")
    ]
    deletes = [
        client.delete(reverse(name, args=[overdue_checkin.pk]))
        for name in ("followups:checkin_log", "followups:checkin_reschedule")
    ]
    # then
    assert all(page.status_code == 200 and "Delete" not in page.content.decode() for page in pages)
    assert [response.status_code for response in deletes] == [405, 405]
    assert CheckIn.objects.filter(pk=overdue_checkin.pk).exists()


def test_the_rep_adds_an_extra_checkin(client_for, rep, other_rep, delivery_lead):
    # given
    handoff = accepted_handoff(rep=rep, delivery_owner=delivery_lead)
    url = reverse("followups:checkin_add", args=[handoff.pk])
    # when
    response = client_for(rep).post(url, {"due_on": "2026-03-20"})
    # then
    assert response.status_code == 302
    assert CheckIn.objects.get(handoff=handoff, cadence_days=0).due_on == datetime.date(2026, 3, 20)
    assert client_for(other_rep).get(url).status_code == 404


# --- the account panel ------------------------------------------------------------------


def test_the_account_panel_lists_the_accounts_checkins_in_one_query(rep, other_rep, delivery_lead, rf):
    # given
    checkins = make_checkins(rep, delivery_lead, 6)
    account = checkins[0].account
    make_checkins(other_rep, delivery_lead, 2)  # another account's: not shown
    request = rf.get("/accounts/1/")
    request.user = rep
    template = Template('{% include "followups/checkins/_account_panel.html" %}')
    # when
    with CaptureQueriesContext(connection) as queries:
        html = template.render(Context({"account": account, "user": rep, "request": request}))
    # then
    assert len(queries.captured_queries) == 1
    for checkin in checkins:
        assert f'data-testid="account-checkin-{checkin.pk}"' in html
    assert html.count('data-testid="account-checkin-') == 6
    assert reverse("followups:checkin_log", args=[checkins[1].pk]) in html
    # The done ones show the customer's sentiment.
    assert "Happy" in html


def test_the_account_panel_hides_the_buttons_from_who_may_not_log(other_rep, rep, delivery_lead, rf):
    # given
    checkins = make_checkins(rep, delivery_lead, 2)
    request = rf.get("/accounts/1/")
    template = Template('{% include "followups/checkins/_account_panel.html" %}')
    # when
    html = template.render(Context({"account": checkins[0].account, "user": other_rep, "request": request}))
    # then
    assert f'data-testid="account-checkin-{checkins[1].pk}"' in html
    assert reverse("followups:checkin_log", args=[checkins[1].pk]) not in html


# --- the profile's calendar feed -------------------------------------------------------------


def test_the_profile_shows_the_feed_address_and_rotating_changes_it(client_for, rep):
    # given
    client = client_for(rep)
    old_url = reverse("followups:calendar_feed", args=[rep.feed_token])
    # when
    before = client.get(reverse("accounts:profile"))
    rotated = client.post(reverse("followups:calendar_feed_rotate"))
    after = client.get(reverse("accounts:profile"))
    # then
    assert old_url in before.content.decode()
    assert rotated.status_code == 302
    rep.refresh_from_db()
    assert old_url not in after.content.decode()
    assert reverse("followups:calendar_feed", args=[rep.feed_token]) in after.content.decode()


def test_rotating_needs_a_post(client_for, rep):
    # given
    token = rep.feed_token
    # when
    response = client_for(rep).get(reverse("followups:calendar_feed_rotate"))
    # then
    assert response.status_code == 405
    rep.refresh_from_db()
    assert rep.feed_token == token
