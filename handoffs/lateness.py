"""What is late, defined once: the predicates of every item the handoffs app owns.

The pages (my day, the board, the deal and hand-off lists, the hand-off page), the
reminder scan (followups.overdue) and the dropped-baton report (followups.rules) all
compose these; none of them compares a due date or lists "not yet accepted" states of
its own. followups.lateness adds the check-in's predicate and re-exports these.

Each predicate is a Q on its item's own model (filter with it, or annotate it as a
flag), taking the date that counts as today and, where the organisation sets a
threshold, its OrganisationSettings row:

- next_step_late(today)                   Deal: open, and its next step's date has passed
- step_late(today)                        HandoffStep: open, and its due date has passed
- ownership_late(today, settings)         Handoff: nobody accepted it acceptance_within_days
                                          after the close
- meeting_late(today, settings)           Handoff: no three-way meeting scheduled (or held)
                                          meeting_schedule_within_days after the close
- promise_late(today)                     Promise: still to keep (open or confirmed), on a
                                          deal not lost, and its due date has passed

Next to each predicate, `<name>_changes(since)` says which rows it reads: an item turns
late either when `today` moves on or when one of those rows changes. The reminder scan
reads every late item once a day and, in between, only the items these select (see
followups.services.reminders). A predicate that starts reading another table must name
that table's changes there too, or a change to it reaches the scan only the next day.

An item due on day D is late from the first moment of D + 1; a hand-off closed on day C
with N days allowed is due on C + N, so late once `closed_on < today - N`. Which date is
today is the caller's: a page passes the viewer's own date (UserTimezoneMiddleware makes
timezone.localdate() the user's), the scan and the report the organisation's
(settings.TIME_ZONE). A report rule may add a grace period by asking about an earlier
day (see followups.rules.missed_check_in), never by comparing dates again.

The conditions are written to match the partial indexes of the tables they read —
handoff_step_open_due_idx (due_on WHERE status = 'open'), deal_open_next_step_idx
(next_step_due WHERE stage IN the open stages) and handoff_status_closed_idx (status,
closed_on) — so the reminder scan stays an index range at a million rows. Keep their
shape when changing them.
"""

from __future__ import annotations

import datetime

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q

from accounts.models import OrganisationSettings
from handoffs.choices import OPEN_STAGES, HandoffStatus, MeetingStatus, PromiseStatus, Stage, StepStatus
from handoffs.models import Meeting

# Hand-off states in which nobody has accepted ownership yet.
NOT_ACCEPTED_STATUSES = (HandoffStatus.AWAITING_OWNER, HandoffStatus.OWNER_PROPOSED, HandoffStatus.DECLINED)
# Hand-off states before a three-way meeting was scheduled.
MEETING_PENDING_STATUSES = (*NOT_ACCEPTED_STATUSES, HandoffStatus.ACCEPTED)
# A meeting in one of these states means the meeting was arranged: the hand-off is no
# longer waiting to be scheduled (see meeting_late).
MEETING_ARRANGED_STATUSES = (MeetingStatus.SCHEDULED, MeetingStatus.HELD)
# A promise in one of these states is still to be kept (see promise_late).
PROMISE_PENDING_STATUSES = (PromiseStatus.OPEN, PromiseStatus.CONFIRMED)


def closed_before(today: datetime.date, within_days: int) -> datetime.date:
    """Hand-offs closed before this date are past a deadline of `within_days` after the close."""
    return today - datetime.timedelta(days=within_days)


def next_step_late(today: datetime.date) -> Q:
    """Deal: an open deal whose next step was due before `today`."""
    return Q(stage__in=OPEN_STAGES, next_step_due__lt=today)


def step_late(today: datetime.date) -> Q:
    """HandoffStep: an open step that was due before `today`."""
    return Q(status=StepStatus.OPEN, due_on__lt=today)


def ownership_late(today: datetime.date, settings: OrganisationSettings) -> Q:
    """Handoff: no delivery owner accepted it within settings.acceptance_within_days of
    the close. A declined hand-off is late once that deadline passes, like one nobody
    answered (the report also counts a decline at once, as its own kind of drop)."""
    return Q(
        status__in=NOT_ACCEPTED_STATUSES,
        accepted_at__isnull=True,
        closed_on__lt=closed_before(today, settings.acceptance_within_days),
    )


def meeting_late(today: datetime.date, settings: OrganisationSettings) -> Q:
    """Handoff: no three-way meeting scheduled or held within
    settings.meeting_schedule_within_days of the close.

    Settled for the pages and the reminder alike (they used to differ, issue 11): a
    hand-off with a meeting scheduled, or one held, is *not* late to schedule it, even
    while its status has not moved on. The board used to mark it late as long as no
    three-way meeting was held, so an ACCEPTED hand-off whose meeting was held without
    one of the three sides showed "late" but was never reminded — a reminder saying "no
    meeting is scheduled" would be wrong there. That hand-off is not lost: the report's
    incomplete_meeting and no_handoff_meeting drops stay open until a three-way meeting
    is held."""
    arranged = Meeting.objects.filter(handoff=OuterRef("pk"), status__in=MEETING_ARRANGED_STATUSES)
    return Q(
        status__in=MEETING_PENDING_STATUSES,
        closed_on__lt=closed_before(today, settings.meeting_schedule_within_days),
        meeting_held_at__isnull=True,
    ) & ~Exists(arranged)


def promise_late(today: datetime.date) -> Q:
    """Promise: not kept, broken or dropped yet, and due before `today`. A lost deal's
    promises are nobody's to keep (promise_add refuses them too), so they are never late.

    The partial index promise_pending_due_idx (target_date) WHERE status IN ('open',
    'confirmed') matches this shape: keep them in step."""
    return Q(status__in=PROMISE_PENDING_STATUSES, target_date__lt=today) & ~Q(deal__stage=Stage.LOST)


# ---------------------------------------------------------------- what can make it late
#
# Each returns one condition per table the predicate reads, on the predicate's model,
# selecting the items with a row of that table saved after `since` (updated_at, stamped
# by every save; each condition reads an index on it). The conditions are kept apart so
# that each can be answered from its own index.


def next_step_late_changes(since: datetime.datetime) -> list[Q]:
    """Deal: next_step_late reads the deal's own row."""
    return [Q(updated_at__gt=since)]


def step_late_changes(since: datetime.datetime) -> list[Q]:
    """HandoffStep: step_late reads the step's own row."""
    return [Q(updated_at__gt=since)]


def ownership_late_changes(since: datetime.datetime) -> list[Q]:
    """Handoff: ownership_late reads the hand-off's own row."""
    return [Q(updated_at__gt=since)]


def meeting_late_changes(since: datetime.datetime) -> list[Q]:
    """Handoff: meeting_late reads the hand-off and its meetings (one cancelled makes it
    late again)."""
    changed_meetings = Meeting.objects.filter(updated_at__gt=since).values("handoff_id")
    return [Q(updated_at__gt=since), Q(pk__in=changed_meetings)]


def promise_late_changes(since: datetime.datetime) -> list[Q]:
    """Promise: promise_late reads the promise and its deal (a lost deal reopened)."""
    return [Q(updated_at__gt=since), Q(deal__updated_at__gt=since)]


def as_flag(condition: Q) -> ExpressionWrapper:
    """A predicate as a boolean annotation, for a page's "late" marker on each row."""
    return ExpressionWrapper(condition, output_field=BooleanField())


__all__ = [
    "MEETING_ARRANGED_STATUSES",
    "MEETING_PENDING_STATUSES",
    "NOT_ACCEPTED_STATUSES",
    "PROMISE_PENDING_STATUSES",
    "as_flag",
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
