"""What is late, for every item Baton watches: handoffs.lateness (deals, steps,
hand-offs) re-exported, plus the check-in's, which lives here with its model.

The "My check-ins" page, the dashboard, the reminder scan (followups.overdue) and the
dropped-baton report (followups.rules) compose checkin_late; see handoffs.lateness for
what `today` means and who decides it.
"""

from __future__ import annotations

import datetime

from django.db.models import Q

from followups.choices import CheckInStatus
from handoffs.lateness import (
    MEETING_ARRANGED_STATUSES,
    MEETING_PENDING_STATUSES,
    NOT_ACCEPTED_STATUSES,
    PROMISE_PENDING_STATUSES,
    as_flag,
    closed_before,
    meeting_late,
    meeting_late_changes,
    next_step_late,
    next_step_late_changes,
    ownership_late,
    ownership_late_changes,
    promise_late,
    promise_late_changes,
    step_late,
    step_late_changes,
)


def checkin_late(today: datetime.date) -> Q:
    """CheckIn: a scheduled check-in that was due before `today`. Matches the partial
    index checkin_scheduled_due_idx (due_on WHERE status = 'scheduled').

    "Late for more than N days" is checkin_late(today - N days): the same rule asked
    about an earlier day (the report's grace period)."""
    return Q(status=CheckInStatus.SCHEDULED, due_on__lt=today)


def checkin_late_changes(since: datetime.datetime) -> list[Q]:
    """CheckIn: checkin_late reads the check-in's own row (see handoffs.lateness for what
    the `*_changes` functions are for)."""
    return [Q(updated_at__gt=since)]


__all__ = [
    "MEETING_ARRANGED_STATUSES",
    "MEETING_PENDING_STATUSES",
    "NOT_ACCEPTED_STATUSES",
    "PROMISE_PENDING_STATUSES",
    "as_flag",
    "checkin_late",
    "checkin_late_changes",
    "closed_before",
    "meeting_late",
    "meeting_late_changes",
    "next_step_late",
    "next_step_late_changes",
    "ownership_late",
    "ownership_late_changes",
    "promise_late",
    "promise_late_changes",
    "step_late",
    "step_late_changes",
]
