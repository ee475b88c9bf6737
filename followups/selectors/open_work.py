"""What a person still holds, for their manager (or an admin) to give to someone else
(issue 15: a deactivated user's open work; nothing is orphaned).

A person holds: the accounts they own, their open deals, the hand-offs in progress they
are the rep of, the hand-offs they deliver (proposed to them and not answered, or
accepted and not complete), the open steps assigned to them, the promises still to keep
that they keep, and their scheduled check-ins. The ids of every group are one query (an
array per group, in its order); the first ROWS_SHOWN rows of each group that has any are
one more, by id and only the columns shown; the people each group may go to are read
once per page: the query count does not grow with the rows (issue 17: it was two
queries a group, and the rows' query by the group's filter and order could walk
thousands of rows for 25).

Who may read it is accounts.access.user_may_reassign_holdings_of (admins and
the manager of the person's team), the same rule the reassigning services check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import Q, QuerySet

from accounts.access import account_users_assignable_by, user_sells
from accounts.common.links import url_for_each
from accounts.models import Account, User
from followups.access import checkin_reps_for
from followups.choices import CheckInStatus
from followups.models import CheckIn
from handoffs.choices import OPEN_STAGES, HandoffStatus, Stage, StepOwnerRole, StepStatus
from handoffs.lateness import PROMISE_PENDING_STATUSES
from handoffs.models import Deal, Handoff, HandoffStep, Promise
from handoffs.selectors.handoffs import delivery_lead_choices
from handoffs.services.reassign import DELIVERY_HELD_STATUSES

KIND_ACCOUNTS = "accounts"
KIND_DEALS = "deals"
KIND_HANDOFFS_REP = "handoffs_rep"
KIND_HANDOFFS_DELIVERY = "handoffs_delivery"
KIND_STEPS = "steps"
KIND_PROMISES = "promises"
KIND_CHECKINS = "checkins"
# The page's order.
KINDS = (
    KIND_ACCOUNTS,
    KIND_DEALS,
    KIND_HANDOFFS_REP,
    KIND_HANDOFFS_DELIVERY,
    KIND_STEPS,
    KIND_PROMISES,
    KIND_CHECKINS,
)


def held_items(kind: str, person: User) -> QuerySet:
    """The rows of one kind that `person` holds (their reassigning services refuse any
    other: handoffs.services.reassign, followups.services.reassign)."""
    if kind == KIND_ACCOUNTS:
        return Account.objects.filter(owner=person).order_by("name", "pk")
    if kind == KIND_DEALS:
        return Deal.objects.filter(owner=person, stage__in=OPEN_STAGES).select_related("account").order_by("pk")
    if kind == KIND_HANDOFFS_REP:
        return (
            Handoff.objects.filter(rep=person)
            .exclude(status=HandoffStatus.COMPLETE)
            .select_related("deal__account")
            .order_by("closed_on", "pk")
        )
    if kind == KIND_HANDOFFS_DELIVERY:
        delivering = Q(status=HandoffStatus.OWNER_PROPOSED, proposed_owner=person) | Q(
            status__in=DELIVERY_HELD_STATUSES, delivery_owner=person
        )
        return Handoff.objects.filter(delivering).select_related("deal__account").order_by("closed_on", "pk")
    if kind == KIND_STEPS:
        return (
            HandoffStep.objects.filter(assignee=person, status=StepStatus.OPEN)
            .select_related("handoff__deal__account")
            .order_by("due_on", "pk")
        )
    if kind == KIND_PROMISES:
        return (
            Promise.objects.filter(owner=person, status__in=PROMISE_PENDING_STATUSES)
            .exclude(deal__stage=Stage.LOST)
            .select_related("deal__account")
            .order_by("target_date", "pk")
        )
    if kind == KIND_CHECKINS:
        return (
            CheckIn.objects.filter(rep=person, status=CheckInStatus.SCHEDULED)
            .select_related("account", "handoff__deal")
            .order_by("due_on", "pk")
        )
    raise ValueError(f"Unknown kind of open work: {kind!r}")


# How many items of a group the page lists (the first, in the group's order). A rep
# who leaves can hold thousands of scheduled check-ins: listed in full they made a 1.7 MB
# page that took half a second to render (issue 17). "Give all" still gives every item
# the page counted: their ids travel in one hidden field (HeldGroup.listed_value).
ROWS_SHOWN = 25


@dataclass(frozen=True)
class HeldRow:
    """One item of a group: what it is, a line about it, and where to look at it."""

    item_id: int
    title: str
    detail: str
    url: str


@dataclass
class HeldGroup:
    """The items of one kind a person holds (`item_ids`, all of them; `rows`, the first
    ROWS_SHOWN to show), and who they may be given to."""

    kind: str
    title: str
    give_label: str
    noun: str
    rows: list[HeldRow]
    item_ids: list[int]
    choices: list[User] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.item_ids)

    @property
    def is_capped(self) -> bool:
        return self.count > len(self.rows)

    @cached_property
    def listed_value(self) -> str:
        """Every id the page counted, for "Give all": one field, not one per item (a
        field per item hit DATA_UPLOAD_MAX_NUMBER_FIELDS past 1,000 items)."""
        return ",".join(map(str, self.item_ids))


@dataclass
class OpenWork:
    """Everything a person holds, group by group (the empty groups too, with 0)."""

    person: User
    groups: list[HeldGroup]

    @property
    def total(self) -> int:
        return sum(group.count for group in self.groups)

    @property
    def is_empty(self) -> bool:
        return self.total == 0

    def group(self, kind: str) -> HeldGroup:
        return next(group for group in self.groups if group.kind == kind)


# kind → the model of its items, and the columns its rows show (read by id: the page's
# rows are the first ids of the group's one ordered id list, so the rule of what a person
# holds stays in held_items, and each row query is a primary-key lookup).
_ROW_COLUMNS = {
    KIND_ACCOUNTS: (Account, ("pk", "name", "industry")),
    KIND_DEALS: (Deal, ("pk", "title", "account__name", "stage", "next_step_due")),
    KIND_HANDOFFS_REP: (Handoff, ("pk", "deal__title", "deal__account__name", "status")),
    KIND_HANDOFFS_DELIVERY: (Handoff, ("pk", "deal__title", "deal__account__name", "status")),
    KIND_STEPS: (HandoffStep, ("pk", "title", "handoff__deal__title", "owner_role", "due_on", "handoff_id")),
    KIND_PROMISES: (Promise, ("pk", "description", "deal__account__name", "deal__title", "target_date", "deal_id")),
    KIND_CHECKINS: (CheckIn, ("pk", "account__name", "handoff__deal__title", "due_on", "handoff_id")),
}
_STAGES = dict(Stage.choices)
_HANDOFF_STATUSES = dict(HandoffStatus.choices)
_STEP_OWNER_ROLES = dict(StepOwnerRole.choices)


def _rows(kind: str, item_ids: list[int]) -> list[HeldRow]:
    """The rows of `item_ids` (the first of a group, in its order): only the columns
    shown, as tuples (no model instances), one query; none for an empty group."""
    if not item_ids:
        return []
    model, columns = _ROW_COLUMNS[kind]
    by_id = {row[0]: row for row in model.objects.filter(pk__in=item_ids).order_by().values_list(*columns)}
    # An item gone since its id was read is left out, as the old single query did.
    items = [by_id[item_id] for item_id in item_ids if item_id in by_id]
    if kind == KIND_ACCOUNTS:
        link = url_for_each("handoffs:account_detail")
        return [HeldRow(pk, name, industry or "Account", link(pk)) for pk, name, industry in items]
    if kind == KIND_DEALS:
        link = url_for_each("handoffs:deal_detail")
        return [
            HeldRow(
                pk,
                title,
                f"{account} · {_STAGES.get(stage, stage)} · next step due {next_step_due:%d %b %Y}"
                if next_step_due
                else f"{account} · {_STAGES.get(stage, stage)}",
                link(pk),
            )
            for pk, title, account, stage, next_step_due in items
        ]
    link = url_for_each("handoffs:handoff_detail")
    if kind in (KIND_HANDOFFS_REP, KIND_HANDOFFS_DELIVERY):
        return [
            HeldRow(pk, f"Hand-off of {deal}", f"{account} · {_HANDOFF_STATUSES.get(status, status)}", link(pk))
            for pk, deal, account, status in items
        ]
    if kind == KIND_STEPS:
        return [
            HeldRow(
                pk,
                title,
                f"{deal} · {_STEP_OWNER_ROLES.get(owner_role, owner_role)} · due {due_on:%d %b %Y}",
                link(handoff_id),
            )
            for pk, title, deal, owner_role, due_on, handoff_id in items
        ]
    if kind == KIND_PROMISES:
        deal_link = url_for_each("handoffs:deal_detail")
        return [
            HeldRow(
                pk,
                description,
                f"{account} · {deal}" + (f" · due {target_date:%d %b %Y}" if target_date else ""),
                f"{deal_link(deal_id)}#promise-{pk}",
            )
            for pk, description, account, deal, target_date, deal_id in items
        ]
    return [
        HeldRow(pk, f"Check-in with {account}", f"{deal} · due {due_on:%d %b %Y}", link(handoff_id))
        for pk, account, deal, due_on, handoff_id in items
    ]


def _held_ids(person: User) -> dict[str, list[int]]:
    """The ids of every group, each in its group's order: one query of one array per
    kind (ARRAY(SELECT … ORDER BY …) keeps the order), not one query per group."""
    if connection.vendor != "postgresql":
        # SQLite (make run's default) has no arrays: one query per group there.
        return {kind: list(held_items(kind, person).values_list("pk", flat=True)) for kind in KINDS}
    # Named held_<kind>: a bare "deals" or "checkins" is a relation of User already.
    arrays = {f"held_{kind}": ArraySubquery(held_items(kind, person).values("pk")) for kind in KINDS}
    row = User.objects.filter(pk=person.pk).values(**arrays).get()
    return {kind: row[f"held_{kind}"] or [] for kind in KINDS}


# kind → (the group's title, the label of its "give to" select, what the items are called)
TITLES = {
    KIND_ACCOUNTS: ("Accounts", "Give these accounts to", "accounts"),
    KIND_DEALS: ("Open deals", "Give these deals to", "open deals"),
    KIND_HANDOFFS_REP: ("Hand-offs in progress, as the rep", "Make the rep", "hand-offs"),
    KIND_HANDOFFS_DELIVERY: ("Hand-offs to deliver", "Give the delivery to", "hand-offs"),
    KIND_STEPS: ("Open hand-off steps", "Give these steps to", "steps"),
    KIND_PROMISES: ("Promises to keep", "Give these promises to", "promises"),
    KIND_CHECKINS: ("Scheduled check-ins", "Give these check-ins to", "check-ins"),
}


# What a "give to" option reads of a person: their name (str(user)), their role
# (user_sells) and their team's name; not the twenty other columns of each user.
_CHOICE_COLUMNS = ("first_name", "last_name", "username", "role", "is_superuser", "team__name")


def _choices_by_kind(actor: User, person: User) -> dict[str, list[User]]:
    """Whom each kind may go to, among the active people `actor` may give it to (the
    services check each item again): three queries, whatever the rows."""
    # select_related("team"): the page names each person's team (a query per option else).
    owners = list(
        account_users_assignable_by(actor).exclude(pk=person.pk).select_related("team").only(*_CHOICE_COLUMNS)
    )
    sellers = [user for user in owners if user_sells(user)]
    delivery = list(
        delivery_lead_choices()
        .exclude(pk=person.pk)
        .select_related("team")
        .only(*_CHOICE_COLUMNS)
        .order_by("first_name", "last_name", "pk")
    )
    reps = list(
        checkin_reps_for(actor)
        .exclude(pk=person.pk)
        .select_related("team")
        .only(*_CHOICE_COLUMNS)
        .order_by("first_name", "last_name", "pk")
    )
    step_people = {user.pk: user for user in owners + delivery}
    return {
        KIND_ACCOUNTS: owners,
        KIND_DEALS: sellers,
        KIND_HANDOFFS_REP: sellers,
        KIND_HANDOFFS_DELIVERY: delivery,
        KIND_STEPS: sorted(step_people.values(), key=lambda user: (str(user).lower(), user.pk)),
        KIND_PROMISES: delivery,
        KIND_CHECKINS: reps,
    }


def open_work_of(person: User, *, actor: User) -> OpenWork:
    """Everything `person` holds, grouped, with whom `actor` may give each group to.
    The caller checks that `actor` may see it (user_may_reassign_holdings_of)."""
    choices = _choices_by_kind(actor, person)
    held_ids = _held_ids(person)
    groups = [
        HeldGroup(
            kind=kind,
            title=TITLES[kind][0],
            give_label=TITLES[kind][1],
            noun=TITLES[kind][2],
            rows=_rows(kind, held_ids[kind][:ROWS_SHOWN]),
            item_ids=held_ids[kind],
            choices=choices[kind],
        )
        for kind in KINDS
    ]
    return OpenWork(person=person, groups=groups)
