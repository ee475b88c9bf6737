"""Check-ins: scheduled on the playbook's cadence once a hand-off is accepted, logged
by the rep (issues raised reach the delivery owner), rescheduled with a reason, never
deleted. Also the rotation of a user's calendar-feed token."""

from __future__ import annotations

import datetime
import secrets
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from accounts.choices import EventVerb
from accounts.models import OrganisationSettings, User
from accounts.services import event_record
from accounts.validators import validate_plausible_date
from followups.access import checkins_workable_by, user_may_add_checkin
from followups.choices import Channel, CheckInStatus, NotificationKind, Sentiment
from followups.models import CheckIn, CheckInReschedule
from followups.selectors.checkins import ACCEPTED_HANDOFF_STATUSES, user_local_today
from followups.services.notifications import notification_create
from followups.services.pulse import pulse_request
from handoffs.choices import LeadSource
from handoffs.models import Deal, Handoff
from handoffs.services.deals import deal_create

NEW_DEAL_FIRST_STEP_DAYS = 7


def _cadence_for(handoff: Handoff) -> list[int]:
    if handoff.playbook is not None and handoff.playbook.checkin_cadence:
        return list(handoff.playbook.checkin_cadence)
    return list(OrganisationSettings.load().default_checkin_cadence or [])


def _locked_workable_checkin(*, actor: User, checkin: CheckIn) -> CheckIn:
    """Re-read the check-in under a row lock, through the actor's permissions: two
    submissions at once are serialised, and a crafted request for someone else's
    check-in finds nothing."""
    locked = (
        checkins_workable_by(actor)
        .select_for_update(of=("self",))
        .select_related("account", "rep", "handoff__deal", "handoff__delivery_owner")
        .filter(pk=checkin.pk)
        .first()
    )
    if locked is None:
        raise ValidationError("You may only work your own check-ins (or your team's, as their manager).")
    return locked


# How far back the sweep looks for accepted hand-offs without check-ins.
MISSING_CHECKINS_LOOKBACK = datetime.timedelta(days=2)


def checkins_schedule_missing(*, now: datetime.datetime | None = None) -> int:
    """Schedule the check-ins of recently accepted hand-offs that have none yet.

    The acceptance schedules them on commit (handoffs.signals.handoff_accepted); if that
    failed after the acceptance was committed, this sweep (beat) makes up for it, so no
    hand-off is left without its check-ins. Each hand-off in its own transaction; returns
    how many check-ins it created.
    """
    now = now or timezone.now()
    handoff_ids = list(
        Handoff.objects.filter(status__in=ACCEPTED_HANDOFF_STATUSES, accepted_at__gte=now - MISSING_CHECKINS_LOOKBACK)
        .exclude(Exists(CheckIn.objects.filter(handoff=OuterRef("pk"), cadence_days__gt=0)))
        .values_list("pk", flat=True)
    )
    return sum(len(checkins_schedule_for_handoff(handoff_id=handoff_id)) for handoff_id in handoff_ids)


@transaction.atomic
def checkins_schedule_for_handoff(*, handoff_id: int) -> list[CheckIn]:
    """Create the rep's check-ins of an accepted hand-off, one per cadence point (days
    after the close): the playbook's cadence, else the organisation's default.

    Idempotent: a cadence point already scheduled is left alone, so a second call (a
    replayed signal, a retry) creates nothing. Returns the check-ins created now.
    """
    handoff = (
        Handoff.objects.select_for_update(of=("self",))
        .select_related("deal__account", "playbook", "rep")
        .get(pk=handoff_id)
    )
    if handoff.delivery_owner_id is None or handoff.status not in ACCEPTED_HANDOFF_STATUSES:
        raise ValidationError("Check-ins are scheduled once a delivery owner has accepted the hand-off.")
    already = set(handoff.checkins.filter(cadence_days__gt=0).values_list("cadence_days", flat=True))
    created: list[CheckIn] = []
    for days in sorted(set(_cadence_for(handoff)) - already):
        checkin = CheckIn(
            handoff=handoff,
            account=handoff.deal.account,
            rep=handoff.rep,
            cadence_days=days,
            due_on=handoff.closed_on + datetime.timedelta(days=days),
        )
        checkin.full_clean()
        checkin.save()
        created.append(checkin)
    if created:
        dates = ", ".join(checkin.due_on.isoformat() for checkin in created)
        event_record(
            account=handoff.deal.account,
            subject=handoff.deal,
            verb=EventVerb.CHECKIN_SCHEDULED,
            message=f"{len(created)} check-in(s) scheduled for {handoff.rep}: {dates}.",
            actor=None,
            data={
                "checkin_ids": [checkin.pk for checkin in created],
                "cadence_days": [c.cadence_days for c in created],
            },
        )
    return created


@transaction.atomic
def checkin_add(*, actor: User, handoff: Handoff, due_on: datetime.date) -> CheckIn:
    """Schedule an extra check-in by hand (outside the cadence) for the hand-off's rep."""
    handoff = Handoff.objects.select_related("deal__account", "rep", "rep__team").get(pk=handoff.pk)
    if not user_may_add_checkin(actor, handoff):
        raise ValidationError("Only the rep of this hand-off (or their manager) may add a check-in.")
    if handoff.delivery_owner_id is None or handoff.status not in ACCEPTED_HANDOFF_STATUSES:
        raise ValidationError("Check-ins start once a delivery owner has accepted the hand-off.")
    if due_on < user_local_today(actor):
        raise ValidationError({"due_on": "Choose today or a later date."})
    validate_plausible_date(due_on, field="due_on", today=user_local_today(actor))
    checkin = CheckIn(handoff=handoff, account=handoff.deal.account, rep=handoff.rep, cadence_days=0, due_on=due_on)
    checkin.full_clean()
    checkin.save()
    event_record(
        account=handoff.deal.account,
        subject=handoff.deal,
        verb=EventVerb.CHECKIN_SCHEDULED,
        message=f"Extra check-in scheduled for {handoff.rep} on {due_on.isoformat()}.",
        actor=actor,
        data={"checkin_ids": [checkin.pk], "cadence_days": [0]},
    )
    return checkin


@transaction.atomic
def checkin_log(
    *,
    actor: User,
    checkin: CheckIn,
    channel: str,
    sentiment: str,
    notes: str,
    issues_raised: str,
    referral_asked: bool,
    repeat_business_asked: bool,
    open_deal: bool = False,
    new_deal_title: str = "",
) -> CheckIn:
    """Record a check-in as done: how the rep reached the customer, how they feel, what
    they raised. Issues raised notify the delivery owner (in-app, and by email through the outbox);
    `open_deal` opens a new deal on the account for the referral or repeat business."""
    locked = _locked_workable_checkin(actor=actor, checkin=checkin)
    _check_loggable(
        locked,
        channel=channel,
        sentiment=sentiment,
        open_deal=open_deal,
        asked=referral_asked or repeat_business_asked,
    )
    locked.status = CheckInStatus.DONE
    locked.done_at = timezone.now()
    locked.channel = channel
    locked.sentiment = sentiment
    locked.notes = notes.strip()
    locked.issues_raised = issues_raised.strip()
    locked.referral_asked = referral_asked
    locked.repeat_business_asked = repeat_business_asked
    if open_deal:
        locked.opened_deal = _deal_open_from_checkin(
            actor=actor, checkin=locked, title=new_deal_title, is_repeat_business=repeat_business_asked
        )
    locked.full_clean()
    locked.save()
    _record_logged(locked, actor=actor)
    _notify_issues(locked)
    _ask_customer_pulse(locked)
    return locked


def _check_loggable(checkin: CheckIn, *, channel: str, sentiment: str, open_deal: bool, asked: bool) -> None:
    if checkin.status == CheckInStatus.DONE:
        raise ValidationError(f"This check-in was already logged on {timezone.localdate(checkin.done_at):%d %b %Y}.")
    errors: dict[str, str] = {}
    if channel not in Channel.values:
        errors["channel"] = "How did you reach the customer?"
    if sentiment not in Sentiment.values:
        errors["sentiment"] = "How does the customer feel?"
    if open_deal and not asked:
        errors["open_deal"] = "A new deal comes from a referral or repeat business: tick the one you asked for."
    if errors:
        raise ValidationError(errors)


def _record_logged(checkin: CheckIn, *, actor: User) -> None:
    """The check-in on the deal's and the account's timeline."""
    message = (
        f"Check-in with {checkin.account} logged ({checkin.get_channel_display().lower()}, "
        f"customer {checkin.get_sentiment_display().lower()})."
    )
    if checkin.issues_raised:
        message += f" Issues raised: {checkin.issues_raised}"
    event_record(
        account=checkin.account,
        subject=checkin.handoff.deal,
        verb=EventVerb.CHECKIN_LOGGED,
        message=message,
        actor=actor,
        data={
            "checkin_id": checkin.pk,
            "sentiment": checkin.sentiment,
            "issues_raised": bool(checkin.issues_raised),
            "opened_deal_id": checkin.opened_deal_id,
        },
    )


def _notify_issues(checkin: CheckIn) -> None:
    """Issues raised go to the delivery owner's bell (and e-mail, through the outbox)."""
    owner = checkin.handoff.delivery_owner
    if not checkin.issues_raised or owner is None:
        return
    notification_create(
        user=owner,
        kind=NotificationKind.CHECKIN_ISSUE,
        title=f"{checkin.account}: issues raised at a check-in",
        body=(
            f"{checkin.rep} heard from the customer ({checkin.get_sentiment_display().lower()}): "
            f"{checkin.issues_raised}"
        ),
        url=reverse("handoffs:handoff_detail", args=[checkin.handoff_id]),
    )


def _ask_customer_pulse(checkin: CheckIn) -> None:
    """Ask "How is it going?" of one customer contact of the deal, at most once per check-in
    (followups.services.pulse): the pulse row and its e-mail in the outbox, in this
    transaction."""
    pulse_request(checkin=checkin)


def _deal_open_from_checkin(*, actor: User, checkin: CheckIn, title: str, is_repeat_business: bool) -> Deal:
    kind = "repeat business" if is_repeat_business else "referral"
    try:
        return deal_create(
            actor=actor,
            account=checkin.account,
            owner=checkin.rep,
            title=title.strip() or f"{checkin.account}: {kind}",
            amount=Decimal("0"),
            lead_source=LeadSource.EXISTING_CUSTOMER if is_repeat_business else LeadSource.REFERRAL,
            context_origin=f"Opened from a check-in on {user_local_today(actor):%d %b %Y} ({kind} asked).",
            next_step="Qualify the new opportunity with the customer",
            next_step_due=user_local_today(actor) + datetime.timedelta(days=NEW_DEAL_FIRST_STEP_DAYS),
        )
    except PermissionDenied as denied:
        # Shown on the form like any other refusal; the check-in is not logged either.
        raise ValidationError({"open_deal": f"The new deal could not be opened: {denied}"}) from denied


@transaction.atomic
def checkin_reschedule(*, actor: User, checkin: CheckIn, new_due_on: datetime.date, reason: str) -> CheckIn:
    """Move a scheduled check-in to another day, keeping who moved it and why."""
    locked = _locked_workable_checkin(actor=actor, checkin=checkin)
    if locked.status == CheckInStatus.DONE:
        raise ValidationError("This check-in is already logged; it cannot move.")
    errors: dict[str, str] = {}
    if not reason.strip():
        errors["reason"] = "Say why the check-in moves."
    if new_due_on < user_local_today(actor):
        errors["new_due_on"] = "Choose today or a later date."
    elif new_due_on == locked.due_on:
        errors["new_due_on"] = "The check-in is already due on that day."
    else:
        try:
            validate_plausible_date(new_due_on, today=user_local_today(actor))
        except ValidationError as error:
            errors["new_due_on"] = error.messages[0]
    if errors:
        raise ValidationError(errors)
    reschedule = CheckInReschedule(
        checkin=locked,
        old_due_on=locked.due_on,
        new_due_on=new_due_on,
        reason=reason.strip(),
        rescheduled_by=actor,
    )
    reschedule.full_clean()
    reschedule.save()
    locked.due_on = new_due_on
    locked.full_clean()
    locked.save(update_fields=["due_on", "updated_at"])
    event_record(
        account=locked.account,
        subject=locked.handoff.deal,
        verb=EventVerb.CHECKIN_RESCHEDULED,
        message=f"Check-in moved from {reschedule.old_due_on.isoformat()} to {new_due_on.isoformat()}: {reschedule.reason}",
        actor=actor,
        data={
            "checkin_id": locked.pk,
            "old_due_on": reschedule.old_due_on.isoformat(),
            "new_due_on": new_due_on.isoformat(),
        },
    )
    return locked


@transaction.atomic
def user_rotate_feed_token(*, user: User) -> str:
    """Give the user a new calendar-feed token: calendars subscribed to the old URL stop
    receiving anything (for a URL that leaked, or a lost phone)."""
    user.feed_token = secrets.token_urlsafe(24)
    user.save(update_fields=["feed_token"])
    return user.feed_token
