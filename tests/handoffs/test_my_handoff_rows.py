"""My hand-offs' "Mine" and "Sold by me" rows, written once per page in Python (issue 17,
handoffs.views.my_handoff_rows), and the single row htmx swaps in after a tick: byte for
byte the markup of the template they replaced (frozen below), notice and error included."""

from __future__ import annotations

import datetime
from html import escape

import pytest
from django.middleware.csrf import get_token
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from handoffs.choices import HandoffStatus
from handoffs.selectors.handoffs import NEXT_STEPS_SHOWN, my_handoffs
from handoffs.views.handoffs import _link_inbox_rows
from handoffs.views.my_handoff_rows import my_work_rows
from tests.factories import AccountFactory, DealFactory, HandoffFactory, HandoffStepFactory

pytestmark = pytest.mark.django_db

# templates/handoffs/handoff/_my_handoff_row.html as it was when issue 17 moved the rows
# to handoffs.views.my_handoff_rows: what every row, list or htmx, must still read as.
TEMPLATE_ROW = Template("""{% load handoff_tags %}
<tr id="my-handoff-{{ handoff.pk }}" data-testid="my-handoff">
  <td><a href="{{ handoff.detail_url }}">{{ handoff.deal }}</a><div class="small text-body-secondary">{{ handoff.deal.account }}</div></td>
  <td class="text-nowrap">{{ handoff.closed_on|day_date:"d M Y" }}</td>
  <td>{% if handoff.rep_id == request.user.pk %}{{ handoff.delivery_owner|default:"—" }}{% else %}{{ handoff.rep }}{% endif %}</td>
  <td>{{ handoff|status_badge }}{% if handoff.is_overdue %} <span class="overdue small">overdue</span>{% endif %}</td>
  <td>
    {% if notice %}<div class="small text-success" role="status"><i class="bi bi-check-circle" aria-hidden="true"></i> {{ notice }}</div>{% endif %}
    {% if step_error %}<div class="small text-danger" role="alert">{{ step_error }}</div>{% endif %}
    <ul class="list-unstyled mb-0 next-steps">
      {% for step in handoff.next_steps %}
      <li class="next-step" data-testid="next-step">
        {% if step.may_tick %}
        <form method="post" action="{{ step.complete_url }}" hx-post="{{ step.complete_url }}" hx-target="#my-handoff-{{ handoff.pk }}" hx-swap="outerHTML" hx-disabled-elt="find button"><input type="hidden" name="csrfmiddlewaretoken" value="{{ csrf_token }}">
          <input type="hidden" name="row" value="my_handoffs">
          <input type="hidden" name="next" value="{{ my_handoffs_url }}">
          <button class="btn btn-sm btn-outline-success" type="submit" data-testid="tick-step"><i class="bi bi-check2" aria-hidden="true"></i> Done<span class="visually-hidden">: {{ step.title }}</span></button>
        </form>
        {% endif %}
        <span class="next-step-title">{{ step.title }}</span>
        <span class="small text-nowrap{% if step.is_late %} overdue{% else %} text-body-secondary{% endif %}">due {{ step.due_on|day_date:"d M" }}{% if step.is_late %} · late{% endif %}</span>
      </li>
      {% empty %}
      <li class="small text-body-secondary">No open step: everything is done or skipped.</li>
      {% endfor %}
    </ul>
    {% if handoff.open_step_count > handoff.next_steps|length %}<a class="small" href="{{ handoff.detail_url }}">All {{ handoff.open_step_count }} open steps</a>{% endif %}
  </td>
</tr>
""")


def template_row(handoff, *, request, **context) -> str:
    return TEMPLATE_ROW.render(Context({"handoff": handoff, "request": request, **context}))


@pytest.fixture
def work(rep, delivery_lead):
    """Hand-offs a lead runs and a rep sold: names to escape, late and on-time steps, more
    open steps than a row shows, none at all, one step assigned to the rep, and one
    hand-off still waiting for an owner (no delivery owner yet)."""
    today = timezone.localdate()
    account = AccountFactory(owner=rep, name='Smith & "Sons" <Ltd>')

    def handoff(title, **fields):
        deal = DealFactory(owner=rep, account=account, title=title, stage="won", closed_on=today, next_step="")
        return HandoffFactory(deal=deal, **fields)

    busy = handoff("Roll-out <phase 2> & more", status=HandoffStatus.ACCEPTED, delivery_owner=delivery_lead)
    for days in (-3, 1, 2, 5, 9):
        HandoffStepFactory(handoff=busy, title=f"Step due in {days} days <b>", due_on=today + datetime.timedelta(days))
    idle = handoff("Quiet one", status=HandoffStatus.ACCEPTED, delivery_owner=delivery_lead)
    held = handoff("Meeting held", status=HandoffStatus.MEETING_HELD, delivery_owner=delivery_lead)
    HandoffStepFactory(handoff=held, title="Send the summary", due_on=today, assignee=rep)
    HandoffStepFactory(handoff=held, title="Kick-off", due_on=today - datetime.timedelta(days=1))
    handoff("Nobody yet", status=HandoffStatus.AWAITING_OWNER)
    return {"busy": busy, "idle": idle, "held": held}


def _rows_both_ways(user, rows_of):
    request = RequestFactory().get(reverse("handoffs:my_handoffs"))
    request.user = user
    inbox = my_handoffs(user)
    links = _link_inbox_rows([*inbox.declined, *inbox.waiting, *inbox.mine, *inbox.sold])
    rows = rows_of(inbox)
    # One token for the page, as one render of my.html has (each get_token() masks anew).
    token = get_token(request)
    template_rows = "".join(template_row(handoff, request=request, csrf_token=token, **links) for handoff in rows)
    python_rows = my_work_rows(rows, user_pk=user.pk, csrf_token=token, next_url=links["my_handoffs_url"])
    return rows, template_rows, python_rows


def test_a_delivery_leads_rows_are_the_templates(delivery_lead, work):
    # when
    rows, template_rows, python_rows = _rows_both_ways(delivery_lead, lambda inbox: inbox.mine)
    # then: the three hand-offs the lead runs, each value escaped, five steps shown as three
    assert {handoff.pk for handoff in rows} == {work["busy"].pk, work["idle"].pk, work["held"].pk}
    assert python_rows == template_rows
    assert "Roll-out &lt;phase 2&gt; &amp; more" in python_rows
    assert "Smith &amp; &quot;Sons&quot; &lt;Ltd&gt;" in python_rows
    assert "All 5 open steps" in python_rows and NEXT_STEPS_SHOWN < 5
    assert "No open step" in python_rows and " · late" in python_rows
    assert python_rows.count('data-testid="tick-step"') == NEXT_STEPS_SHOWN + 2


def test_a_reps_sold_rows_are_the_templates(rep, work):
    # when
    rows, template_rows, python_rows = _rows_both_ways(rep, lambda inbox: inbox.sold)
    # then: the rep may tick their sold hand-offs' steps too; one without an owner shows "—"
    assert len(rows) == 4
    assert python_rows == template_rows
    assert python_rows.count('data-testid="tick-step"') == NEXT_STEPS_SHOWN + 2
    assert "<td>—</td>" in python_rows


@pytest.mark.parametrize(
    ("outcome", "shown"),
    [
        ({"notice": "“Kick-off <b>” is done."}, 'role="status"'),
        ({"step_error": "This step is already done & closed."}, 'role="alert"'),
    ],
)
def test_the_row_htmx_swaps_in_after_a_tick_is_the_templates(delivery_lead, work, outcome, shown):
    # given: the row of one hand-off, as the step views read it after a tick
    request = RequestFactory().post(reverse("handoffs:my_handoffs"))
    request.user = delivery_lead
    inbox = my_handoffs(delivery_lead)
    links = _link_inbox_rows(inbox.mine)
    held = next(handoff for handoff in inbox.mine if handoff.pk == work["held"].pk)
    token = get_token(request)
    # when
    python_row = my_work_rows(
        [held], user_pk=delivery_lead.pk, csrf_token=token, next_url=links["my_handoffs_url"], **outcome
    )
    # then: the same bytes as the template, the outcome escaped and announced
    assert python_row == template_row(held, request=request, csrf_token=token, **links, **outcome)
    assert python_row.count(shown) == 1
    text = next(iter(outcome.values()))
    assert escape(text) in python_row and text not in python_row
