"""Reads of the account pages: the list and an account with its deals and timeline.

They live in handoffs, not beside the Account model, because who may read an account
depends on its deals and hand-offs (handoffs.access.accounts_visible_to) and the pages
show those deals; the account-only parts come from accounts.selectors.
"""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from accounts.common.timeline import TimelinePage, timeline_page
from accounts.models import Account, TimelineEvent, User
from accounts.selectors import OWNERSHIP_PEOPLE, account_contact_count, contacts_by_name, ownership_history
from handoffs.access import accounts_visible_to, deals_visible_to
from handoffs.choices import OPEN_STAGES
from handoffs.models import Deal
from handoffs.selectors.people import attach_people


def _open_deal_count() -> Coalesce:
    counts = (
        Deal.objects.filter(account=OuterRef("pk"), stage__in=OPEN_STAGES)
        .order_by()
        .values("account")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))


def _with_counts(accounts: QuerySet[Account]) -> QuerySet[Account]:
    return accounts.annotate(open_deal_count=_open_deal_count(), contact_count=account_contact_count())


def account_list_queryset(user: User) -> QuerySet[Account]:
    """The account list: visible accounts with their owner, team and counts (what its
    filters, order and exports read; a page reads its rows with account_list_page)."""
    return _with_counts(accounts_visible_to(user, deal_accounts_as_list=True).select_related("owner", "team"))


# What a row of the account list shows (its owner as people_tags' person).
LIST_COLUMNS = [
    "name",
    "domain",
    "industry",
    "health_score",
    "owner__first_name",
    "owner__last_name",
    "owner__username",
]


def account_list_page(rows: QuerySet[Account], page_ids: QuerySet[Account]) -> list[Account]:
    """The accounts of one page of the account list, in the order of `rows` (the list as
    filtered), with their owner and counts; `page_ids` is the page's slice of `rows`, as
    `.values("pk")`. One query: the page's ids are picked in a subquery, so the counts
    (two subqueries per row) are computed for its 25 rows only: on the list's own query
    PostgreSQL computed them for every row the OFFSET skips too (1,000 rows on page 40);
    and only the columns a row shows are read."""
    ordering = rows.query.order_by or Account._meta.ordering
    accounts = Account.objects.filter(pk__in=page_ids).select_related("owner").only(*LIST_COLUMNS)
    return list(_with_counts(accounts).order_by(*ordering))


def account_for_detail(user: User, pk: int) -> Account:
    """The account page's account (404 when `user` may not read it), with its contacts,
    the deals `user` may read, its ownership history and the people they name loaded up
    front."""
    visible_deals = deals_visible_to(user).order_by("-created_at", "-id")
    queryset = (
        accounts_visible_to(user, pk=pk)
        .select_related("team")
        .prefetch_related(
            contacts_by_name(),
            Prefetch("deals", queryset=visible_deals, to_attr="visible_deals"),
            ownership_history(),
        )
    )
    account = get_object_or_404(queryset)
    # The owner, the deals' owners and the ownership history's people in one query
    # (attach_people), not five joins to every user column across three queries.
    people = [(account, "owner"), *((deal, "owner") for deal in account.visible_deals)]
    people += [(change, name) for change in account.ownership_history for name in OWNERSHIP_PEOPLE]
    attach_people(people)
    return account


def account_timeline(user: User, account: Account, *, before: int | None = None) -> TimelinePage:
    """A page of the account's events, newest first (those older than the event
    `before`), leaving out those about deals `user` may not read."""
    deal_type = ContentType.objects.get_for_model(Deal)
    visible_deal_ids = deals_visible_to(user).filter(account=account).values("pk")
    events = (
        TimelineEvent.objects.filter(account=account)
        .filter(~Q(subject_type=deal_type) | Q(subject_id__in=visible_deal_ids))
        .select_related("actor", "subject_type")
        .prefetch_related("subject")
    )
    return timeline_page(events, before=before)
