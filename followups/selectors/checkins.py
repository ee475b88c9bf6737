"""Reads of check-ins: the "My check-ins" sections, an account's check-ins and the
calendar feed's items, scoped to the check-ins the user may work (followups.access).

Every query decides its select_related here, so that pages run a fixed number of
queries whatever the number of rows.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Concat, NullIf, Trim
from django.utils import timezone

from accounts.models import Account, User
from followups.access import checkins_workable_by, handoffs_checkins_addable_by
from followups.choices import CheckInStatus
from followups.lateness import as_flag, checkin_late
from followups.models import CheckIn
from handoffs.choices import HandoffStatus
from handoffs.models import Handoff, Meeting

# A hand-off in one of these states has a delivery owner who accepted it.
ACCEPTED_HANDOFF_STATUSES = frozenset(
    {HandoffStatus.ACCEPTED, HandoffStatus.MEETING_SCHEDULED, HandoffStatus.MEETING_HELD, HandoffStatus.COMPLETE}
)
UPCOMING_DAYS = 30
RECENTLY_DONE_DAYS = 30
RECENTLY_DONE_LIMIT = 20
# "My check-ins" shows at most this many of each scheduled section (the most overdue,
# the next due) with the section's total; the overdue ones are all on their own pages.
SECTION_LIMIT = 25
OVERDUE_PAGE_SIZE = 50
# Meetings further back than this are of no use in a subscribed calendar.
FEED_MEETINGS_PAST_DAYS = 90


def user_local_today(user: User) -> datetime.date:
    """Today's date where the user is: "due today" means the user's today, not UTC's."""
    return timezone.localdate(timezone=user.tzinfo)


def _with_listed(queryset: QuerySet[CheckIn]) -> QuerySet[CheckIn]:
    """What a list of check-ins names (the API's rows: the account, the deal, the rep;
    the exports read their own columns): every field of the check-in, the names of the
    related rows and no more. It used to join the rep's team, the delivery owner and the
    new deal too (of which a list shows only the id): PostgreSQL's planning of that
    seven-table join cost ten times its execution."""
    return queryset.select_related("account", "rep", "handoff__deal").only(
        *(field.name for field in CheckIn._meta.concrete_fields),
        "account__name",
        "rep__first_name",
        "rep__last_name",
        "rep__username",
        "handoff__deal__title",
    )


def _with_shown(queryset: QuerySet[CheckIn]) -> QuerySet[CheckIn]:
    """What a row of "My check-ins" shows, and no more: the check-in's own shown fields,
    and as plain annotations the account's name (`account_name`), the deal's title
    (`deal_title`), the new deal's title (`opened_deal_title`) and the rep's name
    (`rep_name`, as User.__str__). At a hundred rows a page, building an account, a rep, a
    hand-off and two deals per row, and planning the wider join for them, cost more than
    running the queries."""
    return queryset.only(
        "account", "rep", "cadence_days", "due_on", "status", "done_at", "channel", "sentiment", "issues_raised"
    ).annotate(
        account_name=F("account__name"),
        deal_title=F("handoff__deal__title"),
        opened_deal_title=F("opened_deal__title"),
        rep_name=Coalesce(
            NullIf(Trim(Concat("rep__first_name", Value(" "), "rep__last_name")), Value("")), "rep__username"
        ),
    )


def checkin_list_queryset(user: User, *, today: datetime.date | None = None) -> QuerySet[CheckIn]:
    """Every check-in `user` may work (followups.access.checkins_workable_by) with what a
    list shows of it (_with_listed), each flagged `is_overdue`
    (followups.lateness.checkin_late, asked about the user's own today): one query per
    page, whatever the rows."""
    today = today or user_local_today(user)
    return _with_listed(checkins_workable_by(user)).annotate(is_overdue=as_flag(checkin_late(today)))


@dataclass
class CheckinSections:
    """The four lists of the "My check-ins" page, as evaluated lists, each bounded, with
    the totals of the scheduled ones (a section may hold more than it shows)."""

    today: datetime.date
    due_today: list[CheckIn] = field(default_factory=list)
    overdue: list[CheckIn] = field(default_factory=list)
    upcoming: list[CheckIn] = field(default_factory=list)
    recently_done: list[CheckIn] = field(default_factory=list)
    due_today_count: int = 0
    overdue_count: int = 0
    upcoming_count: int = 0

    @property
    def is_empty(self) -> bool:
        return not (self.due_today or self.overdue or self.upcoming or self.recently_done)


def _workable_for(user: User, rep: User | None) -> QuerySet[CheckIn]:
    checkins = checkins_workable_by(user)
    return checkins.filter(rep=rep) if rep is not None else checkins


def _mark_days_overdue(checkins: list[CheckIn], today: datetime.date) -> list[CheckIn]:
    for checkin in checkins:
        checkin.days_overdue = (today - checkin.due_on).days
    return checkins


def checkin_sections_for(user: User, *, rep: User | None = None) -> CheckinSections:
    """Due today, overdue, upcoming (next 30 days) and recently done check-ins that
    `user` may work, optionally only those of `rep`: at most SECTION_LIMIT of each
    scheduled section (the most overdue first, the next due first) and their totals, the
    last RECENTLY_DONE_LIMIT done. Five queries, whatever the rows, each a range of the
    index on (rep, status, due_on) or of the partial index on done check-ins."""
    today = user_local_today(user)
    workable = _workable_for(user, rep)
    scheduled = _with_shown(workable.filter(status=CheckInStatus.SCHEDULED)).order_by("due_on", "id")
    horizon = today + datetime.timedelta(days=UPCOMING_DAYS)
    # COUNT(due_on) (never null), not COUNT(id): the index on (rep, status, due_on) then
    # answers alone, an index-only scan.
    totals = workable.filter(status=CheckInStatus.SCHEDULED, due_on__lte=horizon).aggregate(
        overdue=Count("due_on", filter=checkin_late(today)),
        due_today=Count("due_on", filter=Q(due_on=today)),
        upcoming=Count("due_on", filter=Q(due_on__gt=today)),
    )
    done_since = timezone.now() - datetime.timedelta(days=RECENTLY_DONE_DAYS)
    return CheckinSections(
        today=today,
        due_today=list(scheduled.filter(due_on=today)[:SECTION_LIMIT]),
        overdue=_mark_days_overdue(list(scheduled.filter(checkin_late(today))[:SECTION_LIMIT]), today),
        upcoming=list(scheduled.filter(due_on__gt=today, due_on__lte=horizon)[:SECTION_LIMIT]),
        recently_done=list(
            _with_shown(workable.filter(status=CheckInStatus.DONE, done_at__gte=done_since)).order_by(
                "-done_at", "-id"
            )[:RECENTLY_DONE_LIMIT]
        ),
        due_today_count=totals["due_today"],
        overdue_count=totals["overdue"],
        upcoming_count=totals["upcoming"],
    )


def overdue_checkins_page(user: User, *, rep: User | None = None, page_number: str | int | None = None) -> Page:
    """Every overdue check-in `user` may work (optionally `rep`'s), most overdue first,
    one page of OVERDUE_PAGE_SIZE at a time: a COUNT and a page, both index ranges."""
    today = user_local_today(user)
    overdue = _with_shown(_workable_for(user, rep).filter(checkin_late(today)))
    page = Paginator(overdue.order_by("due_on", "id"), OVERDUE_PAGE_SIZE).get_page(page_number)
    page.object_list = _mark_days_overdue(list(page.object_list), today)
    return page


def checkins_for_account(account: Account) -> list[CheckIn]:
    """Every check-in of an account, next due first, then the done ones (one query).

    Who may see the account is the account page's decision; this only reads. What the
    account page's panel shows and no more: the check-in's shown fields, its rep with
    their team (who may log it: followups.access.checkin_workable_in_memory), and as
    annotations the titles of its deal (`deal_title`) and of the deal it opened
    (`opened_deal_title`). An account has ~50 check-ins: building a hand-off, two deals,
    the delivery owner and the account again for each cost more than the query."""
    shown = CheckIn.objects.filter(account=account).select_related("rep__team")
    shown = shown.only(
        "handoff",
        "rep__first_name",
        "rep__last_name",
        "rep__username",
        "rep__team__manager",
        "opened_deal",
        "cadence_days",
        "due_on",
        "status",
        "done_at",
        "channel",
        "sentiment",
        "notes",
        "issues_raised",
    ).annotate(deal_title=F("handoff__deal__title"), opened_deal_title=F("opened_deal__title"))
    checkins = list(shown.order_by("due_on", "id"))
    scheduled = [checkin for checkin in checkins if checkin.status == CheckInStatus.SCHEDULED]
    done = sorted(
        (checkin for checkin in checkins if checkin.status == CheckInStatus.DONE),
        key=lambda checkin: checkin.done_at or timezone.now(),
        reverse=True,
    )
    return scheduled + done


def feed_checkins_for(user: User) -> QuerySet[CheckIn]:
    """The user's scheduled check-ins for their calendar feed, with how many times each
    moved (the iCalendar SEQUENCE, so that calendars take the new date)."""
    return (
        CheckIn.objects.filter(rep=user, status=CheckInStatus.SCHEDULED)
        .select_related("account", "handoff__deal")
        .annotate(reschedule_count=Count("reschedules"))
        .order_by("due_on", "id")
    )


def feed_meetings_for(user: User) -> QuerySet[Meeting]:
    """Hand-off meetings the user is invited to, recent and upcoming, for their feed."""
    since = timezone.now() - datetime.timedelta(days=FEED_MEETINGS_PAST_DAYS)
    return (
        Meeting.objects.filter(attendees__user=user, starts_at__gte=since)
        .select_related("handoff__deal__account")
        .distinct()
        .order_by("starts_at", "id")
    )


def handoffs_open_to_checkins_for(user: User) -> QuerySet[Handoff]:
    """Accepted hand-offs to which `user` may add a check-in by hand: their own as the
    rep, their team's as a manager, all for an admin (followups.access)."""
    handoffs = Handoff.objects.filter(delivery_owner__isnull=False, status__in=ACCEPTED_HANDOFF_STATUSES)
    return handoffs.filter(handoffs_checkins_addable_by(user)).select_related("deal__account", "rep")
