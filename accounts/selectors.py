"""Reads of customer accounts and contacts that need nothing above accounts.

The account pages themselves are in handoffs (handoffs/selectors/accounts.py): who may
read an account depends on its deals and hand-offs (handoffs/access.py), and the page
shows them. These are the account-only parts those pages compose.
"""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Subquery, Value
from django.db.models.functions import Coalesce

from accounts.models import Contact, OwnershipChange


def account_contact_count() -> Coalesce:
    """An annotation of accounts: how many contacts each has."""
    counts = (
        Contact.objects.filter(account=OuterRef("pk"))
        .order_by()
        .values("account")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))


def contacts_by_name() -> Prefetch:
    """Prefetch an account's contacts in name order (`account.contacts.all()`)."""
    return Prefetch("contacts", queryset=Contact.objects.order_by("first_name", "last_name"))


# The people an ownership change names.
OWNERSHIP_PEOPLE = ("from_user", "to_user", "changed_by")


def ownership_history() -> Prefetch:
    """Prefetch an account's ownership changes as `ownership_history`. Who made each
    change and the owners before and after (OWNERSHIP_PEOPLE) are left to the caller,
    which reads a page's people in one query."""
    return Prefetch("ownership_changes", queryset=OwnershipChange.objects.all(), to_attr="ownership_history")
