"""Reads of deals: who may see and change which deal, and the pipeline pages.

Visibility (issue 3): reps see their own deals and their team's; managers their
teams' (a delivery manager also the deals their delivery leads are handed); delivery
leads the deals of the accounts they own or are proposed for; admins every deal.
Changing a deal: reps their own, managers their teams', admins all; delivery leads none.
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import Contact, OrganisationSettings, TimelineEvent, User
from accounts.selectors import TimelinePage, team_scope_ids, timeline_page
from handoffs.choices import OPEN_STAGES, Stage
from handoffs.models import Deal, DealContact, Promise
from handoffs.selectors.accounts import accounts_visible_to, handoffs_handed_to, team_member_ids
from handoffs.selectors.expressions import InSubquery

# A column shows this many cards; the rest are one click away in the list.
BOARD_COLUMN_LIMIT = 25
MY_DAY_LIST_LIMIT = 50
BOARD_CLOSED_WITHIN_DAYS = 30
STAGE_ORDER = {stage: position for position, stage in enumerate(Stage.values)}


def deals_visible_to(user: User) -> QuerySet[Deal]:
    """Every deal `user` may read (a queryset to filter further)."""
    deals = Deal.objects.all()
    if not user.is_authenticated or not user.is_active:
        return deals.none()
    if user.is_admin_role:
        return deals
    if user.is_delivery:
        return deals.filter(account__in=accounts_visible_to(user).values("pk"))
    scope = team_scope_ids(user)
    visible = Q(owner=user)
    if scope:
        # Every arm filters on the deal's own columns (or an id list computed once), so
        # PostgreSQL answers the OR with a BitmapOr of indexes instead of joining the
        # users to every deal. A deal's team is its owner's team when it was opened or
        # handed over; the owner's current team still counts (someone who changed team).
        members = team_member_ids(scope)
        visible |= Q(team_id__in=scope) | InSubquery("owner_id", members)
        if user.is_manager:
            visible |= InSubquery("pk", handoffs_handed_to(members).values("deal_id"))
    return deals.filter(visible)


def deal_editable_by(user: User, deal: Deal, *, scope: set[int] | None = None) -> bool:
    """Whether `user` may change `deal` (edit, move, close, add contacts and promises)."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_admin_role:
        return True
    if user.is_rep:
        return deal.owner_id == user.pk
    if user.is_manager:
        scope = team_scope_ids(user) if scope is None else scope
        return deal.owner_id == user.pk or deal.team_id in scope
    return False


def deal_reopenable_by(user: User, deal: Deal) -> bool:
    """Reopening a closed deal is for the managers who may change it, and admins."""
    return (user.is_manager or user.is_admin_role) and deal_editable_by(user, deal)


def contact_count() -> Coalesce:
    """An annotation: how many customer contacts the deal names."""
    counts = (
        DealContact.objects.filter(deal=OuterRef("pk"))
        .order_by()
        .values("deal")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))


def stage_rank() -> Case:
    """An annotation ordering stages as the pipeline does (not alphabetically)."""
    return Case(
        *[When(stage=stage, then=Value(position)) for stage, position in STAGE_ORDER.items()],
        output_field=IntegerField(),
    )


def deal_list_queryset(user: User) -> QuerySet[Deal]:
    """The deal list before filtering: one query per page, whatever the rows."""
    return (
        deals_visible_to(user)
        .select_related("account", "owner")
        .annotate(contact_count=contact_count(), stage_rank=stage_rank())
    )


def deal_for_detail(user: User, pk: int) -> Deal:
    """The deal page's deal (404 when `user` may not read it) with its contacts,
    promises and hand-off loaded up front."""
    queryset = (
        deals_visible_to(user)
        .select_related("account", "account__owner", "owner", "team", "handoff")
        .prefetch_related(
            Prefetch("deal_contacts", queryset=DealContact.objects.select_related("contact")),
            Prefetch("promises", queryset=Promise.objects.select_related("created_by")),
        )
    )
    return get_object_or_404(queryset, pk=pk)


def deal_for_change(user: User, pk: int) -> Deal:
    """A deal `user` may read, for a page that changes it: 404 if they may not read it
    (views then answer 403 if they may read it but not change it)."""
    return get_object_or_404(deals_visible_to(user).select_related("account", "owner", "handoff"), pk=pk)


def deal_timeline(deal: Deal, *, before: int | None = None) -> TimelinePage:
    """A page of the deal's own events, newest first: those older than the event `before`."""
    events = TimelineEvent.objects.filter(
        subject_type=ContentType.objects.get_for_model(Deal), subject_id=deal.pk
    ).select_related("actor")
    return timeline_page(events, before=before)


def contacts_addable_to(deal: Deal) -> QuerySet[Contact]:
    """Contacts of the deal's account not yet named on the deal."""
    return Contact.objects.filter(account_id=deal.account_id).exclude(deal_roles__deal=deal)


@dataclass
class BoardColumn:
    stage: str
    label: str
    deals: list[Deal]
    total: int

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES

    @property
    def hidden(self) -> int:
        return self.total - len(self.deals)


def board_columns(deals: QuerySet[Deal], *, today: datetime.date | None = None) -> list[BoardColumn]:
    """The pipeline board: one column per stage, in pipeline order. Open columns show
    up to BOARD_COLUMN_LIMIT deals (soonest next step first); won and lost show those
    closed in the last BOARD_CLOSED_WITHIN_DAYS days. Eight queries, whatever the rows."""
    today = today or timezone.localdate()
    on_board = deals.filter(
        Q(stage__in=OPEN_STAGES)
        | Q(closed_on__gte=today - datetime.timedelta(days=BOARD_CLOSED_WITHIN_DAYS), stage__in=[Stage.WON, Stage.LOST])
    )
    totals = dict(on_board.order_by().values_list("stage").annotate(total=Count("pk")))
    # One small indexed query per column (deal_stage_next_step_idx, deal_stage_closed_idx)
    # picks the ids shown; then only those deals are loaded, with their contact counts.
    positions: dict[int, int] = {}
    for stage in Stage.values:
        in_column = on_board.filter(stage=stage).order_by()
        if stage in OPEN_STAGES:
            in_column = in_column.order_by(F("next_step_due").asc(nulls_last=True), "pk")
        else:
            in_column = in_column.order_by("-closed_on", "pk")
        for position, pk in enumerate(in_column.values_list("pk", flat=True)[:BOARD_COLUMN_LIMIT]):
            positions[pk] = position
    ranked = sorted(
        Deal.objects.filter(pk__in=list(positions))
        .select_related("account", "owner")
        .annotate(contact_count=contact_count()),
        key=lambda deal: positions[deal.pk],
    )
    by_stage: dict[str, list[Deal]] = {stage: [] for stage in Stage.values}
    for deal in ranked:
        by_stage[deal.stage].append(deal)
    return [
        BoardColumn(stage=stage, label=label, deals=by_stage[stage], total=totals.get(stage, 0))
        for stage, label in Stage.choices
    ]


@dataclass
class MyDay:
    overdue: list[Deal]
    due_today: list[Deal]
    closing_this_month: list[Deal]
    single_threaded: list[Deal]
    single_threaded_stages: list[str]
    open_count: int


def my_day(user: User, *, today: datetime.date | None = None) -> MyDay:
    """A rep's home: their open deals whose next step is overdue or due today, those
    expected to close this month, and late-stage deals with a single customer contact."""
    today = today or timezone.localdate()
    late_stages = [stage for stage in OrganisationSettings.load().single_threaded_stages if stage in OPEN_STAGES]
    mine = (
        Deal.objects.filter(owner=user, stage__in=OPEN_STAGES)
        .select_related("account")
        .annotate(contact_count=contact_count(), stage_rank=stage_rank())
    )
    first_of_month = today.replace(day=1)
    last_of_month = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    return MyDay(
        overdue=list(mine.filter(next_step_due__lt=today).order_by("next_step_due", "pk")[:MY_DAY_LIST_LIMIT]),
        due_today=list(mine.filter(next_step_due=today).order_by("pk")[:MY_DAY_LIST_LIMIT]),
        closing_this_month=list(
            mine.filter(expected_close_date__range=(first_of_month, last_of_month)).order_by(
                "expected_close_date", "pk"
            )[:MY_DAY_LIST_LIMIT]
        ),
        single_threaded=list(
            mine.filter(stage__in=late_stages, contact_count__lte=1).order_by("-stage_rank", "pk")[:MY_DAY_LIST_LIMIT]
        ),
        single_threaded_stages=late_stages,
        open_count=mine.count(),
    )


def deal_owner_choices(user: User) -> QuerySet[User]:
    """The owners of the deals `user` may read (for the list's owner filter)."""
    owner_ids = deals_visible_to(user).order_by().values("owner_id")
    if user.is_admin_role:
        # Every deal: a semi-join finds each user's first deal through the owner index.
        return User.objects.filter(pk__in=owner_ids).order_by("first_name", "last_name")
    # A scoped list: its distinct owners once (from the indexes), not a probe per user.
    return User.objects.filter(InSubquery("pk", owner_ids.distinct())).order_by("first_name", "last_name")
