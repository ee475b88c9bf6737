"""List filters (django-filter) of the rep's pipeline: deals and accounts."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Concat
from django.utils import timezone

from accounts.choices import CompanySize
from accounts.common.expressions import InSubquery
from accounts.models import Account, Contact, User
from handoffs import lateness
from handoffs.choices import OPEN_STAGES, Stage
from handoffs.models import Deal, DealContact
from handoffs.selectors.deals import deal_owner_choices

OPEN = "open"
CLOSED = "closed"


def contacts_named(text: str) -> QuerySet[Contact]:
    """Contacts whose first, last or full name contains `text`. Text without a space
    cannot span the space of the full name, so the first and last names (each with its
    own trigram index on PostgreSQL) answer alone; text with a space needs the full name."""
    if any(character.isspace() for character in text):
        full_name = Concat("first_name", Value(" "), "last_name")
        return Contact.objects.annotate(full_name=full_name).filter(full_name__icontains=text)
    return Contact.objects.filter(Q(first_name__icontains=text) | Q(last_name__icontains=text))


class DealFilter(django_filters.FilterSet):
    """Search by title, account or contact name; filter by stage, owner and overdue
    next step; sort by any column."""

    q = django_filters.CharFilter(
        method="search", label="Search", widget=forms.TextInput(attrs={"placeholder": "Title, account or contact"})
    )
    stage = django_filters.ChoiceFilter(
        method="filter_stage",
        choices=[(OPEN, "All open"), (CLOSED, "All closed"), *Stage.choices],
        empty_label="Any stage",
    )
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.none(), empty_label="Anyone")
    overdue = django_filters.BooleanFilter(
        method="filter_overdue", label="Overdue next step only", widget=forms.CheckboxInput
    )
    o = django_filters.OrderingFilter(
        fields=(
            ("title", "title"),
            ("account__name", "account"),
            ("amount", "amount"),
            ("stage_rank", "stage"),
            ("next_step_due", "next_step"),
            ("expected_close_date", "close"),
            ("owner__first_name", "owner"),
            ("created_at", "created"),
        ),
        label="Sort by",
    )

    class Meta:
        model = Deal
        fields = ["q", "stage", "owner", "overdue"]

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.filters["owner"].queryset = deal_owner_choices(user)

    def search(self, queryset: QuerySet[Deal], name: str, value: str) -> QuerySet[Deal]:
        text = value.strip()
        if not text:
            return queryset
        # The accounts and contacts as one id list each, from their own (trigram) indexes,
        # rather than one OR across the joined tables that no index can answer. The title
        # is the deal's own column: its trigram index joins the OR (a BitmapOr) that
        # PostgreSQL then ANDs with the visibility's (a BitmapAnd), so no deal is read that
        # is not both found and visible. As an id list of its own, a common word (5,000
        # titles) read every one of those deals, then looked each id up again (~20k
        # buffers, 25–65 ms at 100k deals, against ~2.6k).
        by_account = Account.objects.filter(name__icontains=text).order_by().values("pk")
        by_contact = (
            DealContact.objects.filter(contact__in=contacts_named(text).order_by().values("pk"))
            .order_by()
            .values("deal_id")
        )
        return queryset.filter(
            Q(title__icontains=text) | InSubquery("account_id", by_account) | InSubquery("pk", by_contact)
        )

    def filter_stage(self, queryset: QuerySet[Deal], name: str, value: str) -> QuerySet[Deal]:
        if value == OPEN:
            return queryset.filter(stage__in=OPEN_STAGES)
        if value == CLOSED:
            return queryset.exclude(stage__in=OPEN_STAGES)
        return queryset.filter(stage=value) if value else queryset

    def filter_overdue(self, queryset: QuerySet[Deal], name: str, value: bool) -> QuerySet[Deal]:
        if not value:
            return queryset
        # The current zone's date: in a request, the user's (UserTimezoneMiddleware).
        return queryset.filter(lateness.next_step_late(timezone.localdate()))


class AccountFilter(django_filters.FilterSet):
    """Search accounts by name, domain or contact name; filter by owner and size."""

    q = django_filters.CharFilter(
        method="search", label="Search", widget=forms.TextInput(attrs={"placeholder": "Name, domain or contact"})
    )
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.none(), empty_label="Anyone")
    size = django_filters.ChoiceFilter(choices=CompanySize.choices[1:], empty_label="Any size")
    o = django_filters.OrderingFilter(
        fields=(
            ("name", "name"),
            ("owner__first_name", "owner"),
            ("open_deal_count", "open_deals"),
            ("health_score", "health"),
            ("created_at", "created"),
        ),
        label="Sort by",
    )

    class Meta:
        model = Account
        fields = ["q", "owner", "size"]

    def __init__(self, *args, accounts: QuerySet[Account], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Colleagues who own any account: a semi-join of the ~hundreds of users through the
        # owner index. Restricting it to the accounts this user may see made PostgreSQL
        # evaluate the whole visibility filter for the menu (0.4–0.9 s at 20k accounts).
        self.filters["owner"].queryset = User.objects.filter(
            is_active=True, pk__in=Account.objects.order_by().values("owner_id")
        ).order_by("first_name", "last_name")

    def search(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet[Account]:
        text = value.strip()
        if not text:
            return queryset
        by_contact = contacts_named(text).order_by().values("account_id")
        return queryset.filter(Q(name__icontains=text) | Q(domain__icontains=text) | InSubquery("pk", by_contact))
