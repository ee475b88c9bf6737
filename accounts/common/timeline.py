"""Paging through a timeline (account, deal or hand-off events), newest first."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet, Subquery

from accounts.models import TimelineEvent

# A timeline shows this many events at a time; "Older events" shows the next ones.
TIMELINE_PAGE_SIZE = 100


@dataclass(frozen=True)
class TimelinePage:
    """One page of a timeline, newest first. `older_cursor` is the id to pass as
    `before` for the next, older page (None on the last one); `is_first` says whether
    this is the newest page."""

    events: list[TimelineEvent]
    older_cursor: int | None
    is_first: bool


def timeline_cursor(value: str | None) -> int | None:
    """The `before` cursor of a timeline page from a query parameter; nonsense (not an
    id, or too big for one) is the newest page."""
    if not value or not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    return int(value) or None


def timeline_page(
    events: QuerySet[TimelineEvent], *, before: int | None = None, size: int = TIMELINE_PAGE_SIZE
) -> TimelinePage:
    """The page of `events` (newest first) that comes after the event `before`, in one
    query whatever the page (plus the caller's prefetches).

    A keyset on (created_at, id), not an offset: an event written while someone reads
    does not push one they saw onto the next page, and events with the same timestamp
    are neither skipped nor shown twice. `before` is looked up within `events`, so an
    id from a timeline the user may not read gives an empty page, not someone else's.
    """
    events = events.order_by("-created_at", "-id")
    if before is not None:
        anchor = Subquery(events.filter(pk=before).order_by().values("created_at")[:1])
        events = events.filter(Q(created_at__lt=anchor) | Q(created_at=anchor, pk__lt=before))
    rows = list(events[: size + 1])
    older = rows[size - 1].pk if len(rows) > size else None
    return TimelinePage(events=rows[:size], older_cursor=older, is_first=before is None)
