"""The board's cards and My day's lines, written once per page in Python (issue 17,
handoffs.views.deal_rows): the markup the templates wrote, with Django's own filters for
every value; the cards and lines in the order of their queries; a deal in several of My
day's lists in each."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.db.models import F
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.models import OrganisationSettings
from handoffs.access import deal_editable_by, deals_visible_to
from handoffs.choices import Currency, Stage
from handoffs.models import Deal
from handoffs.selectors.deals import board_columns, contact_count, my_day, next_step_is_late
from handoffs.views.deals import _board_context
from tests.factories import AccountFactory, DealContactFactory, DealFactory

pytestmark = pytest.mark.django_db

# The card of templates/handoffs/deals/_board.html before issue 17 wrote the cards in
# Python, each value through the filter or tag that first wrote it.
TEMPLATE_CARDS = Template("""{% for deal in deals %}{% url 'handoffs:deal_stage' deal.pk as stage_url %}
        <article class="card kanban-card" data-testid="card-{{ deal.pk }}" data-movable="{% if deal.movable %}1{% else %}0{% endif %}" data-stage-url="{{ stage_url }}" data-version="{{ deal.version }}">
          <div class="card-body">
            <div class="kanban-card-top">
              <a class="kanban-card-title fw-semibold" href="{% url 'handoffs:deal_detail' deal.pk %}" title="{{ deal.title }}">{{ deal.title }}</a>
              {% if deal.movable %}
              <details class="stage-menu" data-testid="stage-menu-{{ deal.pk }}">
        <summary class="btn btn-sm btn-link stage-menu-toggle" title="Move to another stage"><i class="bi bi-three-dots-vertical" aria-hidden="true"></i><span class="visually-hidden">Move {{ deal.title }}</span></summary>
        <form class="dropdown-menu stage-menu-items" method="post" action="{{ stage_url }}" hx-post="{{ stage_url }}" hx-target="#board" hx-swap="outerHTML">
          {% csrf_token %}
          <input type="hidden" name="version" value="{{ deal.version }}">
          {{ menu_items }}
        </form>
              </details>
              {% endif %}
            </div>
            <div class="small text-body-secondary text-truncate">{{ deal.account.name }} · {{ deal.owner }}</div>
            <div class="small">{{ deal.amount|floatformat:"0g" }} {{ deal.currency }}</div>
            {% if is_open %}{% url 'handoffs:deal_next_step' deal.pk as next_step_url %}
            <div class="next-step-inline next-step-card" data-testid="next-step-{{ deal.pk }}">
              <div class="small next-step-text{% if deal.next_step_is_late %} overdue{% endif %}" title="{{ deal.next_step }}" id="next-step-{{ deal.pk }}-card-text">
        <i class="bi bi-arrow-right-circle" aria-hidden="true"></i>{% if deal.next_step_is_late %}<span class="visually-hidden">Overdue:</span>{% endif %} {{ deal.next_step|truncatechars:40 }} · {{ deal.next_step_due|date:"d M" }}
              </div>
              {% if deal.movable %}<a class="next-step-edit small" href="{{ next_step_url }}?next={{ here }}" hx-get="{{ next_step_url }}?variant=card&amp;next={{ here }}&amp;scope={{ scope }}" hx-target="closest .next-step-inline" hx-swap="outerHTML" data-testid="next-step-edit-{{ deal.pk }}" aria-label="Change next step" aria-describedby="next-step-{{ deal.pk }}-card-text"><i class="bi bi-pencil" aria-hidden="true"></i></a>{% endif %}
            </div>
            {% if deal.contact_count <= 1 %}<div class="small text-warning-emphasis"><i class="bi bi-person-exclamation" aria-hidden="true"></i> {{ deal.contact_count }} contact{{ deal.contact_count|pluralize }}</div>{% endif %}
            {% else %}
            <div class="small text-body-secondary">Closed {{ deal.closed_on|date:"d M" }}</div>
            {% endif %}
          </div>
        </article>
        {% endfor %}""")

# My day's "closing this month" and "single-threaded" lines before issue 17.
TEMPLATE_CLOSING = Template("""{% for deal in deals %}
        <li class="list-group-item d-flex justify-content-between">
          <span><a href="{% url 'handoffs:deal_detail' deal.pk %}" class="fw-semibold">{{ deal.title }}</a> <span class="text-body-secondary">· {{ deal.account.name }} · {{ deal.get_stage_display }}</span></span>
          <span class="text-nowrap">{{ deal.amount|floatformat:"0g" }} {{ deal.currency }} · {{ deal.expected_close_date|date:"d M" }}</span>
        </li>
        {% endfor %}""")
TEMPLATE_SINGLE_THREADED = Template("""{% for deal in deals %}
        <li class="list-group-item">
          <a href="{% url 'handoffs:deal_detail' deal.pk %}" class="fw-semibold">{{ deal.title }}</a> <span class="text-body-secondary">· {{ deal.account.name }} · {{ deal.get_stage_display }}</span>
          <div class="small text-warning-emphasis">{% if deal.contact_count %}Only one customer contact{% else %}No customer contact{% endif %} on this deal: add the decision maker and a champion.</div>
        </li>
        {% endfor %}""")


def as_shown(html: str) -> str:
    """HTML as a browser reads it: each run of whitespace one space, and the CSRF token
    (masked anew for each form) left out."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', 'name="csrfmiddlewaretoken" value=""', html)
    return re.sub(r"\s+", " ", html).strip()


def full_deals(pks, *, today):
    """The deals `pks` as whole models, in that order, with what the cards show."""
    deals = Deal.objects.select_related("account", "owner").annotate(
        contact_count=contact_count(), next_step_is_late=next_step_is_late(today)
    )
    by_pk = deals.in_bulk(pks)
    return [by_pk[pk] for pk in pks]


def board_request(user, scope: str):
    request = RequestFactory().get(reverse("handoffs:board"), {"scope": scope})
    request.user = user
    return request


@pytest.mark.parametrize("scope", ["mine", "all"])
def test_the_cards_read_as_the_template_wrote_them(rep, other_rep, scope):
    # given: the rep's deals in each column (late, undated, with 0, 1 and 2 contacts,
    # names to escape, amounts to round and group) and a teammate's the rep may not move
    today = timezone.localdate()
    account = AccountFactory(owner=rep, name="O'Brien & Sons <Ltd>")
    odd = DealFactory(
        owner=rep,
        account=account,
        stage=Stage.QUALIFY,
        title='Fish & "chips" <north>',
        next_step="Send the revised proposal & the <signed> NDA to the customer's legal team",
        next_step_due=today - datetime.timedelta(days=3),
        amount=Decimal("1234567.50"),
        currency=Currency.USD,
    )
    DealContactFactory(deal=odd)
    DealFactory(owner=rep, stage=Stage.QUALIFY, next_step_due=None)
    two = DealFactory(owner=rep, stage=Stage.PROPOSE, amount=Decimal("950.49"))
    DealContactFactory(deal=two)
    DealContactFactory(deal=two)
    DealFactory(owner=other_rep, stage=Stage.NEGOTIATE)
    for stage, days in ((Stage.WON, 2), (Stage.LOST, 9)):
        deal = DealFactory(owner=rep, stage=Stage.DISCOVER)
        Deal.objects.filter(pk=deal.pk).update(stage=stage, closed_on=today - datetime.timedelta(days=days))
    request = board_request(rep, scope)
    # when
    columns = _board_context(request, scope=scope)["columns"]
    # then
    assert sum(len(column.deals) for column in columns) == (6 if scope == "all" else 5)
    for column in columns:
        deals = full_deals([card.pk for card in column.deals], today=today)
        for deal in deals:
            deal.movable = deal.is_open and deal_editable_by(rep, deal)
        written = TEMPLATE_CARDS.render(
            Context(
                {
                    "deals": deals,
                    "is_open": column.is_open,
                    "menu_items": column.menu_items,
                    # The page's path, where the next step's links come back to.
                    "here": quote(request.get_full_path(), safe="/"),
                    "scope": scope,
                    "csrf_token": "x",
                }
            )
        )
        assert as_shown(column.cards_html) == as_shown(written), column.stage


def test_the_cards_keep_each_column_s_order(rep):
    # given: open deals due on the same day, undated ones, closes on the same day
    today = timezone.localdate()
    for due in (today, today, None, today - datetime.timedelta(days=1), None, today + datetime.timedelta(days=5)):
        DealFactory(owner=rep, stage=Stage.DISCOVER, next_step_due=due)
    for days in (3, 1, 1, 10):
        deal = DealFactory(owner=rep, stage=Stage.DISCOVER)
        Deal.objects.filter(pk=deal.pk).update(stage=Stage.WON, closed_on=today - datetime.timedelta(days=days))
    # when
    columns = {column.stage: column for column in board_columns(deals_visible_to(rep).filter(owner=rep), today=today)}
    # then: soonest next step first, undated last, then by id; latest close first, then by id
    discover = Deal.objects.filter(owner=rep, stage=Stage.DISCOVER)
    won = Deal.objects.filter(owner=rep, stage=Stage.WON)
    assert [card.pk for card in columns[Stage.DISCOVER].deals] == list(
        discover.order_by(F("next_step_due").asc(nulls_last=True), "pk").values_list("pk", flat=True)
    )
    assert [card.pk for card in columns[Stage.WON].deals] == list(
        won.order_by("-closed_on", "pk").values_list("pk", flat=True)
    )


def test_my_day_s_lines_read_as_the_template_wrote_them(client_for, rep):
    # given: deals closing this month and late-stage ones with no contact and with one
    OrganisationSettings.load()
    today = timezone.localdate(timezone=rep.tzinfo)
    account = AccountFactory(owner=rep, name="O'Brien & Sons <Ltd>")
    DealFactory(owner=rep, account=account, title="Fish & <chips>", expected_close_date=today, amount=Decimal("999.50"))
    lonely = DealFactory(owner=rep, stage=Stage.NEGOTIATE, expected_close_date=today, currency=Currency.GBP)
    DealContactFactory(deal=lonely)
    DealFactory(owner=rep, stage=Stage.PROPOSE, expected_close_date=today + datetime.timedelta(days=400))
    # when
    response = client_for(rep).get(reverse("handoffs:my_day"))
    # then
    day = response.context["day"]
    lines = response.context["lines"]
    closing = full_deals([deal.pk for deal in day.closing_this_month], today=today)
    single = full_deals([deal.pk for deal in day.single_threaded], today=today)
    assert len(closing) == 2 and len(single) == 2
    for deal, shown in zip(single, day.single_threaded, strict=True):
        assert deal.contact_count == shown.contact_count
    assert as_shown(lines["closing_this_month"]) == as_shown(TEMPLATE_CLOSING.render(Context({"deals": closing})))
    assert as_shown(lines["single_threaded"]) == as_shown(TEMPLATE_SINGLE_THREADED.render(Context({"deals": single})))
    assert as_shown(lines["closing_this_month"]) in as_shown(response.content.decode())


def test_a_deal_in_several_of_my_day_s_lists_is_in_each_in_its_order(rep):
    # given: an overdue negotiation closing this month with no contact, and others
    OrganisationSettings.load()
    today = timezone.localdate(timezone=rep.tzinfo)
    everywhere = DealFactory(
        owner=rep, stage=Stage.NEGOTIATE, next_step_due=today - datetime.timedelta(days=1), expected_close_date=today
    )
    others = [
        DealFactory(
            owner=rep,
            stage=stage,
            next_step_due=today - datetime.timedelta(days=days),
            expected_close_date=today,
        )
        for stage, days in ((Stage.PROPOSE, 1), (Stage.NEGOTIATE, 3), (Stage.QUALIFY, 0))
    ]
    # when
    day = my_day(rep, today=today)
    # then
    assert [deal.pk for deal in day.overdue] == [others[1].pk, everywhere.pk, others[0].pk]
    assert [deal.pk for deal in day.due_today] == [others[2].pk]
    assert [deal.pk for deal in day.closing_this_month] == sorted([everywhere.pk, *(deal.pk for deal in others)])
    assert [deal.pk for deal in day.single_threaded] == [everywhere.pk, others[1].pk, others[0].pk]
    assert [deal.contact_count for deal in day.single_threaded] == [0, 0, 0]
    assert day.open_count == 4
