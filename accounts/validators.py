"""The one rule for every date or time a person types: it must fall within a plausible
window around their own today — at most ten years back, at most five years ahead.

A date such as 9999-12-31 or 0001-01-01 passes Python's and PostgreSQL's checks, but
nothing can be computed from it (the day after, the meeting's end, a report period, a
calendar invite): it overflows, and a page or a worker fails long after the typo was
saved. Forms attach these validators to their date fields; services call them again
on what they are given, so that a crafted request cannot skip them.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User

YEARS_BACK = 10
YEARS_AHEAD = 5


def user_today(user: User | None = None) -> datetime.date:
    """Today where `user` is; without a user, in the active time zone (a request's user's,
    set by UserTimezoneMiddleware)."""
    if user is not None:
        return timezone.localdate(timezone=user.tzinfo)
    return timezone.localdate()


def _years_from(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def plausible_date_window(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The first and last day (both included) a user may type, seen from `today`."""
    return _years_from(today, -YEARS_BACK), _years_from(today, YEARS_AHEAD)


def _refuse(earliest: datetime.date, latest: datetime.date, *, field: str | None) -> None:
    message = f"This date is not plausible: choose one between {earliest:%d %b %Y} and {latest:%d %b %Y}."
    error = ValidationError(message, code="implausible_date")
    raise ValidationError({field: error}) if field else error


def validate_plausible_date(
    value: datetime.date | None, *, field: str | None = None, today: datetime.date | None = None
) -> None:
    """Raise ValidationError (keyed by `field` if given) unless `value` lies in the
    plausible window around `today` (default: user_today()). None passes: whether a date
    is required is the caller's rule. Usable as a form field's validator as it is."""
    if value is None:
        return
    earliest, latest = plausible_date_window(today or user_today())
    if not earliest <= value <= latest:
        _refuse(earliest, latest, field=field)


def validate_plausible_datetime(
    value: datetime.datetime | None,
    *,
    field: str | None = None,
    today: datetime.date | None = None,
    tz: datetime.tzinfo | None = None,
) -> None:
    """validate_plausible_date for a moment: it must fall on one of the window's days in
    `tz` (default: the active time zone). The moment is compared with the window's ends,
    never converted, since converting 9999-12-31 23:30 to a zone east of UTC overflows."""
    if value is None:
        return
    tz = tz or timezone.get_current_timezone()
    earliest, latest = plausible_date_window(today or user_today())
    first = datetime.datetime.combine(earliest, datetime.time.min, tzinfo=tz)
    last = datetime.datetime.combine(latest, datetime.time.max, tzinfo=tz)
    moment = value if timezone.is_aware(value) else value.replace(tzinfo=tz)
    if not first <= moment <= last:
        _refuse(earliest, latest, field=field)
