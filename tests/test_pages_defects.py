"""Issue 9, "seen on the pages": template source leaking into pages, icons read as part
of link names, the form error summary, the meeting form's time zone, the favicon and
the timeline's older events."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.choices import EventVerb
from accounts.models import OrganisationSettings, TimelineEvent
from handoffs.models import Deal
from tests.factories import AccountFactory, DealFactory
from tests.handoffs.handoff_builders import accepted_handoff, won_handoff

pytestmark = pytest.mark.django_db

TEMPLATE_SOURCE = ("{#", "#}", "{%", "{{")
ICON_TAG = re.compile(r"<i\b[^>]*\bclass=\"bi\b[^>]*>")


def template_source_in(html: str) -> list[str]:
    """The Django template syntax a rendered page shows as text (a broken comment or tag)."""
    return [marker for marker in TEMPLATE_SOURCE if marker in html]


def icons_read_aloud(html: str) -> list[str]:
    """The bootstrap-icons glyphs a screen reader would read as part of a name."""
    return [tag for tag in ICON_TAG.findall(html) if 'aria-hidden="true"' not in tag]


def add_deal_events(deal: Deal, count: int) -> list[TimelineEvent]:
    """`count` events on the deal, one a minute, with a run of equal timestamps in the
    middle (the page boundary must neither skip nor repeat events that tie)."""
    deal_type = ContentType.objects.get_for_model(Deal)
    events = TimelineEvent.objects.bulk_create(
        TimelineEvent(
            account_id=deal.account_id,
            subject_type=deal_type,
            subject_id=deal.pk,
            verb=EventVerb.DEAL_UPDATED,
            message=f"Event number {number}.",
        )
        for number in range(count)
    )
    start = timezone.now() - datetime.timedelta(days=1)
    for number, event in enumerate(events):
        minute = number if not 95 <= number <= 110 else 95  # 16 events at the same moment
        TimelineEvent.objects.filter(pk=event.pk).update(created_at=start + datetime.timedelta(minutes=minute))
    return events


def timeline_pages(client, url: str) -> tuple[list[int], list[int]]:
    """The event numbers shown on each page of the timeline, following "Older events"."""
    pages, seen_queries = [], []
    while url:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200
        seen_queries.append(len(captured))
        html = response.content.decode()
        pages.append([int(n) for n in re.findall(r"Event number (\d+)\.", html)])
        older = re.search(r'href="([^"]*timeline_before=\d+[^"]*)"[^>]*>[^<]*Older events', html)
        url = older.group(1).replace("&amp;", "&") if older else ""
        if url.startswith("?"):
            url = response.request["PATH_INFO"] + url
    return pages, seen_queries


# --- template source ---------------------------------------------------------------


def test_the_deal_page_shows_no_template_source(client_for, rep):
    # given: a deal with events (the timeline partial is where a comment leaked)
    deal = DealFactory(owner=rep)
    add_deal_events(deal, 3)
    # when
    html = client_for(rep).get(reverse("handoffs:deal_detail", args=[deal.pk])).content.decode()
    # then
    assert "Event number 2." in html
    assert template_source_in(html) == []


def test_no_template_has_a_multi_line_hash_comment():
    # Django's {# #} ends at the line's end: a longer comment is printed as text.
    from django.conf import settings

    offenders = []
    for folder in settings.TEMPLATES[0]["DIRS"]:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in {".html", ".txt"}:
                for number, line in enumerate(path.read_text().splitlines(), start=1):
                    if line.count("{#") != line.count("#}"):
                        offenders.append(f"{path.relative_to(folder)}:{number}")
    assert offenders == []


# --- icons -------------------------------------------------------------------------


@pytest.mark.parametrize("url_name", ["handoffs:my_day", "handoffs:deal_list", "handoffs:board"])
def test_icons_are_hidden_from_screen_readers_on_the_reps_pages(client_for, rep, url_name):
    # given: a deal, so that the cards and tables with icons are drawn
    DealFactory(owner=rep, next_step_due=timezone.localdate() - datetime.timedelta(days=1))
    # when
    html = client_for(rep).get(reverse(url_name)).content.decode()
    # then: the navigation (and the page) has icons, each of them hidden
    assert ICON_TAG.search(html)
    assert icons_read_aloud(html) == []


def test_icons_are_hidden_on_the_deal_account_and_hand_off_pages(client_for, rep, manager, delivery_lead):
    # given
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    client = client_for(rep)
    urls = [
        reverse("handoffs:deal_detail", args=[handoff.deal_id]),
        reverse("handoffs:account_detail", args=[handoff.deal.account_id]),
        reverse("handoffs:handoff_detail", args=[handoff.pk]),
        reverse("handoffs:handoff_list"),
    ]
    for url in urls:
        # when
        html = client.get(url).content.decode()
        # then
        assert icons_read_aloud(html) == [], url


def test_a_meaningful_icon_keeps_its_meaning_in_text(client_for, rep, manager, delivery_lead):
    # given: a sorted column, whose caret says which way it is sorted
    DealFactory(owner=rep)
    # when
    html = client_for(rep).get(reverse("handoffs:deal_list") + "?o=amount").content.decode()
    # then
    assert icons_read_aloud(html) == []
    assert re.search(r'<span class="visually-hidden">\s*\(sorted (ascending|descending)\)\s*</span>', html)


# --- error summary -----------------------------------------------------------------


def deal_form_data(account, **overrides) -> dict:
    data = {
        "title": "Typed title",
        "account": account.pk,
        "amount": "12000",
        "currency": "EUR",
        "stage": "qualify",
        "lead_source": "referral",
        "context_origin": "Referred by a customer",
        "next_step": "Discovery call",
        "next_step_due": (timezone.localdate() + datetime.timedelta(days=1)).isoformat(),
    }
    data.update(overrides)
    return data


def test_a_failed_deal_form_has_an_error_summary_at_the_top_linking_to_the_field(client_for, rep):
    # given
    account = AccountFactory(owner=rep)
    # when: the next step is missing (a field near the bottom of the form)
    response = client_for(rep).post(reverse("handoffs:deal_create"), deal_form_data(account, next_step=""))
    # then: a summary opens the form and links to the field in error
    html = response.content.decode()
    assert response.status_code == 200
    summary = re.search(r'<div[^>]*data-testid="error-summary".*?</div>', html, re.DOTALL)
    assert summary, "no error summary"
    assert html.index('data-testid="error-summary"') < html.index('name="title"')
    assert 'href="#id_next_step"' in summary.group(0)
    assert "This field is required" in summary.group(0)
    # and what was typed stays, and the page loads the script that moves focus
    assert 'value="Typed title"' in html
    assert "js/baton.js" in html  # form errors are a section of baton.js


def test_a_form_error_without_a_field_is_in_the_summary_once(client_for, rep):
    # given: a deal edited by someone else since the form was opened
    deal = DealFactory(owner=rep, title="Original")
    Deal.objects.filter(pk=deal.pk).update(version=2)
    data = deal_form_data(deal.account, version=1)
    # when
    html = client_for(rep).post(reverse("handoffs:deal_edit", args=[deal.pk]), data).content.decode()
    # then
    assert 'data-testid="error-summary"' in html
    assert html.count("changed by someone else") == 1


def test_a_valid_form_page_has_no_error_summary(client_for, rep):
    html = client_for(rep).get(reverse("handoffs:deal_create")).content.decode()
    assert 'data-testid="error-summary"' not in html


def test_the_playbook_form_summarises_its_step_errors(client_for, admin_user):
    # given: a step with a title but an impossible due offset
    data = {
        "name": "Enterprise",
        "segment": "",
        "checkin_cadence": "30,60,90",
        "version": "",
        "steps-TOTAL_FORMS": "1",
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
        "steps-0-ORDER": "1",
        "steps-0-title": "Kick-off",
        "steps-0-owner_role": "delivery",
        "steps-0-due_offset_days": "999",
    }
    # when
    response = client_for(admin_user).post(reverse("handoffs:playbook_create"), data)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="error-summary"' in html
    assert 'href="#id_steps-0-due_offset_days"' in html
    assert 'id="id_steps-0-due_offset_days"' in html


# --- meeting time zone -------------------------------------------------------------


def test_the_meeting_form_names_the_time_zone_it_reads_times_in(client_for, rep, manager, delivery_lead):
    # given: a delivery owner in Paris
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    delivery_lead.timezone = "Europe/Paris"
    delivery_lead.save(update_fields=["timezone"])
    # when
    html = client_for(delivery_lead).get(reverse("handoffs:meeting_schedule", args=[handoff.pk])).content.decode()
    # then
    assert "Times are in Europe/Paris (your time zone)." in html


# --- favicon -----------------------------------------------------------------------


def test_favicon_ico_leads_to_the_icon_and_every_page_links_it(client_for, rep):
    # when
    response = client_for(rep).get("/favicon.ico")
    # then
    assert response.status_code in (301, 302)
    assert response["Location"].endswith("favicon.svg")
    assert finders.find("img/favicon.svg")
    html = client_for(rep).get(reverse("handoffs:my_day")).content.decode()
    assert re.search(r'<link rel="icon" href="[^"]*img/favicon\.svg" type="image/svg\+xml">', html)


def test_favicon_ico_needs_no_login(client):
    assert client.get("/favicon.ico")["Location"].endswith("favicon.svg")


# --- timeline pages ----------------------------------------------------------------


def test_the_deal_timeline_pages_through_older_events_in_a_constant_number_of_queries(client_for, rep):
    # given: 250 events (three pages of 100); the organisation's row exists (the packet reads its gate)
    OrganisationSettings.load()
    deal = DealFactory(owner=rep)
    add_deal_events(deal, 250)
    # when
    pages, queries = timeline_pages(client_for(rep), reverse("handoffs:deal_detail", args=[deal.pk]))
    # then: newest first, each event once, none skipped at the ties
    assert [len(page) for page in pages] == [100, 100, 50]
    shown = [number for page in pages for number in page]
    assert sorted(shown) == list(range(250))
    assert shown[:3] == [249, 248, 247]
    assert len(set(queries)) == 1, queries


def test_the_hand_off_and_account_timelines_have_older_events_too(client_for, rep):
    # given
    handoff = won_handoff(rep=rep)
    add_deal_events(handoff.deal, 120)
    client = client_for(rep)
    for url in (
        reverse("handoffs:handoff_detail", args=[handoff.pk]),
        reverse("handoffs:account_detail", args=[handoff.deal.account_id]),
    ):
        # when
        pages, queries = timeline_pages(client, url)
        # then
        assert len(pages) == 2, url
        assert sorted(n for page in pages for n in page) == list(range(120)), url
        assert len(set(queries)) == 1, (url, queries)


def test_a_short_timeline_has_no_older_events_link(client_for, rep):
    deal = DealFactory(owner=rep)
    add_deal_events(deal, 5)
    html = client_for(rep).get(reverse("handoffs:deal_detail", args=[deal.pk])).content.decode()
    assert "Older events" not in html
    assert "Event number 0." in html


@pytest.mark.parametrize("cursor", ["abc", "-3", "0", "99999999999999999999999999"])
def test_a_nonsense_timeline_cursor_shows_the_newest_events(client_for, rep, cursor):
    deal = DealFactory(owner=rep)
    add_deal_events(deal, 5)
    response = client_for(rep).get(reverse("handoffs:deal_detail", args=[deal.pk]) + f"?timeline_before={cursor}")
    assert response.status_code == 200
    assert "Event number 4." in response.content.decode()
