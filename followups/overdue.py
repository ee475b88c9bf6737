"""What is overdue: one rule per reminder kind, each a queryset the database answers.

Every rule returns a queryset of the item's model filtered to the overdue rows, and
says who owns the item (the level-1 recipient) as a SQL expression, so that the scan
can insert its reminders in one INSERT … SELECT and the worker can re-check, just
before sending, that an item is still overdue. The filters are written to match the
partial indexes of the tables they read (see the models' Meta.indexes), so that the
scan stays fast with a million check-ins. What counts as overdue is not decided here:
each rule filters with the predicate of followups.lateness (handoffs.lateness for the
items of the handoffs app), the same the pages and the dropped-baton report use.

Dates are compared with the organisation's local date (settings.TIME_ZONE): an item
due on day D becomes overdue at midnight at the end of D. When the reminder is *sent*
depends on the recipient's working hours in their own time zone, not on this.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import BigIntegerField, Case, Exists, F, OuterRef, Q, QuerySet, Subquery, When
from django.db.models.expressions import Expression
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from accounts.common.links import url_for_each
from accounts.models import OrganisationSettings, User
from followups import lateness
from followups.choices import ReminderKind
from followups.models import CheckIn
from handoffs.choices import HandoffStatus
from handoffs.models import Deal, Handoff, HandoffStep, Promise


@dataclass(frozen=True)
class OverdueRule:
    """One kind of overdue item: its overdue rows, who owns each, and which changes can
    make an item overdue other than the date moving on (the lateness `*_changes`)."""

    kind: str
    queryset: QuerySet
    owner: Expression
    changes: Callable[[datetime.datetime], list[Q]]

    def candidates(self, queryset: QuerySet | None = None) -> QuerySet:
        """(overdue_item, overdue_owner) of every overdue item with an owner; of
        `queryset` (one of changed_since's) if given. The one place a reminder's
        recipient is decided: the item's owner, or, if that person was deactivated,
        their team's manager (active_recipient); None if neither."""
        return (
            (self.queryset if queryset is None else queryset)
            .annotate(overdue_holder=self.owner)
            .annotate(overdue_owner=active_recipient("overdue_holder"))
            # On the holder, not the recipient: the recipient's probes are read once, in
            # the SELECT; an item whose deactivated holder has no manager comes out with no
            # recipient, and the scan's INSERT leaves it out (`overdue_owner IS NOT NULL`).
            .filter(overdue_holder__isnull=False)
            .order_by()
            .values(overdue_item=F("pk"), overdue_owner=F("overdue_owner"))
        )

    def changed_since(self, since: datetime.datetime) -> list[QuerySet]:
        """The overdue items a row of which (the item's, or another its rule reads) was
        saved after `since`: one queryset per table, each read through its own index."""
        return [self.queryset.filter(condition) for condition in self.changes(since)]


def active_recipient(holder: str) -> Expression:
    """Who is reminded of an item held by the user in the annotation `holder`: that user
    while active; once deactivated (issue 15), their team's manager if active and not
    themselves — their open work waits on the manager's reassigning it
    (followups:open_work) — else nobody. Two primary-key probes per overdue item."""
    holder_ref = OuterRef(holder)
    manager_of_inactive = (
        User.objects.filter(pk=holder_ref, is_active=False, team__manager__is_active=True)
        .exclude(team__manager_id=holder_ref)
        .order_by()
        .values("team__manager_id")[:1]
    )
    return Case(
        When(Exists(User.objects.filter(pk=holder_ref, is_active=True).order_by()), then=F(holder)),
        default=Subquery(manager_of_inactive),
        output_field=BigIntegerField(),
    )


def _today() -> datetime.date:
    return timezone.localdate()


# The predicates (followups.lateness) match these partial indexes exactly:
#   checkin_scheduled_due_idx  (due_on) WHERE status = 'scheduled'
#   handoff_step_open_due_idx  (due_on) WHERE status = 'open'
#   deal_open_next_step_idx    (next_step_due) WHERE stage IN (the open stages)
def overdue_checkins(today: datetime.date | None = None) -> QuerySet[CheckIn]:
    """Scheduled check-ins whose due date has passed."""
    return CheckIn.objects.filter(lateness.checkin_late(today or _today()))


def overdue_steps(today: datetime.date | None = None) -> QuerySet[HandoffStep]:
    """Open hand-off steps whose due date has passed."""
    return HandoffStep.objects.filter(lateness.step_late(today or _today()))


def unscheduled_meetings(
    today: datetime.date | None = None, *, org: OrganisationSettings | None = None
) -> QuerySet[Handoff]:
    """Hand-offs of won deals with no three-way meeting scheduled (or held) N days after the close."""
    return Handoff.objects.filter(lateness.meeting_late(today or _today(), org or OrganisationSettings.load()))


def unaccepted_handoffs(
    today: datetime.date | None = None, *, org: OrganisationSettings | None = None
) -> QuerySet[Handoff]:
    """Hand-offs with no accepted delivery owner N days after the close."""
    return Handoff.objects.filter(lateness.ownership_late(today or _today(), org or OrganisationSettings.load()))


def overdue_next_steps(today: datetime.date | None = None) -> QuerySet[Deal]:
    """Open deals whose next step's date has passed."""
    return Deal.objects.filter(lateness.next_step_late(today or _today()))


def overdue_promises(today: datetime.date | None = None) -> QuerySet[Promise]:
    """Promises still to keep (open or confirmed) whose due date has passed. No partial
    index yet (see handoffs.lateness.promise_late): a few promises per deal."""
    return Promise.objects.filter(lateness.promise_late(today or _today()))


def rules(today: datetime.date | None = None, *, org: OrganisationSettings | None = None) -> list[OverdueRule]:
    """Every overdue rule, with the organisation's current thresholds (`org`, else read)."""
    today = today or _today()
    org = org or OrganisationSettings.load()
    return [
        OverdueRule(ReminderKind.CHECKIN_OVERDUE, overdue_checkins(today), F("rep_id"), lateness.checkin_late_changes),
        # The step's assignee; unassigned delivery steps fall to the delivery owner, then the rep.
        OverdueRule(
            ReminderKind.STEP_OVERDUE,
            overdue_steps(today),
            Coalesce(F("assignee_id"), F("handoff__delivery_owner_id"), F("handoff__rep_id")),
            lateness.step_late_changes,
        ),
        OverdueRule(
            ReminderKind.MEETING_NOT_SCHEDULED,
            unscheduled_meetings(today, org=org),
            F("rep_id"),
            lateness.meeting_late_changes,
        ),
        # A proposed owner is the one who must accept; with nobody proposed it is the rep's
        # hand-off to chase (and their manager's, at level 2).
        OverdueRule(
            ReminderKind.OWNER_NOT_ACCEPTED,
            unaccepted_handoffs(today, org=org),
            Case(
                When(status=HandoffStatus.OWNER_PROPOSED, proposed_owner__isnull=False, then=F("proposed_owner_id")),
                default=F("rep_id"),
            ),
            lateness.ownership_late_changes,
        ),
        OverdueRule(
            ReminderKind.NEXT_STEP_OVERDUE, overdue_next_steps(today), F("owner_id"), lateness.next_step_late_changes
        ),
        # The promise's delivery owner; before the hand-off has one, the deal's owner (the rep).
        OverdueRule(
            ReminderKind.PROMISE_OVERDUE,
            overdue_promises(today),
            Coalesce(F("owner_id"), F("deal__owner_id")),
            lateness.promise_late_changes,
        ),
    ]


def rule_for(kind: str, today: datetime.date | None = None) -> OverdueRule | None:
    for rule in rules(today):
        if rule.kind == kind:
            return rule
    return None


def still_overdue_ids(kind: str, item_ids: Iterable[int], today: datetime.date | None = None) -> set[int]:
    """Of `item_ids`, those still overdue now (the worker asks just before sending)."""
    item_ids = list(item_ids)
    if not item_ids:
        return set()
    rule = rule_for(kind, today)
    if rule is None:
        # Not an overdue rule (a plain notification): it stays relevant.
        return set(item_ids)
    return set(rule.queryset.filter(pk__in=item_ids).values_list("pk", flat=True))


@dataclass(frozen=True)
class ItemDescription:
    """What a reminder says about its item, and where to go to act on it."""

    title: str
    detail: str
    path: str
    account: str


def describe_items(kind: str, item_ids: Iterable[int]) -> dict[int, ItemDescription]:
    """A description of each item, in one query per kind (the worker's batches)."""
    item_ids = list(item_ids)
    if not item_ids:
        return {}
    descriptions: dict[int, ItemDescription] = {}
    if kind == ReminderKind.CHECKIN_OVERDUE:
        my_checkins = reverse("followups:my_checkins")
        for checkin in CheckIn.objects.filter(pk__in=item_ids).select_related("account", "handoff__deal"):
            # Named by its deal and cadence: an account with two hand-offs has two check-ins
            # due the same day, and their two reminders must not read the same.
            cadence = f"{checkin.cadence_days}-day check-in" if checkin.cadence_days else "Extra check-in"
            descriptions[checkin.pk] = ItemDescription(
                title=f"{cadence} with {checkin.account} ({checkin.handoff.deal}) is overdue",
                detail=f"It was due on {checkin.due_on:%d %b %Y} (check-in #{checkin.pk}).",
                path=my_checkins,
                account=str(checkin.account),
            )
    elif kind == ReminderKind.STEP_OVERDUE:
        handoff_path = url_for_each("handoffs:handoff_detail")
        for step in HandoffStep.objects.filter(pk__in=item_ids).select_related("handoff__deal__account"):
            deal = step.handoff.deal
            descriptions[step.pk] = ItemDescription(
                title=f"Hand-off step “{step.title}” for {deal} is overdue",
                detail=f"It was due on {step.due_on:%d %b %Y} (hand-off #{step.handoff_id}, step #{step.pk}).",
                path=handoff_path(step.handoff_id),
                account=str(deal.account),
            )
    elif kind in (ReminderKind.MEETING_NOT_SCHEDULED, ReminderKind.OWNER_NOT_ACCEPTED):
        handoff_path = url_for_each("handoffs:handoff_detail")
        for handoff in Handoff.objects.filter(pk__in=item_ids).select_related("deal__account"):
            deal = handoff.deal
            if kind == ReminderKind.MEETING_NOT_SCHEDULED:
                title = f"No hand-off meeting is scheduled for {deal}"
            else:
                title = f"Nobody has accepted the hand-off of {deal}"
            descriptions[handoff.pk] = ItemDescription(
                title=title,
                detail=f"The deal was won on {handoff.closed_on:%d %b %Y} (hand-off #{handoff.pk}).",
                path=handoff_path(handoff.pk),
                account=str(deal.account),
            )
    elif kind == ReminderKind.NEXT_STEP_OVERDUE:
        deal_path = url_for_each("handoffs:deal_detail")
        for deal in Deal.objects.filter(pk__in=item_ids).select_related("account"):
            due = f"{deal.next_step_due:%d %b %Y}" if deal.next_step_due else "an unknown date"
            descriptions[deal.pk] = ItemDescription(
                title=f"The next step of {deal} is overdue",
                detail=f"“{deal.next_step}” was due on {due} (deal #{deal.pk}).",
                path=deal_path(deal.pk),
                account=str(deal.account),
            )
    elif kind == ReminderKind.PROMISE_OVERDUE:
        deal_path = url_for_each("handoffs:deal_detail")
        for promise in Promise.objects.filter(pk__in=item_ids).select_related("deal__account"):
            due = f"{promise.target_date:%d %b %Y}" if promise.target_date else "an unknown date"
            descriptions[promise.pk] = ItemDescription(
                title=f"The promise “{promise.description}” to {promise.deal.account} is past its due date",
                detail=f"It was due on {due} for {promise.deal}: mark it kept, or broken with what the customer "
                f"was told, or renegotiate it (promise #{promise.pk}).",
                path=f"{deal_path(promise.deal_id)}#promise-{promise.pk}",
                account=str(promise.deal.account),
            )
    return descriptions


__all__ = [
    "ItemDescription",
    "OverdueRule",
    "describe_items",
    "overdue_checkins",
    "overdue_next_steps",
    "overdue_promises",
    "overdue_steps",
    "rule_for",
    "rules",
    "still_overdue_ids",
    "unaccepted_handoffs",
    "unscheduled_meetings",
]
