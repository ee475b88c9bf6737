"""Builders of dropped batons for the report, dashboard and digest tests."""

from __future__ import annotations

import datetime

from django.utils import timezone

from followups.services.report import report_refresh
from tests.factories import DealFactory, HandoffFactory, HandoffStepFactory


def late_deals(owner, count: int, *, days_late: int = 2, **values) -> list:
    """`count` open deals whose next step was due `days_late` days ago (no_next_step)."""
    due = timezone.localdate() - datetime.timedelta(days=days_late)
    return [DealFactory(owner=owner, next_step_due=due, **values) for _ in range(count)]


def unowned_handoffs(rep, count: int, *, closed_days_ago: int = 5, proposed_owner=None) -> list:
    """`count` hand-offs nobody accepted, each with an overdue step
    (ownership_not_accepted, step_overdue)."""
    closed_on = timezone.localdate() - datetime.timedelta(days=closed_days_ago)
    handoffs = []
    for _ in range(count):
        handoff = HandoffFactory(deal__owner=rep, deal__closed_on=closed_on, proposed_owner=proposed_owner)
        HandoffStepFactory(handoff=handoff, due_on=closed_on + datetime.timedelta(days=1))
        handoffs.append(handoff)
    return handoffs


def refreshed():
    return report_refresh()
