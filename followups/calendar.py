"""A user's iCalendar feed: their scheduled check-ins (all-day events on the due date)
and the hand-off meetings they are invited to.

UIDs are stable (derived from the row, never from the time of the request), so a
calendar that polls the feed updates its events instead of duplicating them; the
SEQUENCE rises when a check-in moves or a meeting is rescheduled.

One row that cannot be rendered (a date at the end of the calendar, say) is left out
and logged: a calendar app polls the feed every hour and would otherwise lose every
event, not just the broken one.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable
from urllib.parse import urlparse

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from accounts.models import User
from followups.models import CheckIn
from handoffs.calendar import meeting_event_uid
from handoffs.choices import MeetingStatus
from handoffs.models import Meeting

PRODID = "-//Baton//Check-ins and hand-off meetings//EN"

logger = logging.getLogger(__name__)


def _site_host() -> str:
    return urlparse(settings.SITE_URL).hostname or "baton.localhost"


def checkin_uid(checkin: CheckIn) -> str:
    return f"checkin-{checkin.pk}@{_site_host()}"


def _checkin_event(checkin: CheckIn, *, stamp: datetime.datetime) -> Event:
    event = Event()
    event.add("uid", checkin_uid(checkin))
    event.add("dtstamp", stamp)
    event.add("dtstart", checkin.due_on)
    event.add("dtend", checkin.due_on + datetime.timedelta(days=1))
    event.add("summary", f"Check-in: {checkin.account}")
    event.add("description", f"Check in with {checkin.account} about {checkin.handoff.deal}.")
    event.add("url", settings.SITE_URL + reverse("followups:checkin_log", args=[checkin.pk]))
    event.add("sequence", getattr(checkin, "reschedule_count", 0))
    event.add("transp", "TRANSPARENT")
    return event


def _meeting_event(meeting: Meeting, *, stamp: datetime.datetime) -> Event:
    event = Event()
    # The UID its e-mail invites carry (one function for both), so that a user who
    # accepted the invite and subscribes to the feed sees one event, not two.
    event.add("uid", meeting_event_uid(meeting))
    event.add("dtstamp", stamp)
    event.add("dtstart", meeting.starts_at)
    event.add("dtend", meeting.starts_at + datetime.timedelta(minutes=meeting.duration_minutes))
    event.add("summary", f"Hand-off meeting: {meeting.handoff.deal.account}")
    event.add("description", f"Three-way hand-off meeting for {meeting.handoff.deal}.")
    event.add("location", meeting.location)
    event.add("sequence", meeting.sequence)
    event.add("status", "CANCELLED" if meeting.status == MeetingStatus.CANCELLED else "CONFIRMED")
    return event


def calendar_feed_build(*, user: User, checkins: Iterable[CheckIn], meetings: Iterable[Meeting]) -> bytes:
    """The feed as iCalendar bytes."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"Baton — {user}")
    calendar.add("x-published-ttl", "PT1H")
    stamp = timezone.now()
    for checkin in checkins:
        _add_event(calendar, _checkin_event, checkin, stamp=stamp)
    for meeting in meetings:
        _add_event(calendar, _meeting_event, meeting, stamp=stamp)
    return calendar.to_ical()


def _add_event(
    calendar: Calendar, build: Callable[..., Event], row: CheckIn | Meeting, *, stamp: datetime.datetime
) -> None:
    """Add the row's event, or skip the row and log why: the rest of the feed is served."""
    try:
        event = build(row, stamp=stamp)
        event.to_ical()  # a value that builds but does not serialise would fail the whole feed later
    except Exception:
        logger.exception("Calendar feed: %s %s left out, it cannot be rendered.", type(row).__name__, row.pk)
        return
    calendar.add_component(event)
