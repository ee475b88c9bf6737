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
from accounts.selectors import account_contact_count, contacts_by_name, ownership_history
from handoffs.access import accounts_visible_to, deals_visible_to
from handoffs.choices import OPEN_STAGES
from handoffs.models import Deal


def _open_deal_count() -> Coalesce:
    counts = (
        Deal.objects.filter(account=OuterRef("pk"), stage__in=OPEN_STAGES)
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
        .annotate(open_deal_count=_open_deal_count(), contact_count=account_contact_count())
    )


def account_for_detail(user: User, pk: int) -> Account:
    """The account page's account (404 when `user` may not read it), with its contacts,
    the deals `user` may read and its ownership history loaded up front."""
    visible_deals = deals_visible_to(user).select_related("owner").order_by("-created_at", "-id")
    queryset = (
        accounts_visible_to(user)
        .select_related("owner", "team")
        .prefetch_related(
            contacts_by_name(),
            Prefetch("deals", queryset=visible_deals, to_attr="visible_deals"),
            ownership_history(),
        )
    )
    return get_object_or_404(queryset, pk=pk)


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
