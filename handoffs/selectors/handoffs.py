"""Reads of hand-offs: the list pages, the detail page and the customer's signed status
link (and whether it is still valid: handoffs.models.CustomerLink), each scoped to the hand-offs the user may read (handoffs.access.handoffs_visible_to,
which also says who may manage and work a hand-off)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.db.models import (
    Count,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.choices import Role
from accounts.models import Contact, OrganisationSettings, User
from handoffs import lateness
from handoffs.access import handoffs_visible_to, user_may_work_step
from handoffs.choices import HandoffStatus, MeetingStatus, PromiseStatus, StepStatus
from handoffs.models import (
    CustomerLink,
    DealContact,
    Handoff,
    HandoffStep,
    Meeting,
    MeetingAttendee,
    Playbook,
    Promise,
)
from handoffs.selectors.people import attach_people
from handoffs.selectors.promises import promise_people, promises_for_page

CUSTOMER_LINK_SALT = "handoffs.customer_status"


def overdue_condition(today: datetime.date) -> Q:
    """A filter for overdue hand-offs: an open step past its date, or not accepted / no
    meeting scheduled in time (handoffs.lateness, the reminders' rules too). The late
    steps are one `IN (...)` read from the partial index handoff_step_open_due_idx and
    hashed once, not a subquery run per hand-off."""
    org = OrganisationSettings.load()
    late_steps = HandoffStep.objects.filter(lateness.step_late(today)).values("handoff_id")
    return Q(pk__in=late_steps) | lateness.ownership_late(today, org) | lateness.meeting_late(today, org)


def with_overdue(handoffs: QuerySet[Handoff], *, today: datetime.date | None = None) -> QuerySet[Handoff]:
    """Annotate `is_overdue`: a step past its date, no owner accepted in time, or no
    meeting scheduled in time (the organisation's thresholds). For a page of rows prefer
    attach_overdue, which counts the late steps of those rows only."""
    today = today or timezone.localdate()
    return handoffs.annotate(is_overdue=overdue_condition(today))


def attach_overdue(handoffs: list[Handoff], *, today: datetime.date | None = None) -> list[Handoff]:
    """Set `overdue_step_count`, `ownership_is_late`, `meeting_is_late` and `is_overdue`
    on already loaded hand-offs (a page): one query over these rows only, whatever their
    number, asking the database the same predicates as the filter and the reminders."""
    today = today or timezone.localdate()
    org = OrganisationSettings.load()
    flags: dict[int, tuple[int, bool, bool]] = {}
    if handoffs:
        late_steps = (
            HandoffStep.objects.filter(lateness.step_late(today), handoff=OuterRef("pk"))
            .order_by()
            .values("handoff")
            .annotate(late=Count("pk"))
            .values("late")
        )
        flags = {
            pk: (steps, ownership, meeting)
            for pk, steps, ownership, meeting in Handoff.objects.filter(pk__in={handoff.pk for handoff in handoffs})
            .order_by()
            .annotate(
                late_steps=Coalesce(Subquery(late_steps, output_field=IntegerField()), 0),
                ownership_is_late=lateness.as_flag(lateness.ownership_late(today, org)),
                meeting_is_late=lateness.as_flag(lateness.meeting_late(today, org)),
            )
            .values_list("pk", "late_steps", "ownership_is_late", "meeting_is_late")
        }
    for handoff in handoffs:
        steps, ownership, meeting = flags.get(handoff.pk, (0, False, False))
        handoff.overdue_step_count = steps
        handoff.ownership_is_late = ownership
        handoff.meeting_is_late = meeting
        handoff.is_overdue = bool(steps) or ownership or meeting
    return handoffs


def handoff_list_queryset(user: User, *, per_row: bool = False) -> QuerySet[Handoff]:
    """The hand-off list before filtering and paginating, newest close first. It carries
    no per-row figures and no people: the view paginates first, then calls
    attach_list_rows on the page. `per_row` for one row by id (handoffs_visible_to)."""
    return (
        handoffs_visible_to(user, per_row=per_row).select_related("deal", "deal__account").order_by("-closed_on", "-pk")
    )


# The people a row of the hand-off list names (the page and the API).
LIST_PEOPLE = ("rep", "proposed_owner", "delivery_owner")


def attach_list_rows(handoffs: list[Handoff], *, today: datetime.date | None = None) -> list[Handoff]:
    """What a page of the hand-off list shows beyond its rows: their people (one query
    for the page: a few dozen colleagues, each one object however many rows name them,
    instead of three user joins per row) and the overdue flags (attach_overdue)."""
    attach_people((handoff, name) for handoff in handoffs for name in LIST_PEOPLE)
    return attach_overdue(handoffs, today=today)


MY_HANDOFFS_LIMIT = 100
# How many of a hand-off's open steps My hand-offs shows, soonest due first: the next
# things to do, not the whole checklist (that is on the hand-off's page).
NEXT_STEPS_SHOWN = 3
# Steps of a declined or complete hand-off cannot change (handoffs.services.handoffs).
STEPS_LOCKED_STATUSES = (HandoffStatus.DECLINED, HandoffStatus.COMPLETE)


@dataclass
class MyHandoffs:
    waiting: list[Handoff]
    mine: list[Handoff]
    declined: list[Handoff]
    # The running hand-offs of the deals the user sold (their rep), which they work too.
    sold: list[Handoff] = field(default_factory=list)


def attach_next_steps(user: User, handoffs: list[Handoff], *, today: datetime.date | None = None) -> list[Handoff]:
    """Set `next_steps` on already loaded hand-offs: up to NEXT_STEPS_SHOWN open steps
    each, soonest due first, each with `is_late` (handoffs.lateness, as everywhere) and
    `may_tick` (handoffs.access.user_may_work_step, the rule the service checks). One
    query for all the rows, whatever their number."""
    today = today or timezone.localdate()
    by_handoff: dict[int, list[HandoffStep]] = {handoff.pk: [] for handoff in handoffs}
    if by_handoff:
        steps = (
            HandoffStep.objects.filter(handoff_id__in=list(by_handoff), status=StepStatus.OPEN)
            .only("handoff", "title", "due_on", "position", "assignee")
            .annotate(is_late=lateness.as_flag(lateness.step_late(today)))
            .order_by("handoff_id", "due_on", "position")
        )
        for step in steps:
            by_handoff[step.handoff_id].append(step)
    for handoff in handoffs:
        locked = handoff.status in STEPS_LOCKED_STATUSES
        handoff.next_steps = by_handoff[handoff.pk][:NEXT_STEPS_SHOWN]
        handoff.open_step_count = len(by_handoff[handoff.pk])
        for step in handoff.next_steps:
            step.may_tick = not locked and user_may_work_step(user, step, handoff)
    return handoffs


# The columns My hand-offs shows or its rules read (the deal's title, the account's name,
# user_may_work_step's people and team): a row is three small objects, not seven.
INBOX_ROW_FIELDS = (
    "deal__title",
    "deal__account__name",
    "status",
    "closed_on",
    "rep",
    "team",
    "proposed_owner",
    "delivery_owner",
)
INBOX_PEOPLE = ("rep", "proposed_owner", "delivery_owner")


def _inbox_queryset(user: User, *, per_row: bool = False) -> QuerySet[Handoff]:
    """My hand-offs' rows before filtering, newest close first; their people come from
    attach_people (one query for every row: a handful of colleagues). `per_row` for one
    row by id (handoffs_visible_to)."""
    return (
        handoffs_visible_to(user, per_row=per_row)
        .select_related("deal", "deal__account")
        .only(*INBOX_ROW_FIELDS)
        .order_by("-closed_on", "-pk")
    )


def my_handoffs(user: User, *, today: datetime.date | None = None) -> MyHandoffs:
    """A user's hand-off inbox: hand-offs waiting for their answer, those they own and
    are still running, those of the deals they sold still running, and (for managers)
    those declined that need a new owner. The ones they work carry their next open
    steps (attach_next_steps), to tick from the list."""
    base = _inbox_queryset(user)
    declined: list[Handoff] = []
    if user.is_manager or user.is_admin_role:
        declined = list(base.filter(status=HandoffStatus.DECLINED)[:MY_HANDOFFS_LIMIT])
    waiting = list(base.filter(proposed_owner=user, status=HandoffStatus.OWNER_PROPOSED)[:MY_HANDOFFS_LIMIT])
    mine = list(base.filter(delivery_owner=user).exclude(status=HandoffStatus.COMPLETE)[:MY_HANDOFFS_LIMIT])
    sold = list(
        base.filter(rep=user).exclude(delivery_owner=user).exclude(status__in=STEPS_LOCKED_STATUSES)[:MY_HANDOFFS_LIMIT]
    )
    rows = [*declined, *waiting, *mine, *sold]
    attach_people((handoff, name) for handoff in rows for name in INBOX_PEOPLE)
    attach_overdue(rows, today=today)
    attach_next_steps(user, [*mine, *sold], today=today)
    return MyHandoffs(waiting=waiting, mine=mine, declined=declined, sold=sold)


def my_handoff_row(user: User, pk: int, *, today: datetime.date | None = None) -> Handoff:
    """One row of My hand-offs as my_handoffs reads it (after a step ticked there)."""
    handoff = get_object_or_404(_inbox_queryset(user, per_row=True), pk=pk)
    attach_people((handoff, name) for name in INBOX_PEOPLE)
    attach_overdue([handoff], today=today)
    attach_next_steps(user, [handoff], today=today)
    return handoff


def handoff_for_detail(user: User, pk: int) -> Handoff:
    """The hand-off page's hand-off (404 unless `user` may read it), with its steps,
    meetings, people and the deal's contacts and promises loaded up front."""
    queryset = handoffs_visible_to(user, per_row=True).select_related("deal", "deal__account", "team", "playbook")
    queryset = queryset.prefetch_related(
        Prefetch(
            "steps",
            queryset=HandoffStep.objects.annotate(
                is_late=lateness.as_flag(lateness.step_late(timezone.localdate()))
            ).order_by("position"),
        ),
        Prefetch(
            "meetings",
            queryset=Meeting.objects.prefetch_related(
                Prefetch("attendees", queryset=MeetingAttendee.objects.select_related("contact"))
            ),
        ),
        Prefetch("deal__promises", queryset=promises_for_page(with_people=False)),
        Prefetch("deal__deal_contacts", queryset=DealContact.objects.select_related("contact")),
    )
    handoff = get_object_or_404(queryset, pk=pk)
    deal = handoff.deal
    # Every person the page names in one query: the steps', meetings' and promises'
    # people too, which were joins to the user table (all its columns) in each of
    # their prefetch queries.
    people = [(handoff, name) for name in ("rep", "proposed_owner", "proposed_by", "delivery_owner", "declined_by")]
    people += [(deal, "owner"), (deal.account, "owner")]
    people += [(step, name) for step in handoff.steps.all() for name in ("assignee", "done_by")]
    for meeting in handoff.meetings.all():
        people += [(meeting, "organizer"), (meeting, "recorded_by")]
        people += [(attendee, "user") for attendee in meeting.attendees.all()]
    people += promise_people(deal.promises.all())
    attach_people(people, teams=True)
    return handoff


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
        handoffs_visible_to(user, per_row=True).select_related(
            "deal", "deal__account", "rep", "proposed_owner", "delivery_owner"
        ),
        pk=pk,
    )


def step_for_change(user: User, pk: int) -> HandoffStep:
    return get_object_or_404(
        HandoffStep.objects.filter(handoff__in=handoffs_visible_to(user, per_row=True).values("pk"))
        .select_related("handoff", "assignee", "done_by")
        .annotate(is_late=lateness.as_flag(lateness.step_late(timezone.localdate()))),
        pk=pk,
    )


def meeting_for_change(user: User, pk: int) -> Meeting:
    return get_object_or_404(
        Meeting.objects.filter(handoff__in=handoffs_visible_to(user, per_row=True).values("pk"))
        .select_related("handoff", "handoff__deal", "handoff__deal__account", "handoff__rep", "handoff__delivery_owner")
        .prefetch_related(Prefetch("attendees", queryset=MeetingAttendee.objects.select_related("user", "contact"))),
        pk=pk,
    )


def meetings_visible_to(user: User) -> QuerySet[Meeting]:
    """The meetings of the hand-offs `user` may read (handoffs.access.handoffs_visible_to),
    with their organiser, recorder and attendees loaded: a list of them is two queries,
    whatever the rows."""
    return (
        Meeting.objects.filter(handoff__in=handoffs_visible_to(user).values("pk"))
        .select_related("organizer", "recorded_by")
        .prefetch_related(Prefetch("attendees", queryset=MeetingAttendee.objects.select_related("user", "contact")))
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


# Tokens signed before links had versions (customer summaries sent before issue 15)
# carry no "v". They are read as version 1, the version a link has until someone
# revokes or replaces it: refusing them would break, on the day this shipped, every
# link customers hold, with nothing they could do about it; read as version 1 they still
# expire, still die when the contact leaves the deal, and die at the first revoke or
# fresh link like any other.
LEGACY_TOKEN_VERSION = 1


def _customer_link_signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=CUSTOMER_LINK_SALT)


def customer_status_token(*, handoff_id: int, contact_id: int, version: int = LEGACY_TOKEN_VERSION) -> str:
    """A signed, timestamped token naming the hand-off, the contact it is sent to and the
    version of their CustomerLink: valid while that version is current (see
    customer_status_for_token). Make it when the e-mail is sent, so that its days of
    validity count from then."""
    return _customer_link_signer().sign_object({"h": handoff_id, "c": contact_id, "v": version})


def customer_link_versions(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """For each (hand-off id, contact id) whose status link may be valid now, the version a
    token must carry: the contact is still on the hand-off's deal, not erased, has an
    e-mail address, and the link is not revoked (no CustomerLink row yet: version 1).
    Pairs left out have no valid link. The one rule of the status page, the customer
    summary and the fresh-link e-mail; three queries whatever the number of pairs."""
    pairs = set(pairs)
    if not pairs:
        return {}
    handoff_ids = {handoff_id for handoff_id, _ in pairs}
    contact_ids = {contact_id for _, contact_id in pairs}
    deal_of = dict(Handoff.objects.filter(pk__in=handoff_ids).values_list("pk", "deal_id"))
    on_deal = set(
        DealContact.objects.filter(
            deal_id__in=set(deal_of.values()), contact_id__in=contact_ids, contact__erased_at__isnull=True
        )
        .exclude(contact__email="")
        .values_list("deal_id", "contact_id")
    )
    links = {
        (link.handoff_id, link.contact_id): link
        for link in CustomerLink.objects.filter(handoff_id__in=handoff_ids, contact_id__in=contact_ids)
    }
    versions = {}
    for handoff_id, contact_id in pairs:
        if handoff_id not in deal_of or (deal_of[handoff_id], contact_id) not in on_deal:
            continue
        link = links.get((handoff_id, contact_id))
        if link is None:
            versions[(handoff_id, contact_id)] = LEGACY_TOKEN_VERSION
        elif link.revoked_at is None:
            versions[(handoff_id, contact_id)] = link.version
    return versions


@dataclass(frozen=True)
class CustomerLinkRow:
    """One contact on the hand-off page's "Customer links" card, with their link (None:
    no row yet, so never sent from Baton since links had rows)."""

    contact: Contact
    link: CustomerLink | None

    @property
    def state(self) -> str:
        """never_sent, queued (a fresh link not yet e-mailed), active or revoked."""
        if self.link is None:
            return "never_sent"
        if self.link.revoked_at is not None:
            return "revoked"
        if self.link.sent_since_issued:
            return "active"
        return "queued" if self.link.version > LEGACY_TOKEN_VERSION else "never_sent"


def customer_link_rows(handoff: Handoff) -> list[CustomerLinkRow]:
    """The deal's contacts who can receive a link (an e-mail address, not erased), in name
    order, each with their link: two queries."""
    contacts = list(
        Contact.objects.filter(deal_roles__deal_id=handoff.deal_id, erased_at__isnull=True)
        .exclude(email="")
        .order_by("first_name", "last_name", "pk")
        .distinct()
    )
    links = {
        link.contact_id: link
        for link in CustomerLink.objects.filter(handoff=handoff, contact__in=contacts).select_related("revoked_by")
    }
    return [CustomerLinkRow(contact=contact, link=links.get(contact.pk)) for contact in contacts]


def customer_link_contact(handoff: Handoff, contact_id: int) -> Contact:
    """A contact on the hand-off's deal, for a link action (404 for anyone else)."""
    return get_object_or_404(Contact, pk=contact_id, deal_roles__deal_id=handoff.deal_id)


@dataclass(frozen=True)
class CustomerPromise:
    """A promise as the customer sees it: what, by when, where it stands — and, for one
    broken, what they were told. Never the internal notes (why it broke, how it was kept)."""

    wording: str
    due: datetime.date | None
    status: str
    state: str
    kept_on: datetime.date | None
    customer_told: str


def _customer_promise(promise: Promise) -> CustomerPromise:
    broken = promise.status == PromiseStatus.BROKEN
    return CustomerPromise(
        wording=promise.description,
        due=promise.target_date,
        status=promise.status,
        state="Not kept" if broken else promise.get_status_display(),
        kept_on=promise.resolved_on if promise.status == PromiseStatus.KEPT else None,
        customer_told=promise.customer_told if broken else "",
    )


@dataclass
class CustomerStatus:
    handoff: Handoff
    contact: Contact
    next_meeting: Meeting | None
    promises: list[CustomerPromise]


@dataclass(frozen=True)
class CustomerLinkRefused:
    """A status link that shows nothing: forged, expired, revoked, replaced, or its
    contact is no longer on the deal — one answer for all, so that the page tells no
    one which. `ask` names who can send a new link, when the token is ours (a good
    signature); nobody for a forged one."""

    ask: tuple[User, ...] = ()


def _who_to_ask(handoff: Handoff) -> tuple[User, ...]:
    return tuple(person for person in (handoff.rep, handoff.delivery_owner) if person is not None)


def customer_status_for_token(token: str) -> CustomerStatus | CustomerLinkRefused:
    """What the customer may see through `token`, or why not (CustomerLinkRefused): the
    signature, the age (settings.BATON_CUSTOMER_LINK_DAYS), the link's current version
    and the contact's place on the deal (customer_link_versions) must all hold."""
    signer = _customer_link_signer()
    try:
        try:
            payload = signer.unsign_object(token, max_age=datetime.timedelta(days=settings.BATON_CUSTOMER_LINK_DAYS))
            expired = False
        except signing.SignatureExpired:
            # Ours, only too old: read it anyway, to name who can send a new one.
            payload = signer.unsign_object(token)
            expired = True
        handoff_id, contact_id = int(payload["h"]), int(payload["c"])
        version = int(payload.get("v", LEGACY_TOKEN_VERSION))
    except (signing.BadSignature, KeyError, TypeError, ValueError, AttributeError):
        return CustomerLinkRefused()
    handoff = (
        Handoff.objects.select_related("deal", "deal__account", "delivery_owner", "rep").filter(pk=handoff_id).first()
    )
    if handoff is None:
        return CustomerLinkRefused()
    if expired or customer_link_versions([(handoff_id, contact_id)]).get((handoff_id, contact_id)) != version:
        return CustomerLinkRefused(ask=_who_to_ask(handoff))
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None:  # deleted a moment ago
        return CustomerLinkRefused(ask=_who_to_ask(handoff))
    next_meeting = (
        handoff.meetings.filter(status=MeetingStatus.SCHEDULED, starts_at__gte=timezone.now())
        .order_by("starts_at")
        .first()
    )
    return CustomerStatus(
        handoff=handoff,
        contact=contact,
        next_meeting=next_meeting,
        promises=[_customer_promise(promise) for promise in handoff.deal.promises.order_by("id")],
    )
