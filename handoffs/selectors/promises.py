"""Reads of promises: the one a user works on, the rows of a deal's or hand-off's promise
list (each with whether the viewer may work it and whether it is late), an account's
promise ledger. Each reads a fixed number of queries, whatever the number of promises."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.access import is_active_user, team_scope_ids
from accounts.models import Account, User
from handoffs.access import deals_visible_to, user_may_work_promise
from handoffs.lateness import as_flag, promise_late
from handoffs.models import Deal, Handoff, Promise
from handoffs.selectors.people import attach_people

# The people a promise row names (its owner, who resolved it, who made it).
PROMISE_PEOPLE = ("owner", "resolved_by", "created_by")


def promises_for_page(today: datetime.date | None = None, *, with_people: bool = True) -> QuerySet[Promise]:
    """A prefetch queryset of promises as the pages show them: owner and resolver
    loaded, each flagged is_late (handoffs.lateness.promise_late).

    Without `with_people`, the people are left to the caller's attach_people (the
    detail pages read every person of the page in one query: three joins to the user
    table per promise query were most of its compiling)."""
    promises = Promise.objects.select_related(*PROMISE_PEOPLE) if with_people else Promise.objects.all()
    return promises.annotate(is_late=as_flag(promise_late(today or timezone.localdate()))).order_by("id")


def promise_list_queryset(user: User, *, today: datetime.date | None = None) -> QuerySet[Promise]:
    """Every promise of the deals `user` may read (handoffs.access.deals_visible_to), as
    the pages show them (promises_for_page): a list of them is one query, whatever the rows."""
    return promises_for_page(today).filter(deal__in=deals_visible_to(user).values("pk"))


def promise_people(promises) -> list[tuple[Promise, str]]:
    """The (promise, field) slots of the people promise rows name, for attach_people: a
    detail page adds them to the one people query it makes for everything it shows."""
    return [(promise, name) for promise in promises for name in PROMISE_PEOPLE]


def attach_promise_people(promises: list[Promise]) -> list[Promise]:
    """Set the people of a page of promises read without them (promise_list_queryset
    with select_related(None)): one query for the page, a few dozen colleagues, each one
    object however many rows name them, instead of three joins to the users per row."""
    attach_people(promise_people(promises))
    return promises


@dataclass
class PromiseToWork:
    promise: Promise
    deal: Deal
    handoff: Handoff | None


def promise_for_work(user: User, pk: int) -> PromiseToWork:
    """The promise `user` opens to change (404 unless they may read its deal), with its
    deal and hand-off as user_may_work_promise reads them."""
    promise = get_object_or_404(
        Promise.objects.select_related("deal__account", "deal__owner", "owner").filter(
            deal__in=deals_visible_to(user).values("pk")
        ),
        pk=pk,
    )
    handoff = Handoff.objects.select_related("rep", "delivery_owner").filter(deal_id=promise.deal_id).first()
    return PromiseToWork(promise=promise, deal=promise.deal, handoff=handoff)


def mark_workable(user: User, promises: list[Promise], *, deal: Deal, handoff: Handoff | None) -> bool:
    """Set promise.may_work on each of a deal's promises (one read of the user's teams
    in all), and return whether the user may add a promise to the deal."""
    scope = team_scope_ids(user) if is_active_user(user) and user.is_manager else set()
    for promise in promises:
        promise.may_work = user_may_work_promise(user, deal=deal, handoff=handoff, promise=promise, scope=scope)
    return user_may_work_promise(user, deal=deal, handoff=handoff, promise=None, scope=scope)


def account_promise_ledger(user: User, account: Account) -> list[Promise]:
    """Every promise of the account's deals that `user` may read, oldest deal first: two
    queries (the promises, then their people), whatever the number of deals and promises."""
    return attach_promise_people(
        list(
            promises_for_page(with_people=False)
            .filter(deal__account=account, deal__in=deals_visible_to(user).values("pk"))
            .select_related("deal")
            .order_by("deal_id", "id")
        )
    )
