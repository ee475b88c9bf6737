"""Query-string filters of the API's lists of deals, promises, hand-offs and meetings.

They narrow a queryset the selectors already scoped to what the user may read, so a
filter naming someone else's id simply lists nothing. "Late" is handoffs.lateness's
predicate, asked about the user's own today, as the pages do.
"""

from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.db.models import QuerySet
from django_filters.fields import IsoDateTimeField
from django_filters.filters import QuerySetRequestMixin
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from accounts.api.pagination import BatonCursorPagination
from accounts.common.http import MAX_ID
from accounts.validators import user_today
from handoffs import lateness
from handoffs.choices import OPEN_STAGES, HandoffStatus, MeetingStatus, PromiseStatus, Stage
from handoffs.models import Deal, Handoff, Meeting, Promise
from handoffs.selectors.handoffs import overdue_condition


class IdFormField(forms.IntegerField):
    """A row id in a query string: a positive integer a PostgreSQL bigint holds."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """Rows whose foreign key (`field_name`, e.g. owner_id) is this id."""

    field_class = IdFormField


class UtcDateTimeFormField(IsoDateTimeField):
    """An ISO 8601 moment in a query string, passed to the database in UTC: PostgreSQL
    refuses an offset beyond ±15:59 (a 500), and a moment that leaves the calendar once
    in UTC (9999-12-31T23:00-05:00) is invalid input, not a crash."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(datetime.UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError("This moment is out of range.", code="invalid") from None


@extend_schema_field(OpenApiTypes.DATETIME)
class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """Rows whose moment (`field_name`) compares with this one (`lookup_expr`)."""

    field_class = UtcDateTimeFormField


class ListFilterBackend(DjangoFilterBackend):
    """django-filter's backend, which leaves the queryset as it is without building the
    filter set when the query string names nothing but the page (the cursor, its size).

    Every filter then has an empty value, which filters nothing; building the set (a deep
    copy of its filters) and validating its form cost ~2 ms of a list's ~25 ms of CPU."""

    page_params = frozenset({BatonCursorPagination.cursor_query_param, BatonCursorPagination.page_size_query_param})

    def filter_queryset(self, request, queryset: QuerySet, view) -> QuerySet:
        if self.page_params.issuperset(request.query_params.keys()):
            return queryset
        return super().filter_queryset(request, queryset, view)


class ApiFilterSet(django_filters.FilterSet):
    """A filter set whose form class is built once per class, not on every request.

    django-filter builds a new form class each time (a form field for every filter, its
    label looked up on the model): ~0.5 ms of a filtered list. The form's fields depend on
    the filters alone unless a filter chooses among rows for the request (a model choice
    filter's queryset), in which case the class is built each time, as django-filter does."""

    def get_form_class(self) -> type[forms.Form]:
        filter_set = type(self)
        form_class = filter_set.__dict__.get("_form_class")
        if form_class is None:
            form_class = super().get_form_class()
            if not any(isinstance(filter_, QuerySetRequestMixin) for filter_ in filter_set.base_filters.values()):
                filter_set._form_class = form_class
        return form_class


class DealApiFilter(ApiFilterSet):
    """Deals by stage, state, owner, team, account, title and next-step date."""

    stage = django_filters.ChoiceFilter(choices=Stage.choices, help_text="One stage.")
    state = django_filters.ChoiceFilter(
        method="filter_state",
        choices=[("open", "Open"), ("won", "Won"), ("lost", "Lost")],
        help_text="open: any open stage; won or lost: closed that way.",
    )
    owner = IdFilter(field_name="owner_id", help_text="The owner's user id.")
    team = IdFilter(field_name="team_id", help_text="The deal's team id.")
    account = IdFilter(field_name="account_id", help_text="The account's id.")
    search = django_filters.CharFilter(
        field_name="title", lookup_expr="icontains", max_length=200, help_text="Part of the title."
    )
    next_step_due_after = django_filters.DateFilter(
        field_name="next_step_due", lookup_expr="gte", help_text="Next step due on or after this day."
    )
    next_step_due_before = django_filters.DateFilter(
        field_name="next_step_due", lookup_expr="lte", help_text="Next step due on or before this day."
    )
    overdue = django_filters.BooleanFilter(method="filter_overdue", help_text="true: open with its next step overdue.")

    class Meta:
        model = Deal
        fields: list[str] = []

    def filter_state(self, queryset: QuerySet[Deal], name: str, value: str) -> QuerySet[Deal]:
        if value == "open":
            return queryset.filter(stage__in=OPEN_STAGES)
        return queryset.filter(stage=value) if value else queryset

    def filter_overdue(self, queryset: QuerySet[Deal], name: str, value: bool | None) -> QuerySet[Deal]:
        if value is None:
            return queryset
        late = lateness.next_step_late(user_today(self.request.user))
        return queryset.filter(late) if value else queryset.exclude(late)


class PromiseApiFilter(ApiFilterSet):
    """Promises by deal, status, owner and due date."""

    deal = IdFilter(field_name="deal_id", help_text="The deal's id.")
    status = django_filters.ChoiceFilter(choices=PromiseStatus.choices)
    owner = IdFilter(field_name="owner_id", help_text="Who keeps it (a delivery lead's user id).")
    due_before = django_filters.DateFilter(
        field_name="target_date", lookup_expr="lte", help_text="Due on or before this day."
    )

    class Meta:
        model = Promise
        fields: list[str] = []


class HandoffApiFilter(ApiFilterSet):
    """Hand-offs by status, delivery owner, rep, team and lateness."""

    status = django_filters.ChoiceFilter(choices=HandoffStatus.choices)
    owner = IdFilter(field_name="delivery_owner_id", help_text="The delivery owner's user id.")
    rep = IdFilter(field_name="rep_id", help_text="The rep's user id.")
    team = IdFilter(field_name="team_id", help_text="The deal's team id.")
    overdue = django_filters.BooleanFilter(
        method="filter_overdue", help_text="true: a step past its date, or no owner or meeting in time."
    )

    class Meta:
        model = Handoff
        fields: list[str] = []

    def filter_overdue(self, queryset: QuerySet[Handoff], name: str, value: bool | None) -> QuerySet[Handoff]:
        if value is None:
            return queryset
        late = overdue_condition(user_today(self.request.user))
        return queryset.filter(late) if value else queryset.exclude(late)


class MeetingApiFilter(ApiFilterSet):
    """Meetings by hand-off, status and start."""

    handoff = IdFilter(field_name="handoff_id", help_text="The hand-off's id.")
    status = django_filters.ChoiceFilter(choices=MeetingStatus.choices)
    starts_after = UtcDateTimeFilter(field_name="starts_at", lookup_expr="gte", help_text="Starts at or after.")
    starts_before = UtcDateTimeFilter(field_name="starts_at", lookup_expr="lt", help_text="Starts before.")

    class Meta:
        model = Meeting
        fields: list[str] = []
