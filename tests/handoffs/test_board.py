"""The pipeline board (issue 16): each column's count and total amount, per currency and
over the whole column; a constant number of queries; the card's compact stage menu, a
plain form that works without JavaScript and that htmx enhances."""

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import floatformat
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts.models import OrganisationSettings
from handoffs.access import deals_visible_to
from handoffs.choices import Currency, Stage
from handoffs.models import Deal
from handoffs.selectors.deals import (
    BOARD_COLUMN_LIMIT,
    ColumnAmount,
    board_columns,
    deal_for_next_step,
    short_amount,
)
from handoffs.views.deals import _day_month_format, _whole_amount_format
from tests.factories import AccountFactory, DealContactFactory, DealFactory

pytestmark = pytest.mark.django_db


def deals_of(owner, count, **fields):
    """`count` deals of `owner` on one account (the factory would make one each)."""
    account = AccountFactory(owner=owner)
    return [DealFactory(owner=owner, account=account, **fields) for _ in range(count)]


def closed(deal, *, stage, closed_on):
    """The deal as the close left it (the row only: these tests read the board)."""
    Deal.objects.filter(pk=deal.pk).update(stage=stage, closed_on=closed_on)
    deal.refresh_from_db()
    return deal


def column(columns, stage):
    return next(column for column in columns if column.stage == stage)


# --- counts and totals ------------------------------------------------------------------


def test_a_column_counts_and_totals_its_deals_beyond_those_it_shows(rep):
    # given: more qualifying deals than a column shows
    deals_of(rep, BOARD_COLUMN_LIMIT + 3, stage=Stage.QUALIFY, amount=Decimal("1000.00"))
    # when
    qualify = column(board_columns(Deal.objects.filter(owner=rep)), Stage.QUALIFY)
    # then: the header covers all of them, the cards only the first ones
    assert len(qualify.deals) == BOARD_COLUMN_LIMIT
    assert (qualify.count, qualify.hidden) == (BOARD_COLUMN_LIMIT + 3, 3)
    assert qualify.amounts == [ColumnAmount(currency="EUR", amount=Decimal("28000.00"))]
    assert qualify.amount_summary == "€28k"


def test_amounts_in_different_currencies_are_totalled_apart_never_added(rep):
    # given
    deals_of(rep, 2, stage=Stage.PROPOSE, amount=Decimal("60000.00"), currency=Currency.EUR)
    deals_of(rep, 1, stage=Stage.PROPOSE, amount=Decimal("40000.00"), currency=Currency.USD)
    deals_of(rep, 1, stage=Stage.PROPOSE, amount=Decimal("950.00"), currency=Currency.CHF)
    # when
    propose = column(board_columns(Deal.objects.filter(owner=rep)), Stage.PROPOSE)
    # then: one figure per currency, in the order Currency lists them
    assert propose.count == 4
    assert [(amount.currency, amount.amount) for amount in propose.amounts] == [
        ("EUR", Decimal("120000.00")),
        ("USD", Decimal("40000.00")),
        ("CHF", Decimal("950.00")),
    ]
    assert propose.amount_summary == "€120k · $40k · CHF 950"
    assert propose.amount_exact == "120,000 EUR · 40,000 USD · 950 CHF"


def test_closed_columns_count_and_total_only_the_deals_closed_in_the_last_30_days(rep):
    # given
    today = timezone.localdate()
    recent = deals_of(rep, 2, amount=Decimal("5000.00"))
    for deal in recent:
        closed(deal, stage=Stage.WON, closed_on=today - datetime.timedelta(days=3))
    (old,) = deals_of(rep, 1, amount=Decimal("99000.00"))
    closed(old, stage=Stage.WON, closed_on=today - datetime.timedelta(days=45))
    (lost,) = deals_of(rep, 1, amount=Decimal("7000.00"), currency=Currency.GBP)
    closed(lost, stage=Stage.LOST, closed_on=today)
    # when
    columns = board_columns(Deal.objects.filter(owner=rep), today=today)
    # then
    won = column(columns, Stage.WON)
    assert (won.count, won.amount_summary) == (2, "€10k")
    assert {deal.pk for deal in won.deals} == {deal.pk for deal in recent}
    assert column(columns, Stage.LOST).amount_summary == "£7k"
    assert column(columns, Stage.QUALIFY).amounts == []


def test_the_totals_read_only_the_deals_the_user_may_see(rep, other_rep):
    # given: a rep's own deal and a teammate's
    deals_of(rep, 1, stage=Stage.NEGOTIATE, amount=Decimal("10000.00"))
    deals_of(other_rep, 1, stage=Stage.NEGOTIATE, amount=Decimal("30000.00"))
    # when: the board in the "mine" scope
    negotiate = column(board_columns(deals_visible_to(rep).filter(owner=rep)), Stage.NEGOTIATE)
    # then
    assert (negotiate.count, negotiate.amount_summary) == (1, "€10k")


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("0", "EUR", "€0"),
        ("950", "EUR", "€950"),
        ("999.60", "EUR", "€1k"),
        ("8500", "USD", "$8.5k"),
        ("9960", "USD", "$10k"),
        ("120000", "EUR", "€120k"),
        ("999999", "EUR", "€1M"),
        ("1240000", "GBP", "£1.2M"),
        ("3000000000", "JPY", "¥3B"),
        ("45000", "SEK", "SEK 45k"),
        ("45000", "CAD", "CA$45k"),
        ("45000", "AUD", "A$45k"),
    ],
)
def test_a_header_amount_reads_at_a_glance_and_says_its_currency(amount, currency, shown):
    assert short_amount(Decimal(amount), currency) == shown


# --- query count ------------------------------------------------------------------------


def board_queries(rep) -> int:
    with CaptureQueriesContext(connection) as captured:
        board_columns(Deal.objects.filter(owner=rep))
    return len(captured)


def test_the_board_reads_three_queries_for_two_deals_or_for_full_columns_in_several_currencies(rep):
    # given: a small board
    deals_of(rep, 2, stage=Stage.QUALIFY)
    small = board_queries(rep)
    # when: every column has deals, one more than it shows, in two currencies
    today = timezone.localdate()
    for stage in Stage.values:
        for currency in (Currency.EUR, Currency.USD):
            deals = deals_of(rep, BOARD_COLUMN_LIMIT // 2 + 1, stage=Stage.QUALIFY, currency=currency)
            for deal in deals:
                if stage in (Stage.WON, Stage.LOST):
                    closed(deal, stage=stage, closed_on=today)
                else:
                    Deal.objects.filter(pk=deal.pk).update(stage=stage)
    large = board_queries(rep)
    # then: one grouped query for counts and totals, one for the ids of the cards (each
    # column's an arm of a UNION ALL), one to load them
    assert small == large == 3


def test_the_board_page_runs_the_same_queries_for_two_deals_or_a_hundred(client_for, rep):
    # given
    OrganisationSettings.load()  # created once, on first use, outside the measured requests
    client = client_for(rep)
    for deal in deals_of(rep, 2, stage=Stage.DISCOVER):
        DealContactFactory(deal=deal)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("handoffs:board"))
        assert response.status_code == 200
        return len(captured)

    small = queries()
    # when: a hundred more, past the column limit, in three currencies
    for index, deal in enumerate(deals_of(rep, 100, stage=Stage.PROPOSE)):
        Deal.objects.filter(pk=deal.pk).update(currency=[Currency.EUR, Currency.USD, Currency.GBP][index % 3])
        DealContactFactory(deal=deal)
    large = queries()
    # then
    assert small == large


# --- the page: headers and the compact stage menu ---------------------------------------


def test_each_column_header_shows_its_count_and_total(client_for, rep):
    # given
    deals_of(rep, 3, stage=Stage.NEGOTIATE, amount=Decimal("40000.00"))
    deals_of(rep, 1, stage=Stage.NEGOTIATE, amount=Decimal("15000.00"), currency=Currency.USD)
    # when
    body = client_for(rep).get(reverse("handoffs:board")).content.decode()
    # then
    count = re.search(r'data-testid="column-count-negotiate">(\d+)<', body)
    assert count and count.group(1) == "4"
    assert re.search(r'data-testid="column-total-negotiate" title="120,000 EUR · 15,000 USD">€120k · \$15k<', body)


def test_a_card_s_menu_is_a_plain_form_with_one_button_per_other_stage(client_for, rep):
    # given
    (deal,) = deals_of(rep, 1, stage=Stage.DISCOVER)
    # when
    response = client_for(rep).get(reverse("handoffs:board"), {"scope": "all"})
    body = response.content.decode()
    # then: a form the browser can post by itself, carrying the version and the scope
    stage_url = reverse("handoffs:deal_stage", args=[deal.pk])
    form = re.search(
        rf'<form [^>]*method="post" action="{stage_url}" hx-post="{stage_url}"[^>]*>(.*?)</form>', body, re.S
    )
    assert form, "the card's menu is a real form"
    menu = form.group(1)
    assert 'name="csrfmiddlewaretoken"' in menu
    assert f'name="version" value="{deal.version}"' in menu
    assert 'name="scope" value="all"' in menu
    stages = re.findall(r'<button class="dropdown-item" type="submit" name="stage" value="(\w+)"', menu)
    assert stages == ["qualify", "propose", "negotiate", "won", "lost"]
    assert f"Move {deal.title}" in body


def test_a_closed_card_has_no_menu_and_cannot_be_dragged(client_for, rep):
    # given
    (deal,) = deals_of(rep, 1)
    closed(deal, stage=Stage.WON, closed_on=timezone.localdate())
    # when
    body = client_for(rep).get(reverse("handoffs:board")).content.decode()
    # then
    card = re.search(rf'<article [^>]*data-testid="card-{deal.pk}"[^>]*>', body)
    assert card and 'data-movable="0"' in card.group(0)
    assert f'data-testid="stage-menu-{deal.pk}"' not in body


def test_a_teammate_s_card_on_a_rep_s_board_has_no_menu(client_for, rep, other_rep):
    # given: a teammate's deal, which the rep may read but not move
    (deal,) = deals_of(other_rep, 1, stage=Stage.DISCOVER)
    # when
    body = client_for(rep).get(reverse("handoffs:board"), {"scope": "all"}).content.decode()
    # then
    assert f'data-testid="card-{deal.pk}"' in body
    assert f'data-testid="stage-menu-{deal.pk}"' not in body


# --- moves without JavaScript -------------------------------------------------------------


def test_a_move_from_the_menu_without_javascript_goes_back_to_the_board_in_its_scope(client_for, rep):
    # given
    (deal,) = deals_of(rep, 1, stage=Stage.DISCOVER)
    client = client_for(rep)
    # when: the browser posts the menu's form by itself (no HX-Request)
    response = client.post(
        reverse("handoffs:deal_stage", args=[deal.pk]), {"stage": "propose", "version": deal.version, "scope": "all"}
    )
    # then: See Other, to the board the user was on, which shows the move
    assert response.status_code == 303
    assert response["Location"] == reverse("handoffs:board") + "?scope=all"
    deal.refresh_from_db()
    assert deal.stage == Stage.PROPOSE
    page = client.get(response["Location"])
    assert f"“{deal.title}” moved to Propose." in page.content.decode()
    assert [card.pk for card in column(page.context["columns"], Stage.PROPOSE).deals] == [deal.pk]


def test_won_from_the_menu_without_javascript_opens_the_close_form_with_won_chosen(client_for, rep):
    # given
    (deal,) = deals_of(rep, 1, stage=Stage.NEGOTIATE)
    client = client_for(rep)
    # when
    response = client.post(
        reverse("handoffs:deal_stage", args=[deal.pk]), {"stage": "won", "version": deal.version, "scope": "mine"}
    )
    # then: the close form, the deal still open until the close is logged
    assert response.status_code == 303
    assert response["Location"] == reverse("handoffs:deal_close", args=[deal.pk]) + "?outcome=won"
    deal.refresh_from_db()
    assert deal.stage == Stage.NEGOTIATE
    form = client.get(response["Location"]).context["form"]
    assert form.initial["outcome"] == "won"


def test_a_stale_move_without_javascript_goes_back_to_the_board_and_says_why(client_for, rep):
    # given: someone saved the deal after the board was drawn
    (deal,) = deals_of(rep, 1, stage=Stage.DISCOVER)
    Deal.objects.filter(pk=deal.pk).update(version=deal.version + 1)
    client = client_for(rep)
    # when
    response = client.post(
        reverse("handoffs:deal_stage", args=[deal.pk]), {"stage": "propose", "version": deal.version}
    )
    # then
    assert response.status_code == 303
    page = client.get(response["Location"]).content.decode()
    assert "was changed by someone else meanwhile" in page
    deal.refresh_from_db()
    assert deal.stage == Stage.DISCOVER


# --- refused moves with htmx --------------------------------------------------------------


def test_moving_a_closed_deal_with_htmx_answers_422_with_the_board_and_the_reason(client_for, rep):
    # given
    (deal,) = deals_of(rep, 1)
    closed(deal, stage=Stage.WON, closed_on=timezone.localdate())
    # when
    response = client_for(rep).post(
        reverse("handoffs:deal_stage", args=[deal.pk]),
        {"stage": "propose", "version": deal.version, "scope": "mine"},
        HTTP_HX_REQUEST="true",
    )
    # then
    body = response.content.decode()
    assert response.status_code == 422
    assert 'id="board"' in body and 'data-testid="board-error"' in body
    assert "This deal is closed; a manager may reopen it." in body
    deal.refresh_from_db()
    assert deal.stage == Stage.WON


# --- the cards, formatted once per page (issue 17) ------------------------------------------


def squeezed(html: str) -> str:
    """HTML with its runs of whitespace made one space, and none between tags."""
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html)).strip()


def test_a_card_s_next_step_reads_as_the_component_renders_it_on_a_card(client_for, rep, other_rep):
    # given: the rep's late deal with a long next step and characters to escape, and a
    # teammate's, which the rep may read but not change
    today = timezone.localdate()
    (mine,) = deals_of(
        rep,
        1,
        stage=Stage.DISCOVER,
        title='Fish & "chips" <north>',
        next_step="Send the revised proposal & the <signed> NDA to the customer's legal team",
        next_step_due=today - datetime.timedelta(days=2),
    )
    (theirs,) = deals_of(other_rep, 1, stage=Stage.PROPOSE, next_step_due=today + datetime.timedelta(days=40))
    # when
    body = squeezed(client_for(rep).get(reverse("handoffs:board"), {"scope": "all"}).content.decode())
    # then: each card's next step is what the component (swapped in after an edit) renders
    request = RequestFactory().get(reverse("handoffs:board"), {"scope": "all"})
    request.user = rep
    for deal in (mine, theirs):
        component = render_to_string(
            "handoffs/deals/_next_step.html",
            {"deal": deal_for_next_step(rep, deal.pk), "variant": "card", "scope": "all"},
            request=request,
        )
        assert squeezed(component) in body
    assert f'data-testid="next-step-edit-{mine.pk}"' in body
    assert f'data-testid="next-step-edit-{theirs.pk}"' not in body
    assert "Fish &amp; &quot;chips&quot; &lt;north&gt;" in body


@pytest.mark.parametrize("amount", ["0", "950.49", "950.50", "999.50", "1234567.50", "192904.00", "1000000000.01"])
def test_a_card_s_amount_reads_as_floatformat_0g(amount):
    assert _whole_amount_format()(Decimal(amount)) == floatformat(Decimal(amount), "0g")


def test_a_card_s_dates_read_as_the_date_filter_d_m():
    day_month = _day_month_format()
    for day in (datetime.date(2026, 1, 5), datetime.date(2026, 5, 31), datetime.date(2026, 12, 25)):
        assert day_month(day) == date_filter(day, "d M")
    assert day_month(None) == ""


def test_a_card_shows_its_amount_account_owner_and_contacts(client_for, rep):
    # given
    (deal,) = deals_of(rep, 1, stage=Stage.NEGOTIATE, amount=Decimal("1234567.50"), currency=Currency.USD)
    DealContactFactory(deal=deal)
    # when
    body = squeezed(client_for(rep).get(reverse("handoffs:board")).content.decode())
    # then
    card = re.search(rf'<article [^>]*data-testid="card-{deal.pk}".*?</article>', body)
    assert card
    assert f"{escape(deal.account.name)} · {escape(str(rep))}" in card.group(0)
    assert "1,234,568 USD" in card.group(0)
    assert "1 contact<" in card.group(0)
