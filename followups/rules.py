"""Dropped batons as code: one small, named rule per drop code of DOMAIN.md's table.

Each rule turns the organisation's thresholds and today's date into one queryset of
*drops*, all with the same columns (see DROP_COLUMNS): which code, which row it is
about, the deal, account, rep, sales team, delivery owner (and their team), the date
the baton was dropped (the first day the rule held) and whether it is still open
(nobody has fixed it yet). That queryset is the single source of truth: the report's
counts and its drill-down lists both come from it (through the DroppedBaton snapshot
that followups.services.report refreshes with one INSERT … SELECT of all rules).

What is late (a next step, a step, an acceptance, a check-in) is followups.lateness's
predicate, the one the pages and the reminders use; a rule may ask it about an earlier
day for a grace period (missed_check_in), or add what is a drop without being late
(no next step at all, an acceptance that came too late, a decline).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.db import models
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Greatest, Trim, TruncDate
from django.utils import timezone

from accounts.models import OrganisationSettings
from followups import lateness
from followups.choices import CheckInStatus, PulseAnswer
from followups.models import CheckIn, CustomerPulse
from handoffs.choices import OPEN_STAGES, HandoffStatus, MeetingStatus, PromiseStatus, Stage
from handoffs.models import Deal, DealContact, Handoff, HandoffStep, Meeting, MeetingAttendee, Promise

# The columns of every rule's drops, in this order (the snapshot's INSERT relies on it).
DROP_COLUMNS = (
    "code",
    "subject_id",
    "deal_id",
    "account_id",
    "rep_id",
    "team_id",
    "delivery_owner_id",
    "owner_team_id",
    "drop_date",
    "is_open",
)


@dataclass(frozen=True)
class RuleContext:
    """What every rule needs: today's date and the organisation's thresholds."""

    today: datetime.date
    settings: OrganisationSettings

    @classmethod
    def now(cls) -> RuleContext:
        return cls(today=timezone.localdate(), settings=OrganisationSettings.load())


@dataclass(frozen=True)
class Rule:
    """One kind of dropped baton: its code, how a manager reads it, how much it hurts an
    account's health, and the function that finds its drops."""

    code: str
    label: str
    description: str
    severity: int
    find: Callable[[RuleContext], QuerySet]

    def drops(self, context: RuleContext | None = None) -> QuerySet:
        return self.find(context or RuleContext.now())


def _date(expression) -> Cast:
    return Cast(expression, models.DateField())


def _days_after(expression, days: int) -> Cast:
    """A date `days` after a date expression (PostgreSQL date + interval is a timestamp)."""
    return _date(expression + Value(datetime.timedelta(days=days)))


def _drop_values(
    queryset: QuerySet,
    *,
    code: str,
    deal: str,
    handoff: str | None,
    rep: str,
    team: str,
    drop_date,
    is_open=None,
    account: str | None = None,
    delivery_owner=None,
) -> QuerySet:
    """Project a rule's rows onto DROP_COLUMNS.

    `deal` and `handoff` are the paths from the rule's model to the deal and its
    hand-off ("" when the model is that row itself); the delivery owner is the one who
    accepted, else the one proposed, else the one who declined.
    """
    if delivery_owner is None and handoff is not None:
        delivery_owner = Coalesce(
            F(f"{handoff}delivery_owner_id"), F(f"{handoff}proposed_owner_id"), F(f"{handoff}declined_by_id")
        )
    if delivery_owner is None:
        # Typed NULLs: the rules are UNIONed, and an untyped NULL is text to PostgreSQL.
        owner_team = Cast(Value(None), models.BigIntegerField())
        delivery_owner = Cast(Value(None), models.BigIntegerField())
    else:
        owner_team = Coalesce(
            F(f"{handoff}delivery_owner__team_id"),
            F(f"{handoff}proposed_owner__team_id"),
            F(f"{handoff}declined_by__team_id"),
        )
    return queryset.order_by().values(
        drop_code=Value(code, output_field=models.CharField()),
        drop_subject_id=F("pk"),
        drop_deal_id=F(f"{deal}id") if deal else F("pk"),
        drop_account_id=F(account or f"{deal}account_id"),
        drop_rep_id=F(rep),
        drop_team_id=F(team),
        drop_delivery_owner_id=delivery_owner,
        drop_owner_team_id=owner_team,
        drop_date=drop_date,
        drop_is_open=is_open if is_open is not None else Value(True, output_field=models.BooleanField()),
    )


def three_way_meetings() -> QuerySet[Meeting]:
    """Held meetings that had all three sides: the rep, the delivery owner (accepted, or
    else proposed) and at least one customer contact, each marked as attended."""
    attended = MeetingAttendee.objects.filter(meeting=OuterRef("pk"), attended=True)
    return Meeting.objects.filter(
        Exists(attended.filter(user_id=OuterRef("handoff__rep_id"))),
        Exists(
            attended.filter(
                user_id=Coalesce(OuterRef("handoff__delivery_owner_id"), OuterRef("handoff__proposed_owner_id"))
            )
        ),
        Exists(attended.filter(contact__isnull=False)),
        status=MeetingStatus.HELD,
    )


def _held_on():
    return TruncDate(Coalesce("held_at", "starts_at"))


# --- the rules, in the order of DOMAIN.md's table ---------------------------------------


def no_next_step(context: RuleContext) -> QuerySet:
    """An open deal with no next step, or whose next step's date has passed. Dated the day
    after the step was due, or (no step at all) the day the deal was last saved."""
    late = lateness.next_step_late(context.today)
    deals = (
        Deal.objects.filter(stage__in=OPEN_STAGES)
        .alias(next_step_text=Trim("next_step"))
        .filter(Q(next_step_text="") | Q(next_step_due__isnull=True) | late)
    )
    drop_date = models.Case(
        models.When(late, then=_days_after(F("next_step_due"), 1)),
        default=TruncDate("updated_at"),
        output_field=models.DateField(),
    )
    return _drop_values(
        deals, code="no_next_step", deal="", handoff=None, rep="owner_id", team="team_id", drop_date=drop_date
    )


def single_threaded(context: RuleContext) -> QuerySet:
    """An open deal in a late stage (settings.single_threaded_stages) with at most one
    customer contact. Dated the day the deal was last saved in that state."""
    contact_count = Coalesce(
        Subquery(
            DealContact.objects.filter(deal=OuterRef("pk"))
            .order_by()
            .values("deal")
            .annotate(count=models.Count("pk"))
            .values("count")
        ),
        0,
    )
    late_stages = [stage for stage in (context.settings.single_threaded_stages or []) if stage in OPEN_STAGES]
    deals = Deal.objects.filter(stage__in=late_stages).alias(contact_count=contact_count).filter(contact_count__lte=1)
    return _drop_values(
        deals,
        code="single_threaded",
        deal="",
        handoff=None,
        rep="owner_id",
        team="team_id",
        drop_date=TruncDate("updated_at"),
    )


def no_context(context: RuleContext) -> QuerySet:
    """A won deal without a lead source, or without any of the four context notes
    (Deal.has_context). Dated the day of the close."""
    no_notes = Q(context_origin="") & Q(context_known="") & Q(context_talked_to="") & Q(context_needs="")
    deals = Deal.objects.filter(Q(lead_source="") | no_notes, stage=Stage.WON)
    return _drop_values(
        deals,
        code="no_context",
        deal="",
        handoff="handoff__",
        rep="owner_id",
        team="team_id",
        drop_date=F("closed_on"),
    )


def no_handoff_meeting(context: RuleContext) -> QuerySet:
    """A won deal whose three-way meeting was not held within meeting_within_days of the
    close, once that many days have passed. Dated the first day late; still open until
    a three-way meeting is held at all."""
    days = context.settings.meeting_within_days
    held_in_time = three_way_meetings().filter(handoff=OuterRef("pk")).alias(held_on=_held_on())
    # Not the reminders' "meeting not scheduled" (lateness.meeting_late, within
    # meeting_schedule_within_days): this drop is about a three-way meeting *held* in time.
    handoffs = Handoff.objects.filter(closed_on__lt=lateness.closed_before(context.today, days)).filter(
        ~Exists(held_in_time.filter(held_on__lte=_days_after(OuterRef("closed_on"), days)))
    )
    return _drop_values(
        handoffs,
        code="no_handoff_meeting",
        deal="deal__",
        handoff="",
        rep="rep_id",
        team="team_id",
        drop_date=_days_after(F("closed_on"), days + 1),
        is_open=~Exists(three_way_meetings().filter(handoff=OuterRef("pk"))),
    )


def incomplete_meeting(context: RuleContext) -> QuerySet:
    """A meeting recorded as held without the rep, the delivery owner or any customer
    contact attending. Dated the day it was held; open until the hand-off has a real
    three-way meeting."""
    meetings = Meeting.objects.filter(status=MeetingStatus.HELD).exclude(pk__in=three_way_meetings().values("pk"))
    return _drop_values(
        meetings,
        code="incomplete_meeting",
        deal="handoff__deal__",
        handoff="handoff__",
        rep="handoff__rep_id",
        team="handoff__team_id",
        drop_date=_held_on(),
        is_open=~Exists(three_way_meetings().filter(handoff=OuterRef("handoff_id"))),
    )


def ownership_not_accepted(context: RuleContext) -> QuerySet:
    """No delivery owner accepted within acceptance_within_days of the close, or the
    proposed one declined and nobody was proposed since. Dated the first day late (or
    the day of the decline); open while nobody has accepted."""
    days = context.settings.acceptance_within_days
    # Still not accepted past the deadline (what the pages mark late and the reminders
    # chase), or accepted after it: a closed drop, accepted_at being in the past.
    late_now = lateness.ownership_late(context.today, context.settings)
    accepted_late = Q(accepted_on__gt=_days_after(F("closed_on"), days))
    handoffs = Handoff.objects.alias(accepted_on=TruncDate("accepted_at")).filter(
        late_now | accepted_late | Q(status=HandoffStatus.DECLINED)
    )
    drop_date = models.Case(
        models.When(
            status=HandoffStatus.DECLINED,
            declined_at__isnull=False,
            then=TruncDate("declined_at"),
        ),
        default=_days_after(F("closed_on"), days + 1),
        output_field=models.DateField(),
    )
    return _drop_values(
        handoffs,
        code="ownership_not_accepted",
        deal="deal__",
        handoff="",
        rep="rep_id",
        team="team_id",
        drop_date=drop_date,
        is_open=models.ExpressionWrapper(Q(accepted_at__isnull=True), output_field=models.BooleanField()),
    )


def step_overdue(context: RuleContext) -> QuerySet:
    """A hand-off step past its due date and still open. Dated the day after it was due."""
    steps = HandoffStep.objects.filter(lateness.step_late(context.today))
    return _drop_values(
        steps,
        code="step_overdue",
        deal="handoff__deal__",
        handoff="handoff__",
        rep="handoff__rep_id",
        team="handoff__team_id",
        drop_date=_days_after(F("due_on"), 1),
    )


def missed_check_in(context: RuleContext) -> QuerySet:
    """A scheduled check-in still not done checkin_grace_days after its due date. Dated
    the first day past the grace period."""
    grace = context.settings.checkin_grace_days
    # Overdue past its grace period: it was already late `grace` days ago.
    checkins = CheckIn.objects.filter(lateness.checkin_late(context.today - datetime.timedelta(days=grace)))
    return _drop_values(
        checkins,
        code="missed_check_in",
        deal="handoff__deal__",
        handoff="handoff__",
        account="account_id",
        rep="rep_id",
        team="handoff__team_id",
        drop_date=_days_after(F("due_on"), grace + 1),
    )


def _first_meeting_held_on():
    return Subquery(
        Meeting.objects.filter(handoff__deal=OuterRef("deal_id"), status=MeetingStatus.HELD)
        .annotate(held_on=_held_on())
        .order_by("held_on")
        .values("held_on")[:1],
        output_field=models.DateField(),
    )


def promise_unconfirmed(context: RuleContext) -> QuerySet:
    """A promise still open after the deal's hand-off meeting was held: nobody confirmed,
    renegotiated or dropped it there. Dated the day of that meeting."""
    promises = (
        Promise.objects.filter(status=PromiseStatus.OPEN)
        .alias(meeting_held_on=_first_meeting_held_on())
        .filter(meeting_held_on__isnull=False)
    )
    return _drop_values(
        promises,
        code="promise_unconfirmed",
        deal="deal__",
        handoff="deal__handoff__",
        rep="deal__owner_id",
        team="deal__team_id",
        drop_date=F("meeting_held_on"),
    )


def promise_broken(context: RuleContext) -> QuerySet:
    """A promise marked broken. Dated the day it was found broken (resolved_on, set by
    handoffs.services.promises.promise_mark_broken), else — promises broken before that
    existed — the day it was last reviewed, else its target date, else the day it was made."""
    promises = Promise.objects.filter(status=PromiseStatus.BROKEN)
    return _drop_values(
        promises,
        code="promise_broken",
        deal="deal__",
        handoff="deal__handoff__",
        rep="deal__owner_id",
        team="deal__team_id",
        drop_date=Coalesce(F("resolved_on"), TruncDate("reviewed_at"), F("target_date"), TruncDate("created_at")),
    )


def ghosted(context: RuleContext) -> QuerySet:
    """A won deal whose rep logged no contact with the customer (no check-in done, no
    meeting held) for ghosted_after_days after the close or the last contact. Dated
    the first day past that silence."""
    days = context.settings.ghosted_after_days
    last_checkin_done = Subquery(
        CheckIn.objects.filter(handoff=OuterRef("pk"), status=CheckInStatus.DONE)
        .order_by()
        .values("handoff")
        .annotate(last=models.Max("done_at"))
        .values("last")
    )
    last_meeting_held = Subquery(
        Meeting.objects.filter(handoff=OuterRef("pk"), status=MeetingStatus.HELD)
        .order_by()
        .values("handoff")
        .annotate(last=models.Max(Coalesce("held_at", "starts_at")))
        .values("last")
    )
    # Coalesced to the close: SQLite's (and MySQL's) GREATEST is NULL if any argument is,
    # where PostgreSQL's skips NULLs; this way both mean "the latest contact, else the close".
    last_contact = Greatest(
        F("closed_on"),
        Coalesce(TruncDate(last_checkin_done), F("closed_on")),
        Coalesce(TruncDate(last_meeting_held), F("closed_on")),
    )
    handoffs = Handoff.objects.alias(last_contact_on=last_contact).filter(
        last_contact_on__lt=context.today - datetime.timedelta(days=days)
    )
    return _drop_values(
        handoffs,
        code="ghosted",
        deal="deal__",
        handoff="",
        rep="rep_id",
        team="team_id",
        drop_date=_days_after(F("last_contact_on"), days + 1),
    )


def pulse_at_risk(context: RuleContext) -> QuerySet:
    """The customer said "at risk" in the pulse (their hand-off's latest answer), and the
    rep logged no contact with them — no check-in done, no meeting held — within
    pulse_followup_days after. Dated the first day past that; open until someone does."""
    days = context.settings.pulse_followup_days
    said_at = Coalesce("changed_at", "answered_at")
    later_answer = CustomerPulse.objects.filter(
        checkin__handoff_id=OuterRef("checkin__handoff_id"), answered_at__gt=OuterRef("answered_at")
    )
    checkins_after = CheckIn.objects.filter(
        handoff_id=OuterRef("checkin__handoff_id"), status=CheckInStatus.DONE, done_at__gt=OuterRef("said_at")
    )
    meetings_after = (
        Meeting.objects.filter(handoff_id=OuterRef("checkin__handoff_id"), status=MeetingStatus.HELD)
        .alias(contact_at=Coalesce("held_at", "starts_at"))
        .filter(contact_at__gt=OuterRef("said_at"))
    )

    def in_time(contacts: QuerySet, field: str) -> Exists:
        return Exists(contacts.alias(on=TruncDate(field)).filter(on__lte=_days_after(OuterRef("said_on"), days)))

    pulses = (
        CustomerPulse.objects.filter(answer=PulseAnswer.AT_RISK, answered_at__isnull=False)
        .alias(said_at=said_at, said_on=TruncDate(said_at))
        .filter(said_on__lt=context.today - datetime.timedelta(days=days))
        .exclude(Exists(later_answer))
        .exclude(in_time(checkins_after, "done_at"))
        .exclude(in_time(meetings_after, "contact_at"))
    )
    return _drop_values(
        pulses,
        code="pulse_at_risk",
        deal="checkin__handoff__deal__",
        handoff="checkin__handoff__",
        account="account_id",
        rep="checkin__rep_id",
        team="checkin__handoff__team_id",
        drop_date=_days_after(F("said_on"), days + 1),
        is_open=~Exists(checkins_after) & ~Exists(meetings_after),
    )


RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in [
        Rule(
            "no_next_step",
            "No next step",
            "An open deal has no next step, or its next step is overdue.",
            5,
            no_next_step,
        ),
        Rule(
            "single_threaded",
            "Single-threaded",
            "A deal in a late stage has only one customer contact.",
            5,
            single_threaded,
        ),
        Rule("no_context", "No context", "A won deal reached hand-off without lead source and context.", 5, no_context),
        Rule(
            "no_handoff_meeting",
            "No hand-off meeting",
            "No three-way meeting was held within the allowed days of the close.",
            15,
            no_handoff_meeting,
        ),
        Rule(
            "incomplete_meeting",
            "Incomplete meeting",
            "A meeting was held without the rep, the delivery owner or the customer.",
            10,
            incomplete_meeting,
        ),
        Rule(
            "ownership_not_accepted",
            "Ownership not accepted",
            "No delivery owner accepted within the allowed days, or one declined and nobody was reassigned.",
            15,
            ownership_not_accepted,
        ),
        Rule("step_overdue", "Step overdue", "A hand-off step is past its due date and not done.", 5, step_overdue),
        Rule(
            "missed_check_in",
            "Missed check-in",
            "A scheduled check-in is overdue past its grace period.",
            10,
            missed_check_in,
        ),
        Rule(
            "promise_unconfirmed",
            "Promise unconfirmed",
            "A promise was not confirmed in the hand-off meeting.",
            5,
            promise_unconfirmed,
        ),
        Rule("promise_broken", "Promise broken", "A promise was marked broken.", 20, promise_broken),
        Rule(
            "ghosted",
            "Ghosted",
            "The rep logged no contact with the customer for a long time after the close.",
            15,
            ghosted,
        ),
        Rule(
            "pulse_at_risk",
            "Customer at risk, no follow-up",
            "The customer said the delivery is at risk and nobody followed up within the allowed days.",
            20,
            pulse_at_risk,
        ),
    ]
}
DROP_CODES = list(RULES)
