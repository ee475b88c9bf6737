"""Query-string filters of the API's lists of check-ins and outbox messages.

They narrow a queryset the selectors already scoped (followups.access), so naming
someone else's id simply lists nothing. "Overdue" is followups.lateness.checkin_late,
asked about the user's own today, as "My check-ins" does.
"""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from followups.choices import CheckInStatus, MessagePurpose, MessageStatus
from followups.lateness import checkin_late
from followups.models import CheckIn, OutboxMessage
from followups.selectors.checkins import user_local_today
from handoffs.api.filters import ApiFilterSet, IdFilter


class CheckInApiFilter(ApiFilterSet):
    """Check-ins by owner (mine, a rep), status, hand-off, account, due date, lateness."""

    mine = django_filters.BooleanFilter(method="filter_mine", help_text="true: only your own check-ins.")
    rep = IdFilter(field_name="rep_id", help_text="The rep's user id (managers: one of their team).")
    status = django_filters.ChoiceFilter(choices=CheckInStatus.choices)
    handoff = IdFilter(field_name="handoff_id")
    account = IdFilter(field_name="account_id")
    due_after = django_filters.DateFilter(field_name="due_on", lookup_expr="gte", help_text="Due on or after.")
    due_before = django_filters.DateFilter(field_name="due_on", lookup_expr="lte", help_text="Due on or before.")
    overdue = django_filters.BooleanFilter(method="filter_overdue", help_text="true: scheduled and past its date.")

    class Meta:
        model = CheckIn
        fields: list[str] = []

    def filter_mine(self, queryset: QuerySet[CheckIn], name: str, value: bool | None) -> QuerySet[CheckIn]:
        if value is None:
            return queryset
        user = self.request.user
        return queryset.filter(rep=user) if value else queryset.exclude(rep=user)

    def filter_overdue(self, queryset: QuerySet[CheckIn], name: str, value: bool | None) -> QuerySet[CheckIn]:
        if value is None:
            return queryset
        late = checkin_late(user_local_today(self.request.user))
        return queryset.filter(late) if value else queryset.exclude(late)


class OutboxApiFilter(ApiFilterSet):
    """Outbox messages by status and purpose, as the admins' /outbox/ page."""

    status = django_filters.ChoiceFilter(choices=MessageStatus.choices)
    purpose = django_filters.ChoiceFilter(choices=MessagePurpose.choices)

    class Meta:
        model = OutboxMessage
        fields: list[str] = []
