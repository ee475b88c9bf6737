"""Reads of check-ins: the "My check-ins" sections, an account's check-ins and the
calendar feed's items, scoped to the check-ins the user may work (followups.access).

Every query decides its select_related here, so that pages run a fixed number of
queries whatever the number of rows.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import CharField, Count, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Concat, NullIf, Trim
from django.utils import timezone

from accounts.common.expressions import InIdList, union_all
from accounts.models import Account, User
from followups.access import checkins_workable_by, handoffs_checkins_addable_by
from followups.choices import CheckInStatus
from followups.lateness import as_flag, checkin_late
from followups.models import CheckIn
from handoffs.choices import HandoffStatus
from handoffs.models import Deal, Handoff, Meeting
from handoffs.selectors.deals import sorted_as

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


def _with_shown(queryset: QuerySet[CheckIn], *, rep_names: bool = True) -> QuerySet[CheckIn]:
    """What a row of "My check-ins" shows, and no more: the check-in's own shown fields,
    and as plain annotations the account's name (`account_name`), the deal's title
    (`deal_title`), the new deal's title (`opened_deal_title`) and, with `rep_names`
    (the page names the rep only for a manager), the rep's name (`rep_name`, as
    User.__str__). At a hundred rows a page, building an account, a rep, a hand-off and
    two deals per row cost more than running the queries.

    The names are correlated subqueries, not joins: PostgreSQL spent ~2.5 ms *planning*
    the six-table join (the deal table has two dozen indexes, joined twice) to run it in
    ~0.6 ms; each subquery plans as one index probe (~0.5 ms for all four)."""
    names = {
        "account_name": Subquery(Account.objects.filter(pk=OuterRef("account_id")).order_by().values("name")),
        "deal_title": Subquery(Handoff.objects.filter(pk=OuterRef("handoff_id")).order_by().values("deal__title")),
        "opened_deal_title": Subquery(Deal.objects.filter(pk=OuterRef("opened_deal_id")).order_by().values("title")),
    }
    if rep_names:
        full_name = NullIf(Trim(Concat("first_name", Value(" "), "last_name")), Value(""))
        names["rep_name"] = Subquery(
            User.objects.filter(pk=OuterRef("rep_id")).order_by().values(name=Coalesce(full_name, "username"))
        )
    return queryset.only(
        "account", "rep", "cadence_days", "due_on", "status", "done_at", "channel", "sentiment", "issues_raised"
    ).annotate(**names)


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


def checkin_sections_for(user: User, *, rep: User | None = None, rep_names: bool = True) -> CheckinSections:
    """Due today, overdue, upcoming (next 30 days) and recently done check-ins that
    `user` may work, optionally only those of `rep`: at most SECTION_LIMIT of each
    scheduled section (the most overdue first, the next due first) and their totals, the
    last RECENTLY_DONE_LIMIT done; `rep_names` as for _with_shown.

    Three queries, whatever the rows: the totals; the ids of the four sections' rows,
    each section's picked by its own range of the index on (rep, status, due_on) or of
    the partial index on done check-ins; the rows. A query per section cost four
    plannings and four compilations of the same names."""
    today = user_local_today(user)
    workable = _workable_for(user, rep)
    horizon = today + datetime.timedelta(days=UPCOMING_DAYS)
    # COUNT(due_on) (never null), not COUNT(id): the index on (rep, status, due_on) then
    # answers alone, an index-only scan.
    totals = workable.filter(status=CheckInStatus.SCHEDULED, due_on__lte=horizon).aggregate(
        overdue=Count("due_on", filter=checkin_late(today)),
        due_today=Count("due_on", filter=Q(due_on=today)),
        upcoming=Count("due_on", filter=Q(due_on__gt=today)),
    )
    scheduled = Q(status=CheckInStatus.SCHEDULED)
    done_since = timezone.now() - datetime.timedelta(days=RECENTLY_DONE_DAYS)
    # Each section: which check-ins, in what order, how many. The filters do not overlap.
    sections = {
        "overdue": (scheduled & checkin_late(today), ("due_on", "id"), SECTION_LIMIT),
        "due_today": (scheduled & Q(due_on=today), ("due_on", "id"), SECTION_LIMIT),
        "upcoming": (scheduled & Q(due_on__gt=today, due_on__lte=horizon), ("due_on", "id"), SECTION_LIMIT),
        "recently_done": (
            Q(status=CheckInStatus.DONE, done_at__gte=done_since),
            ("-done_at", "-id"),
            RECENTLY_DONE_LIMIT,
        ),
    }
    # The ids of each section's rows with the section's name: one UNION ALL of four
    # LIMITed index scans. Then the rows by id (filtering on the UNION as a subquery made
    # Django clone and relabel each arm, which cost more CPU than a query).
    picks = [
        workable.filter(condition)
        .order_by(*order)
        .annotate(section=Value(name, output_field=CharField()))
        .values_list("pk", "section")[:limit]
        for name, (condition, order, limit) in sections.items()
    ]
    section_of = dict(union_all(picks))
    rows = _with_shown(CheckIn.objects.filter(InIdList("pk", list(section_of))), rep_names=rep_names).order_by()
    listed: dict[str, list[CheckIn]] = {name: [] for name in sections}
    for checkin in rows:
        listed[section_of[checkin.pk]].append(checkin)
    for name, (_, order, _) in sections.items():
        sorted_as(listed[name], order)
    return CheckinSections(
        today=today,
        due_today=listed["due_today"],
        overdue=_mark_days_overdue(listed["overdue"], today),
        upcoming=listed["upcoming"],
        recently_done=listed["recently_done"],
        due_today_count=totals["due_today"],
        overdue_count=totals["overdue"],
        upcoming_count=totals["upcoming"],
    )


def overdue_checkins_page(
    user: User, *, rep: User | None = None, page_number: str | int | None = None, rep_names: bool = True
) -> Page:
    """Every overdue check-in `user` may work (optionally `rep`'s), most overdue first,
    one page of OVERDUE_PAGE_SIZE at a time: a COUNT and a page, both index ranges;
    `rep_names` as for _with_shown."""
    today = user_local_today(user)
    overdue = _with_shown(_workable_for(user, rep).filter(checkin_late(today)), rep_names=rep_names)
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
