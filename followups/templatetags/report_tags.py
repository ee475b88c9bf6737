"""Template tags of the dropped-baton report: the account's health panel, small
formatting helpers, and the rows of the report's, the drill-down's and the dashboard's
tables written in Python (see below; tests/followups/test_report_rows_markup.py holds
each equal to the template loop it replaced)."""

from __future__ import annotations

import datetime
import html

from django import template
from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince

from accounts.common.links import url_for_each
from accounts.models import Account
from followups.rules import DROP_CODES, RULES
from followups.selectors.report import LATENCY_METRICS, BreakdownRow, DropRow, account_open_drops

register = template.Library()

# Django's escape() without its lazy-text wrapper (the same text: html.escape(str(value))),
# for the tags below that escape hundreds of values into one safe string.
_escape = html.escape


@register.simple_tag
def account_health_drops(account: Account) -> list[dict]:
    """`{% account_health_drops account as drops %}`: the account's open drops by code (one query)."""
    return account_open_drops(account)


@register.filter
def signed(value: int | None) -> str:
    """+3, −2 or ±0: how a count changed since the previous period."""
    if not value:
        return "±0"
    return f"+{value}" if value > 0 else f"−{abs(value)}"


@register.filter
def drop_label(code: str) -> str:
    rule = RULES.get(code)
    return rule.label if rule else code


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key, "")


@register.filter
def figure(figures: dict, metric: str) -> tuple:
    return figures.get(metric, (None, None, 0))


@register.filter
def health_class(score: int | None) -> str:
    """Bootstrap colour of a health score."""
    if score is None:
        return "secondary"
    if score >= 80:
        return "success"
    if score >= 50:
        return "warning"
    return "danger"


# The report's big tables are built here in Python, not with a template node per cell:
# an admin's table by rep is 130 people × 11 drop types, which Django's template engine
# renders in tens of milliseconds, far too slow for a page that must answer in a few.


@register.simple_tag
def breakdown_cells(row: BreakdownRow, drill_urls: dict[str, str], period_query: str, param: str) -> SafeString:
    """The count cells of one row of a table by rep, owner or team, each count linking
    to its drops (`drill_urls`: code → drill-down URL, "all" included), then the total."""
    query = f"?{period_query}&{param}={row.key}" if period_query else f"?{param}={row.key}"
    cells = []
    for code in DROP_CODES:
        count = row.counts.get(code, 0)
        if count:
            cells.append(f'<td class="text-end"><a href="{_escape(drill_urls[code] + query)}">{count}</a></td>')
        else:
            cells.append('<td class="text-end"><span class="text-body-tertiary">0</span></td>')
    cells.append(
        f'<td class="text-end fw-semibold"><a href="{_escape(drill_urls["all"] + query)}">{row.total}</a></td>'
    )
    return mark_safe("".join(cells))  # noqa: S308 — URLs escaped above, the rest are integers


@register.simple_tag
def latency_cells(figures: dict) -> SafeString:
    """Median, p90 and count of each latency metric of one row."""
    cells = []
    for metric in LATENCY_METRICS:
        median, p90, count = figures.get(metric, (None, None, 0))
        cells.append(
            f'<td class="text-end">{"—" if median is None else median}</td>'
            f'<td class="text-end">{"—" if p90 is None else p90}</td>'
            f'<td class="text-end text-body-secondary">{count}</td>'
        )
    return mark_safe("".join(cells))  # noqa: S308 — numbers only


@register.simple_tag
def breakdown_rows(rows: list[BreakdownRow], drill_urls: dict[str, str], period_query: str, param: str) -> SafeString:
    """The rows of a table by rep, owner or team, each its name, its count cells
    (breakdown_cells) and its change since the previous period, in one call: the
    template's loop spent ~10 nodes a row (~40% of the report's rendering for a manager's
    50 people, issue 17). Written exactly as _breakdown.html's loop wrote them."""
    out = []
    for row in rows:
        change = row.change
        tone = _tone(change)
        out.append(
            f'\n        <tr>\n          <th scope="row">{_escape(row.name)}</th>\n'
            f"          {breakdown_cells(row, drill_urls, period_query, param)}\n"
            f'          <td class="text-end {tone}">{signed(change)}</td>\n        </tr>\n      '
        )
    return mark_safe("".join(out))  # noqa: S308 — names escaped, cells built above


@register.simple_tag
def latency_rows(rows: list, *, scope: str) -> SafeString:
    """The rows of the latency table for teams (`scope` "team") or reps ("rep"), as the
    report's loops wrote them: one call instead of a loop with a tag per row."""
    out = []
    for row in rows:
        if scope == "team":
            out.append(
                f'\n        <tr><th scope="row">Team {_escape(row.name)}</th>{latency_cells(row.figures)}</tr>\n        '
            )
        else:
            out.append(
                f'\n        <tr><td class="ps-4">{_escape(row.name)}</td>{latency_cells(row.figures)}</tr>\n        '
            )
    return mark_safe("".join(out))  # noqa: S308 — names escaped, figures are numbers


@register.simple_tag
def drilldown_rows(drops: list[DropRow]) -> SafeString:
    """The drill-down's table rows (followups.selectors.report.drop_rows), written here in
    one call: a page is 50 rows of ~15 values, and the template's node, filter or
    `{% url %}` per value cost ~20 ms of rendering (issue 17). The same markup and text
    as the loop it replaces: `date:"j M Y"` (made once per distinct day), drop_label,
    health_class, "–" for no health score, "—" for no owner or team."""
    deal_link, account_link = url_for_each("handoffs:deal_detail"), url_for_each("handoffs:account_detail")
    days: dict[datetime.date, str] = {}
    labels: dict[str, str] = {}
    out = []
    for drop in drops:
        if drop.drop_date not in days:
            days[drop.drop_date] = _escape(date_format(drop.drop_date, "j M Y"))
        if drop.code not in labels:
            labels[drop.code] = _escape(drop_label(drop.code))
        score = drop.health_score
        owner = "—" if drop.owner_name is None else _escape(drop.owner_name)
        team = "—" if drop.team_name is None else _escape(drop.team_name)
        status = (
            '<span class="badge text-bg-danger">open</span>'
            if drop.is_open
            else '<span class="badge text-bg-secondary">fixed</span>'
        )
        out.append(
            f"\n    <tr>\n      <td>{days[drop.drop_date]}</td>\n"
            f'      <td><span class="badge text-bg-light border" title="{_escape(drop.code)}">{labels[drop.code]}</span></td>\n'
            f'      <td><a href="{_escape(deal_link(drop.deal_id))}">{_escape(drop.deal_title)}</a></td>\n'
            f'      <td><a href="{_escape(account_link(drop.account_id))}">{_escape(drop.account_name)}</a>\n'
            f'        <span class="badge text-bg-{health_class(score)}" title="Baton health">'
            f"{'–' if score is None else score}</span></td>\n"
            f"      <td>{_escape(drop.rep_name)}</td>\n      <td>{owner}</td>\n      <td>{team}</td>\n"
            f"      <td>{status}</td>\n    </tr>\n  "
        )
    return mark_safe("".join(out))  # noqa: S308 — every text escaped above, the rest is fixed markup or numbers


def _tone(change: int) -> str:
    """The colour of a change since the previous period: more drops red, fewer green."""
    return "text-danger" if change > 0 else "text-success" if change < 0 else "text-body-secondary"


@register.simple_tag
def drop_type_cards(rows_by_code: list[dict], drill_urls: dict[str, str], period_query: str) -> SafeString:
    """The report's card per drop type (ReportSummary.rows_by_code): its count linking to
    its drops, and its change since the previous period; written as the template's loop
    wrote them, in one call (11 cards of ~10 nodes and a `{% url %}` each)."""
    query = _escape(period_query)
    out = []
    for row in rows_by_code:
        code, count = _escape(row["code"]), row["count"]
        out.append(
            f'\n    <div class="col">\n      <div class="card h-100 stat-card" data-testid="drop-{code}"'
            f' title="{_escape(row["description"])}">\n        <div class="card-body py-2">\n'
            f'          <div class="small text-body-secondary">{_escape(row["label"])}</div>\n'
            f'          <a class="display-6 text-decoration-none{"" if count else " text-body-tertiary"}"'
            f' href="{_escape(drill_urls[row["code"]])}?{query}" data-testid="count-{code}">{count}</a>\n'
            f'          <div class="small {_tone(row["change"])}">{signed(row["change"])} vs previous</div>\n'
            f"        </div>\n      </div>\n    </div>\n    "
        )
    return mark_safe("".join(out))  # noqa: S308 — texts and links escaped, the rest are integers


# Every table by rep, owner or team heads its counts with the drop types: the same cells
# on every page, so made once.
_CODE_HEADERS = mark_safe(  # noqa: S308 — labels and descriptions escaped
    "".join(
        f'<th scope="col" class="text-end small" title="{_escape(RULES[code].description)}">'
        f"{_escape(RULES[code].label)}</th>"
        for code in DROP_CODES
    )
)


@register.simple_tag
def drop_code_headers() -> SafeString:
    """The <th> of each drop type, in DROP_CODES order (a table by rep, owner or team)."""
    return _CODE_HEADERS


@register.simple_tag
def promise_keeping_rows(rows: list) -> SafeString:
    """The rows of the promise-keeping table (PromiseKeepingRow), written as the
    template's loop wrote them, in one call."""
    out = []
    for row in rows:
        share = row.kept_share
        out.append(
            f'\n        <tr data-testid="promise-keeping-rep"><td>{_escape(row.name)}</td>'
            f'<td class="text-end">{row.made}</td><td class="text-end">{row.kept}</td>'
            f'<td class="text-end{" text-danger fw-semibold" if row.broken else ""}">{row.broken}</td>'
            f'<td class="text-end">{row.renegotiated}</td><td class="text-end">{row.still_open}</td>'
            f'<td class="text-end">{row.dropped}</td>'
            f'<td class="text-end">{"—" if share is None else f"{share}%"}</td></tr>\n        '
        )
    return mark_safe("".join(out))  # noqa: S308 — names escaped, the rest are integers


# The manager dashboard's lists, written here for the same reason (issue 17: its ~60 rows
# and their `{% url %}`, `|date` and `|timesince` were most of its rendering). Each writes
# exactly what the loop it replaces in dashboard.html wrote, blank lines included.


@register.simple_tag
def open_drop_items(open_drops: list[dict]) -> SafeString:
    """The dashboard's open drops per type, each count linking to them."""
    drilldown = url_for_each("followups:report_drilldown")
    out = []
    for row in open_drops:
        code, count = row["code"], row["count"]
        link = (
            f'<a href="{_escape(drilldown(code))}?open=1" data-testid="open-{_escape(code)}">{count}</a>'
            if count
            else '<span class="text-body-tertiary">0</span>'
        )
        out.append(
            '\n        <li class="list-group-item d-flex justify-content-between py-1">\n'
            f"          <span>{_escape(row['label'])}</span>\n          {link}\n        </li>\n        "
        )
    return mark_safe("".join(out))  # noqa: S308 — texts and links escaped, counts are integers


@register.simple_tag
def least_healthy_items(accounts: list[Account]) -> SafeString:
    """The dashboard's least healthy accounts: name, owner, and the score linking to the
    account's open drops."""
    account_link = url_for_each("handoffs:account_detail")
    drops = _escape(url_for_each("followups:report_drilldown")("all"))
    out = []
    for account in accounts:
        score = account.health_score
        out.append(
            "\n            \n"
            '            <li class="list-group-item d-flex justify-content-between align-items-center py-1">\n'
            f'              <span><a href="{_escape(account_link(account.pk))}">{_escape(account.name)}</a>\n'
            f'                <small class="text-body-secondary">· {_escape(str(account.owner))}</small></span>\n'
            f'              <a class="badge text-bg-{health_class(score)} text-decoration-none"'
            f' href="{drops}?account={account.pk}&amp;open=1" title="Open dropped batons of this account">{score}</a>\n'
            "            </li>\n            "
        )
    return mark_safe("".join(out))  # noqa: S308 — texts and links escaped, the rest are integers


@register.simple_tag
def overdue_rows(rows: list[dict]) -> SafeString:
    """The dashboard's overdue check-ins per rep: how many, and how late the oldest."""
    out = []
    for row in rows:
        days = row["days_late"]
        out.append(
            f'\n              <tr><td>{_escape(row["name"])}</td><td class="text-end">{row["count"]}</td>'
            f'<td class="text-end">{days} day{"" if days == 1 else "s"} late</td></tr>\n            '
        )
    return mark_safe("".join(out))  # noqa: S308 — names escaped, the rest are integers


@register.simple_tag
def waiting_rows(handoffs: list) -> SafeString:
    """The dashboard's hand-offs waiting for an owner (WaitingHandoff): the close as
    `date:"j M"` and `timesince` (made once per distinct day), who declined, the link."""
    handoff_link = url_for_each("handoffs:handoff_detail")
    days: dict[datetime.date, str] = {}
    out = []
    for handoff in handoffs:
        if handoff.closed_on not in days:
            days[handoff.closed_on] = (
                f"{_escape(date_format(handoff.closed_on, 'j M'))} "
                f'<small class="text-body-secondary">({_escape(timesince(handoff.closed_on))} ago)</small>'
            )
        if handoff.status == "declined":
            by = "" if handoff.declined_by_name is None else f" by {_escape(handoff.declined_by_name)}"
            status = f'<span class="badge text-bg-danger" title="{_escape(handoff.decline_reason)}">Declined{by}</span>'
        else:
            status = '<span class="badge text-bg-warning">Awaiting owner</span>'
        out.append(
            "\n          \n          <tr>\n"
            f"            <td>{_escape(handoff.deal_title)}</td>\n"
            f"            <td>{_escape(handoff.account_name)}</td>\n"
            f"            <td>{days[handoff.closed_on]}</td>\n"
            f"            <td>{_escape(handoff.rep_name)}</td>\n"
            f"            <td>{status}</td>\n"
            '            <td class="text-end"><a class="btn btn-sm btn-outline-primary"'
            f' href="{_escape(handoff_link(handoff.pk))}">Assign</a></td>\n'
            "          </tr>\n        "
        )
    return mark_safe("".join(out))  # noqa: S308 — texts and links escaped
