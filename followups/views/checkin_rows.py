"""The rows of "My check-ins", written as HTML once per page in Python.

A section lists up to 25 check-ins (the overdue page 50), and in the template each row
cost ~20 variable and `{% if %}` nodes, two date filters and two choice labels: over
a third of the page's CPU (issue 17). Here a row is a few format strings filled with
values escaped once; the markup is the one templates/followups/checkins/_section.html
used to loop over (tests hold the two equal), and the section template prints the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from html import escape

from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from accounts.common.links import url_for_each
from followups.choices import CheckInStatus
from followups.models import CheckIn
from handoffs.templatetags.handoff_tags import day_date

# The emoji of a sentiment badge (the markup of followups/checkins/_sentiment.html).
SENTIMENT_ICONS = {"happy": "emoji-smile", "at_risk": "emoji-frown"}

ROW_START = """
    <li class="list-group-item d-flex justify-content-between align-items-start gap-2" data-testid="checkin-{pk}">
      <div>
        <div class="fw-semibold"><a href="{account_url}">{account_name}</a></div>
        <div class="small text-body-secondary">
          {deal_title}
          · {cadence}{rep}
        </div>"""
DONE = """
        <div class="small mt-1">
          <span class="state-badge state-{sentiment}" data-testid="sentiment"><i class="bi bi-{icon}" aria-hidden="true"></i> {sentiment_label}</span>
          {channel_label} · {done_on}{issues}{opened_deal}
        </div>
      </div>
    </li>"""
ISSUES = """
          <span class="badge text-bg-warning" title="{}"><i class="bi bi-flag" aria-hidden="true"></i> issue raised</span>"""
OPENED_DEAL = """
          <span class="badge text-bg-info">new deal: {}</span>"""
SCHEDULED = """
        <div class="small mt-1{overdue_class}">
          Due {due_on}{days_overdue}
        </div>
      </div>
      <div class="btn-group btn-group-sm flex-shrink-0">
        <a class="btn btn-primary" href="{log_url}">Log</a>
        <a class="btn btn-outline-secondary" href="{reschedule_url}">Reschedule</a>
      </div>
    </li>"""


def _escaped_links(name: str) -> Callable[[int], str]:
    """url_for_each(name), escaped as the template escaped each link."""
    url = url_for_each(name)
    return lambda pk: escape(url(pk))


def _labels(field_name: str) -> dict[str, str]:
    """A choice field's labels by value (get_FOO_display without its per-call dict)."""
    return {value: str(label) for value, label in CheckIn._meta.get_field(field_name).flatchoices}


class CheckinRowWriter:
    """Writes rows of check-ins (from followups.selectors.checkins: `account_name`,
    `deal_title`, `opened_deal_title`, `rep_name` with `show_rep`, `days_overdue` in the
    overdue lists), with the links and labels looked up once for the page."""

    def __init__(self, *, show_rep: bool) -> None:
        self.show_rep = show_rep
        self.account_url = _escaped_links("handoffs:account_detail")
        self.log_url = _escaped_links("followups:checkin_log")
        self.reschedule_url = _escaped_links("followups:checkin_reschedule")
        self.sentiments = _labels("sentiment")
        self.channels = _labels("channel")

    def rows(self, checkins: Iterable[CheckIn], *, section: str) -> SafeString:
        return mark_safe("".join(self.row(checkin, section=section) for checkin in checkins))  # noqa: S308 — every value escaped in row()

    def row(self, checkin: CheckIn, *, section: str) -> str:
        cadence = f"{checkin.cadence_days}-day check-in" if checkin.cadence_days else "extra check-in"
        html = ROW_START.format(
            pk=checkin.pk,
            account_url=self.account_url(checkin.account_id),
            account_name=escape(str(checkin.account_name)),
            deal_title=escape(str(checkin.deal_title)),
            cadence=cadence,
            rep=f"\n          · {escape(str(checkin.rep_name))}" if self.show_rep else "",
        )
        if checkin.status == CheckInStatus.DONE:
            sentiment = checkin.sentiment
            return html + DONE.format(
                sentiment=escape(sentiment),
                icon=SENTIMENT_ICONS.get(sentiment, "emoji-neutral"),
                sentiment_label=escape(self.sentiments.get(sentiment, sentiment)),
                channel_label=escape(self.channels.get(checkin.channel, checkin.channel)),
                done_on=escape(day_date(timezone.localtime(checkin.done_at).date(), "j M Y"))
                if checkin.done_at
                else "",
                issues=ISSUES.format(escape(checkin.issues_raised)) if checkin.issues_raised else "",
                opened_deal=OPENED_DEAL.format(escape(checkin.opened_deal_title)) if checkin.opened_deal_title else "",
            )
        days = getattr(checkin, "days_overdue", 0)
        return html + SCHEDULED.format(
            overdue_class=" overdue" if section == "overdue" else "",
            due_on=escape(day_date(checkin.due_on, "D j M Y")),
            days_overdue=f" ({days} day{'' if days == 1 else 's'} overdue)" if days else "",
            log_url=self.log_url(checkin.pk),
            reschedule_url=self.reschedule_url(checkin.pk),
        )
