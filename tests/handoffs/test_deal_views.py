import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import OrganisationSettings
from handoffs.choices import Stage
from handoffs.models import Deal, DealContact, Handoff, Promise
from tests.factories import AccountFactory, ContactFactory, DealContactFactory, DealFactory, give_full_packet

pytestmark = pytest.mark.django_db


def queries_of(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def deals_for(rep, count):
    for number in range(count):
        deal = DealFactory(owner=rep, stage=[Stage.QUALIFY, Stage.PROPOSE, Stage.NEGOTIATE][number % 3])
        DealContactFactory(deal=deal)
        ContactFactory(account=deal.account)


@pytest.mark.parametrize("url_name", ["handoffs:my_day", "handoffs:board", "handoffs:deal_list"])
def test_pipeline_pages_run_the_same_number_of_queries_for_3_or_30_deals(client_for, rep, url_name):
    # given
    OrganisationSettings.load()  # created once, on first use, outside the measured requests
    client = client_for(rep)
    deals_for(rep, 3)
    small = queries_of(client, reverse(url_name))
    # when
    deals_for(rep, 27)
    large = queries_of(client, reverse(url_name))
    # then
    assert small == large


def test_my_day_shows_overdue_next_steps_closing_deals_and_single_threaded_late_deals(client_for, rep):
    # given
    today = timezone.localdate(timezone=rep.tzinfo)
    overdue = DealFactory(owner=rep, title="Overdue one")
    Deal.objects.filter(pk=overdue.pk).update(next_step_due=today - datetime.timedelta(days=2))
    DealFactory(owner=rep, title="Closing soon", expected_close_date=today)
    lonely = DealFactory(owner=rep, title="Lonely negotiation", stage=Stage.NEGOTIATE)
    DealContactFactory(deal=lonely)
    well_connected = DealFactory(owner=rep, title="Well connected", stage=Stage.NEGOTIATE)
    DealContactFactory(deal=well_connected)
    DealContactFactory(deal=well_connected)
    # when
    response = client_for(rep).get(reverse("handoffs:my_day"))
    # then
    day = response.context["day"]
    assert [deal.title for deal in day.overdue] == ["Overdue one"]
    assert "Closing soon" in [deal.title for deal in day.closing_this_month]
    assert [deal.title for deal in day.single_threaded] == ["Lonely negotiation"]


def squeezed(html: str) -> str:
    """HTML with its runs of whitespace made one space, and none between tags."""
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html)).strip()


def test_my_day_s_next_steps_read_as_the_component_renders_a_line(client_for, rep):
    # given: an overdue next step with characters to escape, and one due today
    today = timezone.localdate(timezone=rep.tzinfo)
    overdue = DealFactory(owner=rep, title="Overdue one", next_step='Send the <revised> "quote" & terms')
    Deal.objects.filter(pk=overdue.pk).update(next_step_due=today - datetime.timedelta(days=2))
    due_today = DealFactory(owner=rep, title="Due today")
    Deal.objects.filter(pk=due_today.pk).update(next_step_due=today)
    # when
    client = client_for(rep)
    body = squeezed(client.get(reverse("handoffs:my_day")).content.decode())
    # then: each line is what the component (swapped in after an edit) renders there
    request = RequestFactory().get(reverse("handoffs:my_day"))
    request.user = rep
    day = client.get(reverse("handoffs:my_day")).context["day"]
    for deal, late in ((day.overdue[0], True), (day.due_today[0], False)):
        component = render_to_string(
            "handoffs/deals/_next_step.html", {"deal": deal, "variant": "line", "late": late}, request=request
        )
        assert squeezed(component) in body
    assert f'data-testid="next-step-edit-{overdue.pk}"' in body
    assert "Send the &lt;revised&gt; &quot;quote&quot; &amp; terms — due" in body


def test_a_reps_home_page_is_my_day(client_for, rep):
    response = client_for(rep).get("/")
    assert response["Location"] == reverse("handoffs:my_day")


def test_the_deal_list_searches_by_contact_name_and_filters_overdue(client_for, rep):
    # given
    found = DealFactory(owner=rep, title="Found")
    DealContactFactory(
        deal=found, contact=ContactFactory(account=found.account, first_name="Imogen", last_name="Quill")
    )
    DealFactory(owner=rep, title="Other")
    late = DealFactory(owner=rep, title="Late")
    Deal.objects.filter(pk=late.pk).update(
        next_step_due=timezone.localdate(timezone=rep.tzinfo) - datetime.timedelta(days=1)
    )
    client = client_for(rep)
    # when
    by_contact = client.get(reverse("handoffs:deal_list"), {"q": "imogen quill"})
    overdue = client.get(reverse("handoffs:deal_list"), {"overdue": "on"})
    # then
    assert [deal.title for deal in by_contact.context["page_obj"]] == ["Found"]
    assert [deal.title for deal in overdue.context["page_obj"]] == ["Late"]


def test_the_deal_list_pages_by_25_and_sorts_by_amount(client_for, rep):
    for number in range(30):
        DealFactory(owner=rep, amount=Decimal(number))
    response = client_for(rep).get(reverse("handoffs:deal_list"), {"o": "-amount", "page": 1})
    page = response.context["page_obj"]
    assert len(page.object_list) == 25
    assert page.paginator.num_pages == 2
    assert page.object_list[0].amount == Decimal(29)


def deal_form_data(account, **overrides):
    data = {
        "title": "New platform",
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


def test_a_rep_opens_a_deal_from_the_form(client_for, rep):
    account = AccountFactory(owner=rep)
    response = client_for(rep).post(reverse("handoffs:deal_create"), deal_form_data(account))
    deal = Deal.objects.get()
    assert response["Location"] == reverse("handoffs:deal_detail", args=[deal.pk])
    assert (deal.owner, deal.context_origin) == (rep, "Referred by a customer")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"amount": "-5"}, "cannot be negative"),
        ({"amount": "1000000000000"}, "not plausible"),
        ({"currency": "XYZ"}, "Select a valid choice"),
        ({"next_step_due": "2000-01-01"}, "cannot be due in the past"),
        ({"next_step": ""}, "This field is required"),
    ],
)
def test_the_deal_form_shows_errors_keeps_what_was_typed_and_saves_nothing(client_for, rep, overrides, message):
    account = AccountFactory(owner=rep)
    response = client_for(rep).post(
        reverse("handoffs:deal_create"), deal_form_data(account, title="Typed title", **overrides)
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert 'value="Typed title"' in response.content.decode()
    assert not Deal.objects.exists()


def test_a_stale_deal_edit_is_refused_with_a_message_and_keeps_what_was_typed(client_for, rep):
    # given: the deal was saved by someone else after the form was opened (version 1)
    deal = DealFactory(owner=rep, title="Original")
    Deal.objects.filter(pk=deal.pk).update(version=2, title="Their change")
    data = deal_form_data(deal.account, title="My change", version=1)
    # when
    response = client_for(rep).post(reverse("handoffs:deal_edit", args=[deal.pk]), data)
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert "changed by someone else" in body
    assert 'value="My change"' in body
    deal.refresh_from_db()
    assert deal.title == "Their change"


def test_moving_a_deal_on_the_board_with_htmx_re_renders_the_board(client_for, rep):
    deal = DealFactory(owner=rep, stage=Stage.DISCOVER)
    response = client_for(rep).post(
        reverse("handoffs:deal_stage", args=[deal.pk]),
        {"stage": "propose", "version": deal.version, "scope": "mine"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert 'id="board"' in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage == Stage.PROPOSE


def test_dropping_a_deal_on_won_sends_the_rep_to_the_close_form_without_closing_it(client_for, rep):
    deal = DealFactory(owner=rep, stage=Stage.NEGOTIATE)
    response = client_for(rep).post(
        reverse("handoffs:deal_stage", args=[deal.pk]), {"stage": "won", "version": 1}, HTTP_HX_REQUEST="true"
    )
    assert response["HX-Redirect"] == reverse("handoffs:deal_close", args=[deal.pk]) + "?outcome=won"
    deal.refresh_from_db()
    assert deal.stage == Stage.NEGOTIATE


def test_a_stale_board_move_answers_409_and_moves_nothing(client_for, rep):
    deal = DealFactory(owner=rep, stage=Stage.DISCOVER)
    Deal.objects.filter(pk=deal.pk).update(version=5)
    response = client_for(rep).post(
        reverse("handoffs:deal_stage", args=[deal.pk]), {"stage": "propose", "version": 1}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage == Stage.DISCOVER


def test_logging_a_won_close_from_the_form_starts_the_hand_off(client_for, rep):
    deal = give_full_packet(DealFactory(owner=rep, stage=Stage.NEGOTIATE))
    response = client_for(rep).post(
        reverse("handoffs:deal_close", args=[deal.pk]),
        {
            "outcome": "won",
            "closed_on": timezone.localdate(timezone=rep.tzinfo).isoformat(),
            "final_amount": "30000",
            "reason": "Strong champion",
            "version": 1,
        },
    )
    assert response["Location"] == reverse("handoffs:deal_detail", args=[deal.pk])
    assert Handoff.objects.filter(deal=deal).exists()
    page = client_for(rep).get(reverse("handoffs:deal_detail", args=[deal.pk])).content.decode()
    assert "Awaiting owner" in page


def test_a_lost_close_without_a_reason_from_the_list_is_refused(client_for, rep):
    deal = DealFactory(owner=rep, stage=Stage.NEGOTIATE)
    response = client_for(rep).post(
        reverse("handoffs:deal_close", args=[deal.pk]),
        {
            "outcome": "lost",
            "closed_on": timezone.localdate(timezone=rep.tzinfo).isoformat(),
            "final_amount": "0",
            "reason": "They went quiet",
            "version": 1,
        },
    )
    assert response.status_code == 200
    assert "Choose why the deal was lost." in response.content.decode()
    assert "They went quiet" in response.content.decode()
    deal.refresh_from_db()
    assert deal.is_open


def test_a_contact_of_another_account_cannot_be_put_on_a_deal_by_a_crafted_post(client_for, rep):
    deal = DealFactory(owner=rep)
    stranger = ContactFactory(account=AccountFactory(owner=rep))
    response = client_for(rep).post(
        reverse("handoffs:deal_contact_add", args=[deal.pk]), {"contact": stranger.pk, "role": "champion"}
    )
    assert response.status_code == 200
    assert "Choose a contact of this deal" in response.content.decode()
    assert not DealContact.objects.exists()


def test_a_rep_adds_a_promise_and_a_contact_from_the_deal_page(client_for, rep):
    deal = DealFactory(owner=rep)
    contact = ContactFactory(account=deal.account)
    client = client_for(rep)
    client.post(reverse("handoffs:promise_add", args=[deal.pk]), {"description": "SSO included"})
    client.post(reverse("handoffs:deal_contact_add", args=[deal.pk]), {"contact": contact.pk, "role": "finance"})
    page = client.get(reverse("handoffs:deal_detail", args=[deal.pk])).content.decode()
    assert Promise.objects.get(deal=deal).description == "SSO included"
    assert DealContact.objects.get(deal=deal).contact == contact
    assert "SSO included" in page
    assert "Finance" in page


def test_the_deal_page_runs_the_same_number_of_queries_with_more_contacts_and_promises(client_for, rep):
    OrganisationSettings.load()  # the organisation's row exists (the packet reads its gate), as in use
    deal = DealFactory(owner=rep)
    client = client_for(rep)
    url = reverse("handoffs:deal_detail", args=[deal.pk])
    DealContactFactory(deal=deal)
    client.get(url)  # warm: the first page a process serves fills a one-off cache (content types)
    small = queries_of(client, url)
    for _ in range(10):
        DealContactFactory(deal=deal)
        Promise.objects.create(deal=deal, description="More")
    assert queries_of(client, url) == small
