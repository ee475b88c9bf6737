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
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.choices import Role
from accounts.models import Contact, OrganisationSettings, User
from handoffs.choices import HandoffStatus, MeetingStatus, StepStatus
from handoffs.models import DealContact, Handoff, HandoffStep, Meeting, MeetingAttendee, Playbook, Promise
from handoffs.selectors.deals import deals_visible_to

NOT_ACCEPTED_STATUSES = [HandoffStatus.AWAITING_OWNER, HandoffStatus.OWNER_PROPOSED, HandoffStatus.DECLINED]
CUSTOMER_LINK_SALT = "handoffs.customer_status"


def handoffs_visible_to(user: User) -> QuerySet[Handoff]:
    """Every hand-off `user` may read (a queryset to filter further)."""
    if not user.is_authenticated or not user.is_active:
        return Handoff.objects.none()
    if user.is_admin_role:
        return Handoff.objects.all()
    if user.is_delivery:
        return Handoff.objects.filter(Q(proposed_owner=user) | Q(delivery_owner=user))
    return Handoff.objects.filter(deal__in=deals_visible_to(user).values("pk"))


def with_overdue(handoffs: QuerySet[Handoff], *, today: datetime.date | None = None) -> QuerySet[Handoff]:
    """Annotate `is_overdue` and `overdue_step_count`: a step past its date, no owner
    accepted in time, or no meeting scheduled in time (the organisation's thresholds)."""
    today = today or timezone.localdate()
    org = OrganisationSettings.load()
    late_steps = HandoffStep.objects.filter(handoff=OuterRef("pk"), status=StepStatus.OPEN, due_on__lt=today)
    not_accepted_late = Q(
        status__in=NOT_ACCEPTED_STATUSES,
        closed_on__lt=today - datetime.timedelta(days=org.acceptance_within_days),
    )
    meeting_late = Q(
        status__in=[*NOT_ACCEPTED_STATUSES, HandoffStatus.ACCEPTED],
        meeting_held_at__isnull=True,
        closed_on__lt=today - datetime.timedelta(days=org.meeting_schedule_within_days),
    )
    return handoffs.annotate(
        overdue_step_count=Count("steps", filter=Q(steps__status=StepStatus.OPEN, steps__due_on__lt=today)),
        has_late_step=Exists(late_steps),
    ).annotate(is_overdue=Q(has_late_step=True) | not_accepted_late | meeting_late)


def handoff_list_queryset(user: User, *, today: datetime.date | None = None) -> QuerySet[Handoff]:
    """The hand-off list before filtering: one query per page, whatever the rows."""
    return with_overdue(
        handoffs_visible_to(user).select_related(
            "deal", "deal__account", "rep", "proposed_owner", "delivery_owner", "team"
        ),
        today=today,
    ).order_by("-closed_on", "-pk")


@dataclass
class MyHandoffs:
    waiting: list[Handoff]
    mine: list[Handoff]
    declined: list[Handoff]


def my_handoffs(user: User, *, today: datetime.date | None = None) -> MyHandoffs:
    """A delivery lead's inbox: hand-offs waiting for their answer, those they own and
    are still running, and (for managers) those declined that need a new owner."""
    base = handoff_list_queryset(user, today=today)
    declined: list[Handoff] = []
    if user.is_manager or user.is_admin_role:
        declined = list(base.filter(status=HandoffStatus.DECLINED)[:100])
    return MyHandoffs(
        waiting=list(base.filter(proposed_owner=user, status=HandoffStatus.OWNER_PROPOSED)[:100]),
        mine=list(base.filter(delivery_owner=user).exclude(status=HandoffStatus.COMPLETE)[:100]),
        declined=declined,
    )


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
    """The delivery owners of the hand-offs `user` may read (for the list's owner filter)."""
    return User.objects.filter(pk__in=handoffs_visible_to(user).values("delivery_owner_id"))


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
