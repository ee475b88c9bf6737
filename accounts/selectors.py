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


def ownership_history(*, with_people: bool = True) -> Prefetch:
    """Prefetch an account's owners, with who made each change, as `ownership_history`
    (without `with_people`, the people are left to the caller, who reads a page's people
    in one query)."""
    changes = OwnershipChange.objects.select_related(*OWNERSHIP_PEOPLE) if with_people else OwnershipChange.objects
    return Prefetch("ownership_changes", queryset=changes.all(), to_attr="ownership_history")
