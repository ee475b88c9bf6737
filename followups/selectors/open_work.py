"""What a person still holds, for their manager (or an admin) to give to someone else
(issue 15: a deactivated user's open work; nothing is orphaned).

A person holds: the accounts they own, their open deals, the hand-offs in progress they
are the rep of, the hand-offs they deliver (proposed to them and not answered, or
accepted and not complete), the open steps assigned to them, the promises still to keep
that they keep, and their scheduled check-ins. Each group is two queries (its ids, and the
first ROWS_SHOWN rows to list), and the people each group may go to are read once per
page: the query count does not grow with the rows.

Who may read it is accounts.access.user_may_reassign_holdings_of (admins and
the manager of the person's team), the same rule the reassigning services check.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from accounts.access import account_users_assignable_by, user_sells
from accounts.common.links import url_for_each
from accounts.models import Account, User
from followups.access import checkin_reps_for
from followups.choices import CheckInStatus
from followups.models import CheckIn
from handoffs.choices import OPEN_STAGES, HandoffStatus, Stage, StepStatus
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

    @property
    def listed_value(self) -> str:
        """Every id the page counted, for "Give all": one field, not one per item (a
        field per item hit DATA_UPLOAD_MAX_NUMBER_FIELDS past 1,000 items)."""
        return ",".join(str(item_id) for item_id in self.item_ids)


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


def _rows(kind: str, person: User) -> list[HeldRow]:
    items = list(held_items(kind, person)[:ROWS_SHOWN])
    if kind == KIND_ACCOUNTS:
        link = url_for_each("handoffs:account_detail")
        return [HeldRow(a.pk, a.name, a.industry or "Account", link(a.pk)) for a in items]
    if kind == KIND_DEALS:
        link = url_for_each("handoffs:deal_detail")
        return [
            HeldRow(
                d.pk,
                d.title,
                f"{d.account} · {d.get_stage_display()} · next step due {d.next_step_due:%d %b %Y}"
                if d.next_step_due
                else f"{d.account} · {d.get_stage_display()}",
                link(d.pk),
            )
            for d in items
        ]
    link = url_for_each("handoffs:handoff_detail")
    if kind in (KIND_HANDOFFS_REP, KIND_HANDOFFS_DELIVERY):
        return [
            HeldRow(h.pk, f"Hand-off of {h.deal}", f"{h.deal.account} · {h.get_status_display()}", link(h.pk))
            for h in items
        ]
    if kind == KIND_STEPS:
        return [
            HeldRow(
                s.pk,
                s.title,
                f"{s.handoff.deal} · {s.get_owner_role_display()} · due {s.due_on:%d %b %Y}",
                link(s.handoff_id),
            )
            for s in items
        ]
    if kind == KIND_PROMISES:
        deal_link = url_for_each("handoffs:deal_detail")
        return [
            HeldRow(
                p.pk,
                p.description,
                f"{p.deal.account} · {p.deal}" + (f" · due {p.target_date:%d %b %Y}" if p.target_date else ""),
                f"{deal_link(p.deal_id)}#promise-{p.pk}",
            )
            for p in items
        ]
    return [
        HeldRow(c.pk, f"Check-in with {c.account}", f"{c.handoff.deal} · due {c.due_on:%d %b %Y}", link(c.handoff_id))
        for c in items
    ]


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


def _choices_by_kind(actor: User, person: User) -> dict[str, list[User]]:
    """Whom each kind may go to, among the active people `actor` may give it to (the
    services check each item again): three queries, whatever the rows."""
    owners = list(account_users_assignable_by(actor).exclude(pk=person.pk).select_related("team"))
    sellers = [user for user in owners if user_sells(user)]
    # select_related("team"): the page names each person's team (a query per option else).
    delivery = list(
        delivery_lead_choices().exclude(pk=person.pk).select_related("team").order_by("first_name", "last_name", "pk")
    )
    reps = list(
        checkin_reps_for(actor).exclude(pk=person.pk).select_related("team").order_by("first_name", "last_name", "pk")
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
    groups = [
        HeldGroup(
            kind=kind,
            title=TITLES[kind][0],
            give_label=TITLES[kind][1],
            noun=TITLES[kind][2],
            rows=_rows(kind, person),
            item_ids=list(held_items(kind, person).values_list("pk", flat=True)),
            choices=choices[kind],
        )
        for kind in KINDS
    ]
    return OpenWork(person=person, groups=groups)
