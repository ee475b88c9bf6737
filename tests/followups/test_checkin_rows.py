"""The rows of "My check-ins", written once per page in Python (issue 17): the same
markup as the template loop they replaced, the sections in the same order and the same
queries whatever the rows."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.common.links import url_for_each
from followups.choices import CheckInStatus
from followups.selectors.checkins import checkin_sections_for, overdue_checkins_page
from followups.views.checkin_rows import CheckinRowWriter
from tests.factories import CheckInFactory, DealFactory, UserFactory
from tests.followups.test_checkin_services import accepted_handoff

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 5, 10, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()

# The loop of templates/followups/checkins/_section.html before issue 17 moved the rows
# to followups.views.checkin_rows: what the rows must still read as.
TEMPLATE_ROWS = Template("""{% for checkin in checkins %}
    <li class="list-group-item d-flex justify-content-between align-items-start gap-2" data-testid="checkin-{{ checkin.pk }}">
      <div>
        <div class="fw-semibold"><a href="{{ checkin.account_url }}">{{ checkin.account_name }}</a></div>
        <div class="small text-body-secondary">
          {{ checkin.deal_title }}
          · {% if checkin.cadence_days %}{{ checkin.cadence_days }}-day check-in{% else %}extra check-in{% endif %}
          {% if show_rep %}· {{ checkin.rep_name }}{% endif %}
        </div>
        {% if checkin.status == "done" %}
        <div class="small mt-1">
          <span class="state-badge state-{{ checkin.sentiment }}" data-testid="sentiment">{% if checkin.sentiment == 'happy' %}<i class="bi bi-emoji-smile" aria-hidden="true"></i>{% elif checkin.sentiment == 'at_risk' %}<i class="bi bi-emoji-frown" aria-hidden="true"></i>{% else %}<i class="bi bi-emoji-neutral" aria-hidden="true"></i>{% endif %} {{ checkin.get_sentiment_display }}</span>
          {{ checkin.get_channel_display }} · {{ checkin.done_at|date:"j M Y" }}
          {% if checkin.issues_raised %}<span class="badge text-bg-warning" title="{{ checkin.issues_raised }}"><i class="bi bi-flag" aria-hidden="true"></i> issue raised</span>{% endif %}
          {% if checkin.opened_deal_title %}<span class="badge text-bg-info">new deal: {{ checkin.opened_deal_title }}</span>{% endif %}
        </div>
        {% else %}
        <div class="small mt-1{% if section == 'overdue' %} overdue{% endif %}">
          Due {{ checkin.due_on|date:"D j M Y" }}{% if checkin.days_overdue %} ({{ checkin.days_overdue }} day{{ checkin.days_overdue|pluralize }} overdue){% endif %}
        </div>
        {% endif %}
      </div>
      {% if checkin.status != "done" %}
      <div class="btn-group btn-group-sm flex-shrink-0">
        <a class="btn btn-primary" href="{{ checkin.log_url }}">Log</a>
        <a class="btn btn-outline-secondary" href="{{ checkin.reschedule_url }}">Reschedule</a>
      </div>
      {% endif %}
    </li>
    {% endfor %}""")


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def as_shown(html: str) -> str:
    """HTML as a browser reads it: each run of whitespace one space."""
    return re.sub(r"\s+", " ", html).strip()


def template_rows(checkins, *, section: str, show_rep: bool) -> str:
    account_url = url_for_each("handoffs:account_detail")
    log_url = url_for_each("followups:checkin_log")
    reschedule_url = url_for_each("followups:checkin_reschedule")
    for checkin in checkins:
        checkin.account_url = account_url(checkin.account_id)
        checkin.log_url = log_url(checkin.pk)
        checkin.reschedule_url = reschedule_url(checkin.pk)
    return TEMPLATE_ROWS.render(Context({"checkins": checkins, "section": section, "show_rep": show_rep}))


def done(checkin, **fields):
    fields = {"status": CheckInStatus.DONE, "done_at": NOW - datetime.timedelta(days=1), **fields}
    type(checkin).objects.filter(pk=checkin.pk).update(**fields)
    return checkin


@pytest.mark.parametrize("show_rep", [False, True])
def test_the_rows_read_as_the_template_wrote_them(rep, manager, delivery_lead, show_rep):
    # given: names to escape, a rep without a name, each section, each sentiment, one day
    # overdue and many, an extra check-in, an issue and a new deal
    nameless = UserFactory(username="no_name_rep", first_name="", last_name="", role=rep.role, team=rep.team)
    odd = accepted_handoff(rep=rep, delivery_owner=delivery_lead)
    odd.deal.title = 'Fish & "chips" <north>'
    odd.deal.save(update_fields=["title"])
    odd.deal.account.name = "O'Brien & Sons <Ltd>"
    odd.deal.account.save(update_fields=["name"])
    plain = accepted_handoff(rep=nameless if show_rep else rep, delivery_owner=delivery_lead)
    new_deal = DealFactory(owner=rep, title="Referral <deal>")
    for days in (1, 2, 40):
        CheckInFactory(handoff=odd, cadence_days=0, due_on=TODAY - datetime.timedelta(days=days))
    CheckInFactory(handoff=plain, cadence_days=30, due_on=TODAY)
    CheckInFactory(handoff=odd, cadence_days=90, due_on=TODAY + datetime.timedelta(days=3))
    for sentiment, channel, issues, opened in (
        ("happy", "call", 'Invoices "late" & <wrong>', new_deal),
        ("at_risk", "email", "", None),
        ("neutral", "meeting", "", None),
        ("", "", "", None),
    ):
        done(
            CheckInFactory(handoff=plain, cadence_days=0, due_on=TODAY),
            sentiment=sentiment,
            channel=channel,
            issues_raised=issues,
            opened_deal=opened,
        )
    viewer = manager if show_rep else rep
    # when
    sections = checkin_sections_for(viewer, rep_names=show_rep)
    writer = CheckinRowWriter(show_rep=show_rep)
    # then
    for section, checkins in (
        ("overdue", sections.overdue),
        ("today", sections.due_today),
        ("upcoming", sections.upcoming),
        ("done", sections.recently_done),
    ):
        assert checkins, section
        written = writer.rows(checkins, section=section)
        assert as_shown(written) == as_shown(template_rows(checkins, section=section, show_rep=show_rep))
    assert "(1 day overdue)" in writer.rows(sections.overdue, section="overdue")


def test_the_overdue_page_s_rows_read_as_the_template_wrote_them(rep, delivery_lead):
    # given
    handoff = accepted_handoff(rep=rep, delivery_owner=delivery_lead)
    for days in (1, 5):
        CheckInFactory(handoff=handoff, cadence_days=0, due_on=TODAY - datetime.timedelta(days=days))
    # when
    page = overdue_checkins_page(rep, rep_names=False)
    # then
    written = CheckinRowWriter(show_rep=False).rows(page.object_list, section="overdue")
    assert as_shown(written) == as_shown(template_rows(page.object_list, section="overdue", show_rep=False))


def test_each_section_keeps_its_order_when_due_dates_and_done_times_tie(rep, delivery_lead):
    # given: several check-ins due the same day in each scheduled section, done ones
    # logged at the same moment
    handoff = accepted_handoff(rep=rep, delivery_owner=delivery_lead)
    for due_on in (TODAY - datetime.timedelta(days=2), TODAY, TODAY + datetime.timedelta(days=2)):
        for _ in range(3):
            CheckInFactory(handoff=handoff, cadence_days=0, due_on=due_on)
    CheckInFactory(handoff=handoff, cadence_days=0, due_on=TODAY - datetime.timedelta(days=9))
    logged = [done(CheckInFactory(handoff=handoff, cadence_days=0, due_on=TODAY)) for _ in range(3)]
    # when
    sections = checkin_sections_for(rep)
    # then: due first, then by id; the latest done first, then the highest id
    scheduled = type(logged[0]).objects.filter(rep=rep, status=CheckInStatus.SCHEDULED).order_by("due_on", "id")
    assert [c.pk for c in sections.overdue] == [c.pk for c in scheduled if c.due_on < TODAY]
    assert [c.pk for c in sections.due_today] == [c.pk for c in scheduled if c.due_on == TODAY]
    assert [c.pk for c in sections.upcoming] == [c.pk for c in scheduled if c.due_on > TODAY]
    assert [c.pk for c in sections.recently_done] == sorted((c.pk for c in logged), reverse=True)
    assert [c.days_overdue for c in sections.overdue] == [9, 2, 2, 2]


def test_the_sections_read_three_queries_for_no_checkins_or_full_sections(rep, delivery_lead):
    # given: nothing yet
    with CaptureQueriesContext(connection) as empty:
        assert checkin_sections_for(rep).is_empty
    # when: more than a section shows in each
    handoff = accepted_handoff(rep=rep, delivery_owner=delivery_lead)
    for offset in (-3, 0, 3):
        for _ in range(27):
            CheckInFactory(handoff=handoff, cadence_days=0, due_on=TODAY + datetime.timedelta(days=offset))
    for _ in range(22):
        done(CheckInFactory(handoff=handoff, cadence_days=0, due_on=TODAY), done_at=timezone.now())
    with CaptureQueriesContext(connection) as full:
        sections = checkin_sections_for(rep)
    # then: the totals, the ids of each section's rows, the rows
    assert (len(sections.overdue), len(sections.due_today), len(sections.upcoming)) == (25, 25, 25)
    assert len(sections.recently_done) == 20
    assert len(empty.captured_queries) == len(full.captured_queries) == 3
