"""A deal's next step set or moved in place (issue 16): the service deal_next_step_set and
the page /deals/<pk>/next-step/, with htmx (the component swapped in place) and without
(the form page, then 303 back to where the user was)."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from accounts.choices import EventVerb
from accounts.common.edits import StaleEditError
from accounts.models import TimelineEvent
from handoffs import signals
from handoffs.choices import Stage
from handoffs.models import Deal
from handoffs.services.deals import deal_next_step_set, deal_update
from tests.factories import DealFactory

# Noon UTC: the rep's date and the server's are the same day in every zone the tests use.
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(datetime.datetime(2025, 3, 10, 12, tzinfo=datetime.UTC))]

TODAY = datetime.date(2025, 3, 10)
NEXT_WEEK = TODAY + datetime.timedelta(days=7)
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/my-day/"}


def next_step_events(deal):
    return list(
        TimelineEvent.objects.filter(subject_id=deal.pk, verb=EventVerb.NEXT_STEP_SET).values_list("message", flat=True)
    )


def url_of(deal, **query):
    url = reverse("handoffs:deal_next_step", args=[deal.pk])
    if query:
        url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return url


def posted(deal, **fields):
    data = {"next_step": "Call the CFO", "next_step_due": NEXT_WEEK.isoformat(), "version": str(deal.version)}
    data.update(fields)
    return data


# --- the service ----------------------------------------------------------------------


def test_setting_the_next_step_saves_it_and_records_a_timeline_event(rep):
    # given
    deal = DealFactory(owner=rep, next_step="Send the proposal", next_step_due=TODAY + datetime.timedelta(days=1))
    # when
    deal_next_step_set(actor=rep, deal=deal, next_step="  Call the CFO  ", next_step_due=NEXT_WEEK, expected_version=1)
    # then
    deal.refresh_from_db()
    assert (deal.next_step, deal.next_step_due, deal.version) == ("Call the CFO", NEXT_WEEK, 2)
    assert next_step_events(deal) == ["Next step: Call the CFO (due 17 Mar 2025)."]


def test_moving_an_overdue_next_step_tells_the_reminders_it_is_resolved(
    rep, django_capture_on_commit_callbacks, resolved_overdue_items
):
    # given: a deal whose next step was due three days ago
    deal = DealFactory(owner=rep, next_step_due=TODAY - datetime.timedelta(days=3))
    # when
    with django_capture_on_commit_callbacks(execute=True):
        deal_next_step_set(actor=rep, deal=deal, next_step="Chase", next_step_due=NEXT_WEEK, expected_version=1)
    # then: as deal_update does
    assert resolved_overdue_items == [(signals.ITEM_KIND_NEXT_STEP_OVERDUE, deal.pk)]


def test_a_next_step_in_the_past_is_refused_on_its_date_and_nothing_is_written(rep):
    deal = DealFactory(owner=rep, next_step="Send the proposal")
    with pytest.raises(ValidationError) as refused:
        deal_next_step_set(
            actor=rep, deal=deal, next_step="Late", next_step_due=TODAY - datetime.timedelta(days=1), expected_version=1
        )
    assert "next_step_due" in refused.value.message_dict
    deal.refresh_from_db()
    assert (deal.next_step, deal.version) == ("Send the proposal", 1)
    assert next_step_events(deal) == []


def test_an_empty_next_step_is_refused(rep):
    deal = DealFactory(owner=rep)
    with pytest.raises(ValidationError) as refused:
        deal_next_step_set(actor=rep, deal=deal, next_step="   ", next_step_due=NEXT_WEEK, expected_version=1)
    assert "next_step" in refused.value.message_dict


def test_a_next_step_set_from_a_stale_version_is_refused(rep):
    # given: someone saved the deal since version 1 was read
    deal = DealFactory(owner=rep)
    deal_update(actor=rep, deal=deal, expected_version=1, title="Renamed")
    # when / then
    with pytest.raises(StaleEditError):
        deal_next_step_set(actor=rep, deal=deal, next_step="Mine", next_step_due=NEXT_WEEK, expected_version=1)
    deal.refresh_from_db()
    assert (deal.title, deal.next_step, deal.version) == ("Renamed", "Send the proposal", 2)


def test_a_closed_deal_has_no_next_step_to_set(rep):
    deal = DealFactory(owner=rep, stage=Stage.LOST, closed_on=TODAY, next_step="", next_step_due=None)
    with pytest.raises(ValidationError, match="closed"):
        deal_next_step_set(actor=rep, deal=deal, next_step="Try again", next_step_due=NEXT_WEEK, expected_version=1)
    deal.refresh_from_db()
    assert (deal.next_step, deal.version) == ("", 1)


def test_a_teammate_may_not_set_a_reps_next_step(rep, other_rep):
    deal = DealFactory(owner=rep)
    with pytest.raises(PermissionDenied):
        deal_next_step_set(actor=other_rep, deal=deal, next_step="Mine", next_step_due=NEXT_WEEK, expected_version=1)


# --- the page, with and without htmx ----------------------------------------------------


def test_with_htmx_the_edit_link_fetches_the_form_in_place(client_for, rep):
    deal = DealFactory(owner=rep, next_step="Send the proposal")
    response = client_for(rep).get(url_of(deal, variant="line"), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert f'data-testid="next-step-{deal.pk}"' in html
    assert f'data-testid="next-step-save-{deal.pk}"' in html
    assert 'name="next_step_due"' in html and 'type="date"' in html
    assert 'value="Send the proposal"' in html
    # the form returns the user to the page the browser shows, without JavaScript too
    assert 'name="next" value="/my-day/"' in html


def test_with_htmx_a_save_answers_the_component_with_the_new_next_step(client_for, rep):
    # given
    deal = DealFactory(owner=rep)
    # when
    response = client_for(rep).post(url_of(deal), posted(deal, variant="line"), **HTMX)
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert "Call the CFO" in html
    assert f'data-testid="next-step-edit-{deal.pk}"' in html
    assert "Next step saved." in html
    deal.refresh_from_db()
    assert (deal.next_step, deal.next_step_due) == ("Call the CFO", NEXT_WEEK)


def test_with_htmx_a_card_save_rerenders_the_board_with_the_cards_new_version(client_for, rep):
    deal = DealFactory(owner=rep)
    response = client_for(rep).post(url_of(deal), posted(deal, variant="card", scope="mine"), **HTMX)
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#board"
    html = response.content.decode()
    assert 'id="board"' in html
    assert f'data-testid="card-{deal.pk}"' in html
    assert "Call the CFO" in html
    assert 'data-version="2"' in html


def test_with_htmx_a_past_date_shows_the_error_in_place_and_keeps_what_was_typed(client_for, rep):
    # given
    deal = DealFactory(owner=rep, next_step="Send the proposal")
    yesterday = (TODAY - datetime.timedelta(days=1)).isoformat()
    # when
    response = client_for(rep).post(
        url_of(deal), posted(deal, next_step="Call them back", next_step_due=yesterday, variant="line"), **HTMX
    )
    # then: 200 so that htmx swaps it in; the field's error, and the input as typed
    assert response.status_code == 200
    html = response.content.decode()
    assert "cannot be due in the past" in html
    assert 'value="Call them back"' in html
    assert f'value="{yesterday}"' in html
    assert 'aria-invalid="true"' in html
    deal.refresh_from_db()
    assert (deal.next_step, deal.version) == ("Send the proposal", 1)


def test_a_stale_save_says_so_shows_theirs_and_keeps_mine(client_for, rep, manager):
    # given: the rep opened the form at version 1; their manager moved the next step since
    deal = DealFactory(owner=rep)
    deal_update(actor=manager, deal=deal, expected_version=1, next_step="Manager's call", next_step_due=NEXT_WEEK)
    # when
    response = client_for(rep).post(url_of(deal), posted(deal, next_step="My call", version="1"), **HTMX)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "Someone else saved this deal meanwhile" in html
    assert "Manager&#x27;s call" in html or "Manager's call" in html
    assert 'value="My call"' in html
    assert 'name="version" value="2"' in html  # saving again is a choice, made knowing theirs
    deal.refresh_from_db()
    assert deal.next_step == "Manager's call"


def test_without_htmx_the_edit_link_opens_the_form_page(client_for, rep):
    deal = DealFactory(owner=rep)
    response = client_for(rep).get(url_of(deal, next="/pipeline/"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html
    assert 'name="next" value="/pipeline/"' in html
    assert "hx-post" not in html.split(f'data-testid="next-step-{deal.pk}"')[1].split("</form>")[0]


def test_without_htmx_a_save_redirects_303_to_the_page_the_user_came_from(client_for, rep):
    deal = DealFactory(owner=rep)
    client = client_for(rep)
    response = client.post(url_of(deal), posted(deal, next="/pipeline/?scope=mine"))
    assert response.status_code == 303
    assert response["Location"] == "/pipeline/?scope=mine"
    page = client.get(response["Location"])
    assert "Next step saved: Call the CFO" in page.content.decode()


@pytest.mark.parametrize("unsafe", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_a_next_that_leaves_the_site_is_ignored_for_the_deal_page(client_for, rep, unsafe):
    deal = DealFactory(owner=rep)
    response = client_for(rep).post(url_of(deal), posted(deal, next=unsafe))
    assert response.status_code == 303
    assert response["Location"] == reverse("handoffs:deal_detail", args=[deal.pk])


def test_without_htmx_a_past_date_shows_the_form_page_again_with_what_was_typed(client_for, rep):
    deal = DealFactory(owner=rep)
    yesterday = (TODAY - datetime.timedelta(days=1)).isoformat()
    response = client_for(rep).post(url_of(deal), posted(deal, next_step="Typed", next_step_due=yesterday))
    assert response.status_code == 200
    html = response.content.decode()
    assert "cannot be due in the past" in html and 'value="Typed"' in html and "<html" in html


def test_a_teammate_gets_403_another_teams_rep_404(client_for, rep, other_rep, outsider_team_rep):
    deal = DealFactory(owner=rep)
    assert client_for(other_rep).get(url_of(deal)).status_code == 403
    assert client_for(other_rep).post(url_of(deal), posted(deal)).status_code == 403
    assert client_for(outsider_team_rep).post(url_of(deal), posted(deal)).status_code == 404
    deal.refresh_from_db()
    assert deal.version == 1


def test_the_team_manager_may_move_a_reps_next_step(client_for, rep, manager):
    deal = DealFactory(owner=rep)
    response = client_for(manager).post(url_of(deal), posted(deal))
    assert response.status_code == 303
    deal.refresh_from_db()
    assert deal.next_step == "Call the CFO"


def test_a_closed_deals_next_step_page_sends_the_user_back(client_for, rep):
    deal = DealFactory(owner=rep, stage=Stage.LOST, closed_on=TODAY, next_step="", next_step_due=None)
    response = client_for(rep).get(url_of(deal))
    assert response.status_code == 302
    assert response["Location"] == reverse("handoffs:deal_detail", args=[deal.pk])


# --- the pages that show the component ------------------------------------------------


def test_the_deal_page_my_day_and_the_board_offer_the_edit_to_whoever_may_change_the_deal(client_for, rep, other_rep):
    deal = DealFactory(owner=rep, next_step_due=TODAY)
    edit = f'data-testid="next-step-edit-{deal.pk}"'
    for url in (reverse("handoffs:deal_detail", args=[deal.pk]), reverse("handoffs:my_day"), reverse("handoffs:board")):
        html = client_for(rep).get(url).content.decode()
        assert edit in html, url
        assert f'href="{url_of(deal)}?next=' in html, url
    # a teammate reads the deal page but gets no edit control
    html = client_for(other_rep).get(reverse("handoffs:deal_detail", args=[deal.pk])).content.decode()
    assert f'data-testid="next-step-{deal.pk}"' in html and edit not in html


def test_my_day_no_longer_lists_a_next_step_moved_from_overdue_to_next_week(client_for, rep):
    # given
    deal = DealFactory(owner=rep, title="Slipping")
    Deal.objects.filter(pk=deal.pk).update(next_step_due=TODAY - datetime.timedelta(days=2))
    client = client_for(rep)
    assert [item.pk for item in client.get(reverse("handoffs:my_day")).context["day"].overdue] == [deal.pk]
    # when
    client.post(url_of(deal), posted(deal, variant="line"), **HTMX)
    # then
    assert client.get(reverse("handoffs:my_day")).context["day"].overdue == []
