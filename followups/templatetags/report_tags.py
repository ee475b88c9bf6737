"""Template tags of the dropped-baton report: the account's health panel and small
formatting helpers."""

from __future__ import annotations

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from accounts.models import Account
from followups.rules import DROP_CODES, RULES
from followups.selectors.report import LATENCY_METRICS, BreakdownRow, account_open_drops

register = template.Library()


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
            cells.append(f'<td class="text-end"><a href="{escape(drill_urls[code] + query)}">{count}</a></td>')
        else:
            cells.append('<td class="text-end"><span class="text-body-tertiary">0</span></td>')
    cells.append(f'<td class="text-end fw-semibold"><a href="{escape(drill_urls["all"] + query)}">{row.total}</a></td>')
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
