"""My hand-offs' "Mine" and "Sold by me" rows, written once per page in Python (issue 17,
handoffs.views.my_handoff_rows): byte for byte the markup of _my_handoff_row.html, which
still renders the row htmx swaps in after a step is ticked."""

from __future__ import annotations

import datetime

import pytest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from handoffs.choices import HandoffStatus
from handoffs.selectors.handoffs import NEXT_STEPS_SHOWN, my_handoffs
from handoffs.views.handoffs import _link_inbox_rows
from handoffs.views.my_handoff_rows import my_work_rows
from tests.factories import AccountFactory, DealFactory, HandoffFactory, HandoffStepFactory

pytestmark = pytest.mark.django_db


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
    template_rows = "".join(
        render_to_string(
            "handoffs/handoff/_my_handoff_row.html",
            {"handoff": handoff, "csrf_token": token, **links},
            request=request,
        )
        for handoff in rows
    )
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
