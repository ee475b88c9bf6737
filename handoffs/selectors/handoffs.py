"""Reads of hand-offs: who may see which, the list pages, the detail page and the
customer's signed status link.

Visibility follows the deal's (handoffs.selectors.deals.deals_visible_to): reps see
their own and their team's, managers their teams' (a delivery manager also those
proposed to or owned by their delivery leads), delivery leads those proposed to or
owned by them, admins all.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.choices import Role
from accounts.models import Contact, OrganisationSettings, User
from accounts.selectors import team_scope_ids
from handoffs.choices import HandoffStatus, MeetingStatus, StepStatus
from handoffs.models import Deal, DealContact, Handoff, HandoffStep, Meeting, MeetingAttendee, Playbook, Promise
from handoffs.selectors.accounts import team_member_ids
from handoffs.selectors.expressions import InSubquery

NOT_ACCEPTED_STATUSES = [HandoffStatus.AWAITING_OWNER, HandoffStatus.OWNER_PROPOSED, HandoffStatus.DECLINED]
CUSTOMER_LINK_SALT = "handoffs.customer_status"


def handoffs_visible_to(user: User) -> QuerySet[Handoff]:
    """Every hand-off `user` may read (a queryset to filter further).

    The same rule as deals_visible_to, written on the hand-off's own columns: its deal
    among the deals the user's team owns (`deal_id IN (...)`, answered by the deal
    indexes on owner and team and hashed once), and for managers the hand-offs proposed
    to or owned by their team's delivery leads. No join, no subquery per deal, so the
    paginator's COUNT is one scan of the hand-off table."""
    if not user.is_authenticated or not user.is_active:
        return Handoff.objects.none()
    if user.is_admin_role:
        return Handoff.objects.all()
    if user.is_delivery:
        return Handoff.objects.filter(Q(proposed_owner=user) | Q(delivery_owner=user))
    scope = team_scope_ids(user)
    members = team_member_ids(scope)
    # `= ANY(ARRAY(members))`: the members are read once and the deal indexes on owner
    # and team answer the OR (a BitmapOr); the deal ids are then hashed once.
    team_deals = Deal.objects.filter(Q(owner_id=user.pk) | Q(team_id__in=scope) | InSubquery("owner_id", members))
    visible = Q(deal_id__in=team_deals.order_by().values("pk"))
    if user.is_manager:
        visible |= InSubquery("proposed_owner_id", members) | InSubquery("delivery_owner_id", members)
    return Handoff.objects.filter(visible)


def _late_thresholds(today: datetime.date) -> tuple[Q, Q]:
    """No owner accepted in time, no meeting held in time (the organisation's thresholds),
    as conditions on the hand-off's own columns."""
    org = OrganisationSettings.load()
    not_accepted_late = Q(
        status__in=NOT_ACCEPTED_STATUSES,
        closed_on__lt=today - datetime.timedelta(days=org.acceptance_within_days),
    )
    meeting_late = Q(
        status__in=[*NOT_ACCEPTED_STATUSES, HandoffStatus.ACCEPTED],
        meeting_held_at__isnull=True,
        closed_on__lt=today - datetime.timedelta(days=org.meeting_schedule_within_days),
    )
    return not_accepted_late, meeting_late


def overdue_condition(today: datetime.date) -> Q:
    """A filter for overdue hand-offs: an open step past its date, or not accepted / no
    meeting in time. The late steps are one `IN (...)` read from the partial index
    handoff_step_open_due_idx and hashed once, not a subquery run per hand-off."""
    late_steps = HandoffStep.objects.filter(status=StepStatus.OPEN, due_on__lt=today).values("handoff_id")
    not_accepted_late, meeting_late = _late_thresholds(today)
    return Q(pk__in=late_steps) | not_accepted_late | meeting_late


def with_overdue(handoffs: QuerySet[Handoff], *, today: datetime.date | None = None) -> QuerySet[Handoff]:
    """Annotate `is_overdue`: a step past its date, no owner accepted in time, or no
    meeting scheduled in time (the organisation's thresholds). For a page of rows prefer
    attach_overdue, which counts the late steps of those rows only."""
    today = today or timezone.localdate()
    return handoffs.annotate(is_overdue=overdue_condition(today))


def attach_overdue(handoffs: list[Handoff], *, today: datetime.date | None = None) -> list[Handoff]:
    """Set `overdue_step_count` and `is_overdue` on already loaded hand-offs (a page):
    one grouped query over the open steps of these rows only, whatever their number."""
    today = today or timezone.localdate()
    late_counts: dict[int, int] = {}
    if handoffs:
        late_counts = dict(
            HandoffStep.objects.filter(
                handoff_id__in={handoff.pk for handoff in handoffs}, status=StepStatus.OPEN, due_on__lt=today
            )
            .values("handoff_id")
            .annotate(late=Count("id"))
            .values_list("handoff_id", "late")
        )
    org = OrganisationSettings.load()
    accept_by = today - datetime.timedelta(days=org.acceptance_within_days)
    meet_by = today - datetime.timedelta(days=org.meeting_schedule_within_days)
    for handoff in handoffs:
        handoff.overdue_step_count = late_counts.get(handoff.pk, 0)
        not_accepted_late = handoff.status in NOT_ACCEPTED_STATUSES and handoff.closed_on < accept_by
        meeting_late = (
            handoff.status in (*NOT_ACCEPTED_STATUSES, HandoffStatus.ACCEPTED)
            and handoff.meeting_held_at is None
            and handoff.closed_on < meet_by
        )
        handoff.is_overdue = bool(handoff.overdue_step_count) or not_accepted_late or meeting_late
    return handoffs


def handoff_list_queryset(user: User) -> QuerySet[Handoff]:
    """The hand-off list before filtering and paginating, newest close first. It carries
    no per-row figures: the view paginates first, then calls attach_overdue on the page."""
    return (
        handoffs_visible_to(user)
        .select_related("deal", "deal__account", "rep", "proposed_owner", "delivery_owner", "team")
        .order_by("-closed_on", "-pk")
    )


MY_HANDOFFS_LIMIT = 100


@dataclass
class MyHandoffs:
    waiting: list[Handoff]
    mine: list[Handoff]
    declined: list[Handoff]


def my_handoffs(user: User, *, today: datetime.date | None = None) -> MyHandoffs:
    """A delivery lead's inbox: hand-offs waiting for their answer, those they own and
    are still running, and (for managers) those declined that need a new owner."""
    base = handoff_list_queryset(user)
    declined: list[Handoff] = []
    if user.is_manager or user.is_admin_role:
        declined = list(base.filter(status=HandoffStatus.DECLINED)[:MY_HANDOFFS_LIMIT])
    waiting = list(base.filter(proposed_owner=user, status=HandoffStatus.OWNER_PROPOSED)[:MY_HANDOFFS_LIMIT])
    mine = list(base.filter(delivery_owner=user).exclude(status=HandoffStatus.COMPLETE)[:MY_HANDOFFS_LIMIT])
    attach_overdue([*declined, *waiting, *mine], today=today)
    return MyHandoffs(waiting=waiting, mine=mine, declined=declined)


def handoff_for_detail(user: User, pk: int) -> Handoff:
    """The hand-off page's hand-off (404 unless `user` may read it), with its steps,
    meetings and the deal's contacts and promises loaded up front."""
    queryset = handoffs_visible_to(user).select_related(
        "deal",
        "deal__account",
        "deal__account__owner",
        "deal__owner",
        "rep",
        "rep__team",
        "proposed_owner",
        "proposed_by",
        "delivery_owner",
        "declined_by",
        "team",
        "playbook",
    )
    queryset = queryset.prefetch_related(
        Prefetch("steps", queryset=HandoffStep.objects.select_related("assignee", "done_by").order_by("position")),
        Prefetch(
            "meetings",
            queryset=Meeting.objects.select_related("organizer", "recorded_by").prefetch_related(
                Prefetch("attendees", queryset=MeetingAttendee.objects.select_related("user", "contact"))
            ),
        ),
        Prefetch("deal__promises", queryset=Promise.objects.order_by("id")),
        Prefetch("deal__deal_contacts", queryset=DealContact.objects.select_related("contact")),
    )
    return get_object_or_404(queryset, pk=pk)


def current_meeting(handoff: Handoff) -> Meeting | None:
    """The scheduled meeting, else the last one held (from the prefetched meetings)."""
    meetings = list(handoff.meetings.all())
    scheduled = [m for m in meetings if m.status == MeetingStatus.SCHEDULED]
    if scheduled:
        return scheduled[0]
    held = [m for m in meetings if m.status == MeetingStatus.HELD]
    return held[0] if held else None


def handoff_for_change(user: User, pk: int) -> Handoff:
    """A hand-off `user` may read, for an action (services check who may act)."""
    return get_object_or_404(
        handoffs_visible_to(user).select_related("deal", "deal__account", "rep", "proposed_owner", "delivery_owner"),
        pk=pk,
    )


def step_for_change(user: User, pk: int) -> HandoffStep:
    return get_object_or_404(
        HandoffStep.objects.filter(handoff__in=handoffs_visible_to(user).values("pk")).select_related(
            "handoff", "assignee", "done_by"
        ),
        pk=pk,
    )


def meeting_for_change(user: User, pk: int) -> Meeting:
    return get_object_or_404(
        Meeting.objects.filter(handoff__in=handoffs_visible_to(user).values("pk"))
        .select_related("handoff", "handoff__deal", "handoff__deal__account", "handoff__rep", "handoff__delivery_owner")
        .prefetch_related(Prefetch("attendees", queryset=MeetingAttendee.objects.select_related("user", "contact"))),
        pk=pk,
    )


def delivery_lead_choices() -> QuerySet[User]:
    """Who may be proposed as a delivery owner: active delivery leads."""
    return User.objects.filter(is_active=True, role=Role.DELIVERY).select_related("team")


def account_contacts(handoff: Handoff) -> QuerySet[Contact]:
    return Contact.objects.filter(account_id=handoff.deal.account_id).order_by("first_name", "last_name")


def handoff_owner_choices(user: User) -> QuerySet[User]:
    """The choices of the hand-off list's delivery-owner filter: the active delivery
    leads (only they may be proposed as owners), in name order.

    Not narrowed to the owners of the hand-offs `user` may read: that evaluated the whole
    visibility filter again for the menu (~55 ms for a manager at 60k hand-offs), while
    the leads are a few dozen colleagues whose names are no secret. Picking a lead with
    nothing visible simply lists no rows. `user` is kept for the callers' signature."""
    return User.objects.filter(is_active=True, role=Role.DELIVERY).order_by("first_name", "last_name", "pk")


def playbook_list() -> QuerySet[Playbook]:
    return Playbook.objects.annotate(step_count=Count("steps")).order_by("-is_default", "name")


# --- the customer's status page ------------------------------------------------------


def customer_status_token(*, handoff_id: int, contact_id: int) -> str:
    """A signed, timestamped token naming the hand-off and the contact it was sent to."""
    return signing.TimestampSigner(salt=CUSTOMER_LINK_SALT).sign_object({"h": handoff_id, "c": contact_id})


@dataclass
class CustomerStatus:
    handoff: Handoff
    contact: Contact
    next_meeting: Meeting | None
    promises: list[Promise]


def customer_status_for_token(token: str) -> CustomerStatus | None:
    """What the customer may see through `token`, or None if the token is forged,
    expired (settings.BATON_CUSTOMER_LINK_DAYS) or names nothing that exists."""
    try:
        payload = signing.TimestampSigner(salt=CUSTOMER_LINK_SALT).unsign_object(
            token, max_age=datetime.timedelta(days=settings.BATON_CUSTOMER_LINK_DAYS)
        )
        handoff_id, contact_id = int(payload["h"]), int(payload["c"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    handoff = (
        Handoff.objects.select_related("deal", "deal__account", "delivery_owner", "rep").filter(pk=handoff_id).first()
    )
    if handoff is None:
        return None
    contact = Contact.objects.filter(pk=contact_id, account_id=handoff.deal.account_id).first()
    if contact is None:
        return None
    next_meeting = (
        handoff.meetings.filter(status=MeetingStatus.SCHEDULED, starts_at__gte=timezone.now())
        .order_by("starts_at")
        .first()
    )
    return CustomerStatus(
        handoff=handoff,
        contact=contact,
        next_meeting=next_meeting,
        promises=list(handoff.deal.promises.order_by("id")),
    )
