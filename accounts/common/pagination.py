"""Pagination for lists that can hold tens of thousands of rows.

An exact COUNT over every row a manager may see costs more than the page it labels, and
nobody reads "17,342 deals" differently from "2,000+ deals". So big lists count at most
`COUNT_CAP + 1` rows (a LIMITed subquery PostgreSQL stops early on) and say "2,000+"
beyond it; page numbers past the cap are not offered: filters, the sort and the CSV
export reach a row faster than paging eighty pages does. 2,000 is what Salesforce's list
views show and scroll to ("2000+ items"); at 10,000 the count of a manager's deal list
read ~2,600 of the deal table's 4,400 pages on every load, at 2,000 about a fifth of that
(issue 17).
"""

from __future__ import annotations

import django_filters
from django.core.paginator import Paginator
from django.utils.functional import cached_property

COUNT_CAP = 2_000


def capped_count(queryset, *, cap: int = COUNT_CAP) -> int:
    """How many rows `queryset` holds, counted up to `cap` + 1 (more than `cap`: show
    "2,000+"): COUNT(*) over a LIMITed subquery of primary keys, without the ORDER BY
    or the joins the order needed, so the scan stops after cap + 1 rows."""
    return queryset.order_by().values_list("pk", flat=True)[: cap + 1].count()


def narrows_nothing(filterset) -> bool:
    """Whether a list's filters (a django-filter FilterSet) leave every row in: unbound,
    or no filter given a value (an invalid value filters nothing either; the ordering
    is not a filter). Every declared filter is asked, whether or not Meta lists it. A
    cap_probe counts a part of the unfiltered list only."""
    if not filterset.is_bound:
        return True
    filterset.is_valid()
    return not any(
        filterset.form.cleaned_data.get(name)
        for name, list_filter in filterset.filters.items()
        if not isinstance(list_filter, django_filters.OrderingFilter)
    )


class CappedPaginator(Paginator):
    """A `Paginator` whose count stops at `cap` (+1 to know it was reached).

    `count` is then `cap + 1` at most, so `num_pages` covers the first `cap` rows and a
    page asked beyond them falls back to the last of those (`get_page`'s usual rule).
    `is_capped` says the true number is larger; `count_display` is what a page shows.
    """

    def __init__(self, object_list, per_page, *, cap: int = COUNT_CAP, cap_probe=None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.cap = cap
        # Some of object_list's rows that one index counts (a queryset): when they alone
        # pass the cap, so does the list, and the list's own count (an OR of visibility
        # arms, walked row by row) is not needed.
        self.cap_probe = cap_probe

    @cached_property
    def count(self) -> int:
        object_list = self.object_list
        if hasattr(object_list, "values_list"):
            if self.cap_probe is not None and capped_count(self.cap_probe, cap=self.cap) > self.cap:
                return self.cap + 1
            return capped_count(object_list, cap=self.cap)
        return min(len(object_list), self.cap + 1)

    @cached_property
    def num_pages(self) -> int:
        if self.count > self.cap:
            return -(-self.cap // self.per_page)  # the pages of the first `cap` rows
        return super().num_pages

    def page(self, number):
        """The rows of page `number`, never past the `cap`-th (orphans are not used)."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.cap if self.is_capped else self.count)
        return self._get_page(self.object_list[bottom:top], number, self)

    @property
    def is_capped(self) -> bool:
        return self.count > self.cap

    @property
    def count_display(self) -> str:
        """ "2,000+" past the cap, else the exact number with thousands separators."""
        if self.is_capped:
            return f"{self.cap:,}+"
        return f"{self.count:,}"

    @property
    def num_pages_display(self) -> str:
        return f"{self.num_pages:,}+" if self.is_capped else f"{self.num_pages:,}"
