"""Reads of deals: the pipeline pages, each scoped to the deals the user may read
(handoffs.access.deals_visible_to, which also says who may change a deal)."""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from operator import attrgetter

from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import Expression
from django.db.models.functions import Cast, Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.common.expressions import InIdList, id_list, union_all
from accounts.common.timeline import TimelinePage, timeline_page
from accounts.models import Contact, OrganisationSettings, TimelineEvent, User
from handoffs import lateness
from handoffs.access import deal_owners_visible_to, deals_visible_to
from handoffs.choices import OPEN_STAGES, Currency, Stage
from handoffs.models import Deal, DealContact
from handoffs.packet import deal_packet, packet_pending_q
from handoffs.selectors.people import attach_people
from handoffs.selectors.promises import promise_people, promises_for_page

# A column shows this many cards; the rest are one click away in the list.
BOARD_COLUMN_LIMIT = 25
MY_DAY_LIST_LIMIT = 50
BOARD_CLOSED_WITHIN_DAYS = 30
STAGE_ORDER = {stage: position for position, stage in enumerate(Stage.values)}
MY_DAY_FIELDS = (
    "title",
    "stage",
    "amount",
    "currency",
    "expected_close_date",
    "next_step",
    "next_step_due",
    "owner_id",
    "team_id",
)
# A card of the board (board_columns): its deal's fields and annotations, by name.
BOARD_CARD_FIELDS = (
    "pk",
    "title",
    "stage",
    "version",
    "amount",
    "currency",
    "next_step",
    "next_step_due",
    "closed_on",
    "owner_id",
    "team_id",
    "account_name",
    "owner_first_name",
    "owner_last_name",
    "owner_username",
    "contact_count",
    "next_step_is_late",
)


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


def next_step_is_late(today: datetime.date | None = None) -> Expression:
    """An annotation: the deal's next step is late (handoffs.lateness, as the reminders
    and the report see it), for the pages' "overdue" markers. `today` defaults to the
    current zone's date: in a request, the user's."""
    return lateness.as_flag(lateness.next_step_late(today or timezone.localdate()))


def deal_list_queryset(user: User, *, today: datetime.date | None = None) -> QuerySet[Deal]:
    """The deal list before filtering: one query per page, whatever the rows. The list,
    its count, its export and the deal API walk the deals in an order: the visibility
    rule's ordered_walk shape."""
    return (
        deals_visible_to(user, ordered_walk=True)
        .select_related("account", "owner")
        .annotate(contact_count=contact_count(), stage_rank=stage_rank(), next_step_is_late=next_step_is_late(today))
    )


def deal_for_detail(user: User, pk: int) -> Deal:
    """The deal page's deal (404 when `user` may not read it) with its contacts,
    promises, hand-off and the people they name loaded up front."""
    queryset = (
        deals_visible_to(user)
        .select_related("account", "team", "handoff")
        .annotate(next_step_is_late=next_step_is_late())
        .prefetch_related(
            Prefetch("deal_contacts", queryset=DealContact.objects.select_related("contact")),
            Prefetch("promises", queryset=promises_for_page(with_people=False)),
        )
    )
    deal = get_object_or_404(queryset, pk=pk)
    # Every person the page names, in one query (attach_people): as five joins to the
    # user table here and three in the promises' query, compiling and planning the
    # ~200 user columns cost more than the rest of the reads (4.5 against 1.7 ms).
    people = [(deal, "owner"), (deal.account, "owner"), (deal, "packet_waived_by")]
    handoff = getattr(deal, "handoff", None)
    if handoff is not None:
        people += [(handoff, "rep"), (handoff, "delivery_owner")]
    people += promise_people(deal.promises.all())
    attach_people(people, teams=True)
    return deal


def deal_for_change(user: User, pk: int) -> Deal:
    """A deal `user` may read, for a page that changes it: 404 if they may not read it
    (views then answer 403 if they may read it but not change it)."""
    return get_object_or_404(deals_visible_to(user).select_related("account", "owner", "handoff"), pk=pk)


def deal_for_next_step(user: User, pk: int) -> Deal:
    """A deal `user` may read, for its next step edited in place (issue 16): 404 if they
    may not read it; annotated with `next_step_is_late` for the component's marker."""
    return get_object_or_404(
        deals_visible_to(user).select_related("account", "owner").annotate(next_step_is_late=next_step_is_late()),
        pk=pk,
    )


def deal_timeline(deal: Deal, *, before: int | None = None) -> TimelinePage:
    """A page of the deal's own events, newest first: those older than the event `before`."""
    events = TimelineEvent.objects.filter(
        subject_type=ContentType.objects.get_for_model(Deal), subject_id=deal.pk
    ).select_related("actor")
    return timeline_page(events, before=before)


def contacts_addable_to(deal: Deal) -> QuerySet[Contact]:
    """Contacts of the deal's account not yet named on the deal."""
    return Contact.objects.filter(account_id=deal.account_id).exclude(deal_roles__deal=deal)


# How a column's total reads in its header: a symbol where it names one currency alone,
# the ISO code otherwise ("$" is the US dollar, "CA$" and "A$" say which other dollar).
CURRENCY_SIGNS = {
    Currency.EUR: "€",
    Currency.USD: "$",
    Currency.GBP: "£",
    Currency.JPY: "¥",
    Currency.CAD: "CA$",
    Currency.AUD: "A$",
}
CURRENCY_ORDER = {currency: position for position, currency in enumerate(Currency.values)}
_SHORT_SCALES = ((Decimal(10**3), "k"), (Decimal(10**6), "M"), (Decimal(10**9), "B"))


def short_amount(amount: Decimal, currency: str) -> str:
    """An amount as a column header shows it: "€120k", "$1.2M", "CHF 950". Rounded for a
    glance; the exact figure is in the header's tooltip (ColumnAmount.exact)."""
    number = f"{amount:.0f}"
    if len(number) > 3:
        for scale, suffix in _SHORT_SCALES:
            scaled = amount / scale
            # One decimal below 10 ("8.5k"), none above ("120k"); the smallest unit that
            # reads in three digits at most (999,999 is "1M", not "1000k").
            text = f"{scaled:.1f}".removesuffix(".0") if scaled < Decimal("9.95") else f"{scaled:.0f}"
            if len(text) <= 3 or suffix == _SHORT_SCALES[-1][1]:
                number = text + suffix
                break
    sign = CURRENCY_SIGNS.get(currency)
    return f"{sign}{number}" if sign else f"{currency} {number}"


@dataclass(frozen=True)
class ColumnAmount:
    """The sum of a column's deals in one currency: amounts in different currencies are
    never added together (Baton keeps no exchange rates)."""

    currency: str
    amount: Decimal

    @property
    def short(self) -> str:
        return short_amount(self.amount, self.currency)

    @property
    def exact(self) -> str:
        return f"{self.amount:,.0f} {self.currency}"


@dataclass
class BoardColumn:
    """One stage of the board. `count` and `amounts` cover the whole column, the deals
    beyond BOARD_COLUMN_LIMIT included; `deals` are the cards shown (board_columns)."""

    stage: str
    label: str
    deals: list
    count: int
    amounts: list[ColumnAmount] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES

    @property
    def hidden(self) -> int:
        return self.count - len(self.deals)

    @property
    def amount_summary(self) -> str:
        """ "€120k · $40k": one figure per currency, in the order Currency lists them."""
        return " · ".join(amount.short for amount in self.amounts)

    @property
    def amount_exact(self) -> str:
        return " · ".join(amount.exact for amount in self.amounts)


def board_columns(deals: QuerySet[Deal], *, today: datetime.date | None = None) -> list[BoardColumn]:
    """The pipeline board: one column per stage, in pipeline order. Open columns show
    up to BOARD_COLUMN_LIMIT deals (soonest next step first); won and lost show those
    closed in the last BOARD_CLOSED_WITHIN_DAYS days. Each column's count and total amount
    (per currency) cover all its deals, shown or not. Three queries, whatever the rows.

    A column's `deals` are its cards: named tuples of BOARD_CARD_FIELDS (the deal's
    `pk`, shown fields, `owner_id` and `team_id`; `account_name`, its owner's
    `owner_first_name`, `owner_last_name` and `owner_username`, `contact_count` and
    `next_step_is_late`)."""
    today = today or timezone.localdate()
    on_board = deals.filter(
        Q(stage__in=OPEN_STAGES)
        | Q(closed_on__gte=today - datetime.timedelta(days=BOARD_CLOSED_WITHIN_DAYS), stage__in=[Stage.WON, Stage.LOST])
    )
    # Counts and amounts in one grouped query: a row per (stage, currency).
    counts: dict[str, int] = dict.fromkeys(Stage.values, 0)
    amounts: dict[str, list[ColumnAmount]] = {stage: [] for stage in Stage.values}
    for row in on_board.order_by().values("stage", "currency").annotate(deals=Count("pk"), amount=Sum("amount")):
        counts[row["stage"]] += row["deals"]
        amounts[row["stage"]].append(ColumnAmount(currency=row["currency"], amount=row["amount"] or Decimal(0)))
    for column_amounts in amounts.values():
        column_amounts.sort(key=lambda amount: CURRENCY_ORDER.get(amount.currency, len(CURRENCY_ORDER)))
    # Each column's cards: the first BOARD_COLUMN_LIMIT of its stage, by a small indexed
    # scan of its own (deal_stage_next_step_idx, deal_stage_closed_idx), the six scans
    # one UNION ALL read as one array of ids (six queries cost six plannings and round
    # trips). Then the cards by id, put back in each scan's order here: filtering on the
    # UNION as a subquery made Django clone and relabel the visibility filter of every
    # arm, which cost more CPU than a query.
    open_ids = on_board.order_by(F("next_step_due").asc(nulls_last=True), "pk").values_list("pk", flat=True)
    closed_ids = on_board.order_by("-closed_on", "pk").values_list("pk", flat=True)
    in_columns = [
        (open_ids if stage in OPEN_STAGES else closed_ids).filter(stage=stage)[:BOARD_COLUMN_LIMIT]
        for stage in Stage.values
    ]
    shown = id_list(union_all(in_columns))
    cards = (
        Deal.objects.filter(InIdList("pk", shown))
        .order_by()
        .annotate(
            account_name=F("account__name"),
            owner_first_name=F("owner__first_name"),
            owner_last_name=F("owner__last_name"),
            owner_username=F("owner__username"),
            contact_count=contact_count(),
            next_step_is_late=next_step_is_late(today),
        )
        # Only what a card shows (and who may move it), as named tuples: a board shows
        # ~175 cards, and a model (with an account and a user) per card cost more than
        # the query.
        .values_list(*BOARD_CARD_FIELDS, named=True)
    )
    ranked = sorted(cards, key=_board_position)
    by_stage: dict[str, list] = {stage: [] for stage in Stage.values}
    for deal in ranked:
        by_stage[deal.stage].append(deal)
    return [
        BoardColumn(stage=stage, label=label, deals=by_stage[stage], count=counts[stage], amounts=amounts[stage])
        for stage, label in Stage.choices
    ]


def _board_position(deal) -> tuple:
    """A card's place in its column, as its column's scan orders it (board_columns):
    open deals by next step due, undated last; closed deals latest first."""
    if deal.stage in OPEN_STAGES:
        return (deal.next_step_due is None, deal.next_step_due or datetime.date.min, deal.pk)
    return (-deal.closed_on.toordinal(), deal.pk)


@dataclass
class MyDay:
    overdue: list[Deal]
    due_today: list[Deal]
    closing_this_month: list[Deal]
    single_threaded: list[Deal]
    single_threaded_stages: list[str]
    open_count: int
    # Won deals from a CRM waiting for their hand-off packet (handoffs.packet.packet_pending),
    # each with `packet_missing`, the parts still missing.
    packet_pending: list[Deal] = field(default_factory=list)


def my_day(user: User, *, today: datetime.date | None = None) -> MyDay:
    """A rep's home: their open deals whose next step is overdue or due today, those
    expected to close this month, and late-stage deals with a single customer contact
    (each list's deals with `account_name`; the single-threaded ones `contact_count`).

    The four lists in two queries, whatever the rows: the ids of each list's deals (one
    UNION ALL of four LIMITed scans, each tagged with its list; a deal may be in several)
    and those deals with only what the page shows. A query per list cost four
    plannings, four round trips and four compilations of the same columns. The same
    UNION finds the won deals waiting for their packet (`packet_pending`, each with
    `packet_missing`), read in full only when there are some."""
    today = today or timezone.localdate()
    organisation = OrganisationSettings.load()
    late_stages = [stage for stage in organisation.single_threaded_stages if stage in OPEN_STAGES]
    open_deals = Deal.objects.filter(owner=user, stage__in=OPEN_STAGES)
    first_of_month = today.replace(day=1)
    last_of_month = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    late_stage_rank = Case(
        *[When(stage=stage, then=Value(STAGE_ORDER[stage])) for stage in late_stages], output_field=IntegerField()
    )
    # Each list: its deals and their order (the order's fields are never null there).
    lists = {
        "overdue": (open_deals.filter(lateness.next_step_late(today)), ("next_step_due", "pk")),
        "due_today": (open_deals.filter(next_step_due=today), ("pk",)),
        "closing_this_month": (
            open_deals.filter(expected_close_date__range=(first_of_month, last_of_month)),
            ("expected_close_date", "pk"),
        ),
        "single_threaded": (
            open_deals.filter(stage__in=late_stages).alias(stage_rank=late_stage_rank),
            ("-stage_rank", "pk"),
        ),
    }
    # And the won deals waiting for their packet, loaded in full below only if any.
    pending = (Deal.objects.filter(packet_pending_q(), owner=user), ("packet_pending_since", "pk"))
    picks = []
    for name, (deals, order) in {**lists, "packet_pending": pending}.items():
        # Every arm the same columns in the same order: the deal, its list, and for the
        # single-threaded ones their contacts (at most one).
        single_threaded = name == "single_threaded"
        deals = deals.annotate(
            list_name=Value(name, output_field=CharField()),
            # A typed NULL: PostgreSQL would read a bare one in the first arm as text.
            contacts=contact_count() if single_threaded else Cast(Value(None), output_field=IntegerField()),
        )
        if single_threaded:
            deals = deals.filter(contacts__lte=1)
        picks.append(deals.order_by(*order).values_list("pk", "list_name", "contacts")[:MY_DAY_LIST_LIMIT])
    picked = list(union_all(picks))
    pending_ids = [pk for pk, name, _ in picked if name == "packet_pending"]
    picked = [(pk, name, contacts) for pk, name, contacts in picked if name in lists]
    # Only the columns the page shows (and who may change the deal), the account's name
    # as a plain value (`account_name`).
    shown = {
        deal.pk: deal
        for deal in open_deals.filter(InIdList("pk", list({pk for pk, _, _ in picked})))
        .order_by()
        .only(*MY_DAY_FIELDS)
        .annotate(account_name=F("account__name"))
    }
    listed: dict[str, list[Deal]] = {name: [] for name in lists}
    for pk, name, contacts in picked:
        deal = shown[pk]
        if name == "single_threaded":
            deal.contact_count = contacts
            deal.stage_rank = STAGE_ORDER[deal.stage]
        listed[name].append(deal)
    for name, (_, order) in lists.items():
        sorted_as(listed[name], order)
    return MyDay(
        overdue=listed["overdue"],
        due_today=listed["due_today"],
        closing_this_month=listed["closing_this_month"],
        single_threaded=listed["single_threaded"],
        single_threaded_stages=late_stages,
        open_count=open_deals.count(),
        packet_pending=_packet_pending_of(pending_ids, organisation),
    )


def sorted_as(rows: list, order: tuple[str, ...]) -> list:
    """`rows` (objects with the order's fields as attributes, never null) in the order
    `order_by(*order)` gives them: stable sorts from the last key to the first."""
    for key in reversed(order):
        rows.sort(key=attrgetter(key.lstrip("-")), reverse=key.startswith("-"))
    return rows


def _packet_pending_of(ids: list[int], organisation: OrganisationSettings) -> list[Deal]:
    """The won deals `ids` (my_day's, whose hand-off waits for the packet), oldest first,
    each with `packet_missing`: three queries, none when there are none (the usual)."""
    if not ids:
        return []
    pending = list(
        Deal.objects.filter(InIdList("pk", ids))
        .select_related("account")
        .prefetch_related("deal_contacts", "promises")
        .order_by("packet_pending_since", "pk")
    )
    for deal in pending:
        deal.packet_missing = deal_packet(deal, settings=organisation).missing
    return pending


def deal_owner_choices(user: User) -> QuerySet[User]:
    """The owners of the deals `user` may read (for the list's owner filter), with the
    columns their names need."""
    return (
        deal_owners_visible_to(user)
        .only("id", "first_name", "last_name", "username")
        .order_by("first_name", "last_name")
    )
