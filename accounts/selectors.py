"""Reads of the accounts app that do not need the apps above it.

Who may *see* an account also depends on hand-offs (a delivery lead reads the accounts
they are proposed for), so that rule lives in handoffs.selectors.accounts; who may
*change* an account depends only on ownership and teams, so it lives here, where the
account services can enforce it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet, Subquery

from accounts.models import Account, Team, TimelineEvent, User

# A timeline shows this many events at a time; "Older events" shows the next ones.
TIMELINE_PAGE_SIZE = 100


def team_scope_ids(user: User) -> set[int]:
    """The teams whose records the user reads as "their team's": their own team, plus
    every team they manage (a manager may lead a team they are not a member of)."""
    scope = {user.team_id} if user.team_id else set()
    if user.is_manager:
        scope |= set(Team.objects.filter(manager=user).values_list("pk", flat=True))
    return scope


def account_editable_by(user: User, account: Account, *, scope: set[int] | None = None) -> bool:
    """Reps change the accounts they own; managers their team's; admins every one.
    Delivery leads only read (issue 3), even the accounts they own."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_admin_role:
        return True
    if user.is_rep:
        return account.owner_id == user.pk
    if user.is_manager:
        scope = team_scope_ids(user) if scope is None else scope
        return account.owner_id == user.pk or account.team_id in scope
    return False


def account_users_assignable_by(user: User):
    """The users an actor may make the owner of an account or a deal: admins anyone
    active, managers the members of their teams, reps only themselves."""
    active = User.objects.filter(is_active=True)
    if user.is_admin_role:
        return active
    if user.is_manager:
        return active.filter(team_id__in=team_scope_ids(user))
    return active.filter(pk=user.pk)


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
