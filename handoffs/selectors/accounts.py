"""Reads of customer accounts: who may see which account, and the account pages.

Visibility (issue 3): reps see the accounts they own, their team's, and those where
they have a deal; managers their teams' (and, for a delivery manager, the accounts
their delivery leads are proposed for or own); delivery leads the accounts they own or
are proposed for; admins every account. Changing an account is decided by
accounts.selectors.account_editable_by (re-exported here for the views).
"""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from accounts.models import Account, Contact, OwnershipChange, TimelineEvent, User
from accounts.selectors import TimelinePage, account_editable_by, team_scope_ids, timeline_page
from handoffs.choices import OPEN_STAGES
from handoffs.models import Deal, Handoff
from handoffs.selectors.expressions import InIdList, InSubquery

__all__ = [
    "account_editable_by",
    "account_for_detail",
    "account_list_queryset",
    "account_timeline",
    "accounts_visible_to",
]


def accounts_visible_to(user: User, *, deal_accounts_as_list: bool = False) -> QuerySet[Account]:
    """Every account `user` may read (a queryset to filter further).

    With `deal_accounts_as_list`, the accounts of the deals in the user's scope are read
    once here (one query, a few thousand ids) and sent as a list, instead of a subquery
    that PostgreSQL evaluates again in every query of the result (a list page's COUNT
    and its page)."""
    accounts = Account.objects.all()
    if not user.is_authenticated or not user.is_active:
        return accounts.none()
    if user.is_admin_role:
        return accounts
    if user.is_delivery:
        involved = Handoff.objects.filter(deal__account=OuterRef("pk")).filter(
            Q(proposed_owner=user) | Q(delivery_owner=user)
        )
        return accounts.filter(Q(owner=user) | Exists(involved))
    scope = team_scope_ids(user)
    # As for deals: each arm on the account's own columns or an id list computed once,
    # so PostgreSQL combines indexes (BitmapOr) instead of scanning every account.
    deals_in_scope = Deal.objects.filter(Q(owner=user) | Q(team_id__in=scope)).order_by().values("account_id")
    if deal_accounts_as_list:
        deal_account_ids = list(deals_in_scope.distinct().values_list("account_id", flat=True))
        visible = Q(owner=user) | InIdList("pk", deal_account_ids)
    else:
        visible = Q(owner=user) | InSubquery("pk", deals_in_scope)
    if scope:
        members = team_member_ids(scope)
        visible |= Q(team_id__in=scope) | InSubquery("owner_id", members)
        if user.is_manager:
            visible |= InSubquery("pk", handoffs_handed_to(members).values("deal__account_id"))
    return accounts.filter(visible)


def team_member_ids(scope: set[int]) -> QuerySet[User]:
    """The ids of the users of the teams in `scope` (a subquery)."""
    return User.objects.filter(team_id__in=scope).order_by().values("pk")


def handoffs_handed_to(members: QuerySet[User]) -> QuerySet[Handoff]:
    """Hand-offs proposed to or owned by one of `members`: what a manager of their team
    also sees (the deal and its account)."""
    return Handoff.objects.filter(
        InSubquery("proposed_owner_id", members) | InSubquery("delivery_owner_id", members)
    ).order_by()


def _open_deal_count() -> Coalesce:
    counts = (
        Deal.objects.filter(account=OuterRef("pk"), stage__in=OPEN_STAGES)
        .order_by()
        .values("account")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))


def _contact_count() -> Coalesce:
    counts = (
        Contact.objects.filter(account=OuterRef("pk"))
        .order_by()
        .values("account")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))


def account_list_queryset(user: User) -> QuerySet[Account]:
    """The account list: visible accounts with their owner and counts, one query per page."""
    return (
        accounts_visible_to(user, deal_accounts_as_list=True)
        .select_related("owner", "team")
        .annotate(open_deal_count=_open_deal_count(), contact_count=_contact_count())
    )


def account_for_detail(user: User, pk: int) -> Account:
    """The account page's account (404 when `user` may not read it), with its contacts,
    the deals `user` may read and its ownership history loaded up front."""
    visible_deals = deals_visible_to_for_accounts(user).select_related("owner").order_by("-created_at", "-id")
    queryset = (
        accounts_visible_to(user)
        .select_related("owner", "team")
        .prefetch_related(
            Prefetch("contacts", queryset=Contact.objects.order_by("first_name", "last_name")),
            Prefetch("deals", queryset=visible_deals, to_attr="visible_deals"),
            Prefetch(
                "ownership_changes",
                queryset=OwnershipChange.objects.select_related("from_user", "to_user", "changed_by"),
                to_attr="ownership_history",
            ),
        )
    )
    return get_object_or_404(queryset, pk=pk)


def deals_visible_to_for_accounts(user: User) -> QuerySet[Deal]:
    # Imported here: the deals selectors import this module for account visibility.
    from handoffs.selectors.deals import deals_visible_to

    return deals_visible_to(user)


def account_timeline(user: User, account: Account, *, before: int | None = None) -> TimelinePage:
    """A page of the account's events, newest first (those older than the event
    `before`), leaving out those about deals `user` may not read."""
    deal_type = ContentType.objects.get_for_model(Deal)
    visible_deal_ids = deals_visible_to_for_accounts(user).filter(account=account).values("pk")
    events = (
        TimelineEvent.objects.filter(account=account)
        .filter(~Q(subject_type=deal_type) | Q(subject_id__in=visible_deal_ids))
        .select_related("actor", "subject_type")
        .prefetch_related("subject")
    )
    return timeline_page(events, before=before)
