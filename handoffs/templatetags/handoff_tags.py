"""Template filters of the hand-off pages."""

from __future__ import annotations

import datetime
from functools import lru_cache

from django import template
from django.template.defaultfilters import date as date_filter
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import get_language

register = template.Library()


@lru_cache(maxsize=4096)
def _date_label(value: datetime.date, format_string: str, language: str | None) -> str:
    return date_format(value, format_string)


@register.filter(expects_localtime=True)
def day_date(value, format_string: str):
    """`|date:format_string` for a calendar date (a DateField), remembered per date,
    format and language: Django's date filter costs ~30 µs a call (the month's name goes
    through the translations each time), and My hand-offs prints ~200 dates. A
    datetime, whose text depends on the time zone, goes to the date filter itself."""
    if type(value) is not datetime.date:
        return date_filter(value, format_string)
    return _date_label(value, format_string, get_language())


@register.filter
def status_badge(handoff) -> str:
    """A hand-off's status as a badge: the one place for its markup (the detail panels and
    the per-row lists all print it; a filter costs a list row a few µs, an include ~40)."""
    return format_html(
        '<span class="state-badge state-{}" data-testid="handoff-status">{}</span>',
        handoff.status,
        handoff.get_status_display(),
    )
