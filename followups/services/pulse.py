"""The customer pulse: "How is it going with <delivery>?", asked of one customer contact
after a logged check-in, answered in one click from a signed link (no login).

The contract:

- **Asked at most once per check-in** (pulse_request, a step of checkin_log): the
  CustomerPulse row is one-to-one with the check-in, and its e-mail is one outbox row
  (purpose pulse, kind checkin, item the check-in) under the outbox's unique key, both in
  the check-in's transaction. A contact who opted out is never chosen, and the builder
  skips the e-mail if they opted out (or lost their address) before it went.
- **One answer per check-in** (pulse_answer): the same answer again changes nothing; a
  different one within CHANGE_WINDOW of the first answer replaces it (changed_at); later,
  it is refused. Every change lands on the deal's and account's timeline.
- **"At risk", or a comment, reaches people at once**: the delivery owner and the rep
  each get a bell entry and its e-mail copy (notification_create, through the outbox),
  once per change, never for a repeated click.
- **Opting out is for good** (pulse_opt_out): the contact is never asked again.

Rows are locked (SELECT … FOR UPDATE) so two clicks at once are serialised: the second
sees the first's answer and changes nothing.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, IntegerField, Value, When
from django.urls import reverse
from django.utils import timezone

from accounts.choices import EventVerb
from accounts.models import Contact, User
from accounts.services import event_record
from followups.choices import MessagePurpose, NotificationKind, PulseAnswer
from followups.models import CheckIn, CustomerPulse
from followups.services.notifications import notification_create
from followups.services.outbox import outbox_enqueue
from followups.services.webhooks import webhook_pulse_at_risk
from handoffs.choices import ContactRole
from handoffs.models import DealContact

# What `kind` says on a pulse's outbox row (its item is the check-in).
KIND_CHECKIN = "checkin"
# How long after the first answer the customer may still change it (or add a comment).
CHANGE_WINDOW = datetime.timedelta(days=7)
COMMENT_MAX_LENGTH = 2000

# Who is asked, among the deal's contacts with an e-mail who did not opt out: the
# decision maker first, then the champion, then anyone (first added first).
ROLE_PREFERENCE = [ContactRole.DECISION_MAKER, ContactRole.CHAMPION, ContactRole.USER, ContactRole.FINANCE]

# Codes of the refusals, for the public pages to tell apart.
REFUSED_OPTED_OUT = "opted_out"
REFUSED_CLOSED = "closed"


def pulse_contact_for(checkin: CheckIn) -> Contact | None:
    """The customer contact a check-in's pulse goes to (see ROLE_PREFERENCE), or None."""
    rank = Case(
        *(When(role=role, then=Value(position)) for position, role in enumerate(ROLE_PREFERENCE)),
        default=Value(len(ROLE_PREFERENCE)),
        output_field=IntegerField(),
    )
    deal_contact = (
        DealContact.objects.filter(deal_id=checkin.handoff.deal_id, contact__pulse_opted_out_at__isnull=True)
        .exclude(contact__email="")
        .select_related("contact")
        .alias(rank=rank)
        .order_by("rank", "id")
        .first()
    )
    return deal_contact.contact if deal_contact is not None else None


@transaction.atomic
def pulse_request(*, checkin: CheckIn) -> CustomerPulse | None:
    """Ask the check-in's customer contact how it is going: the pulse row and its e-mail
    in the outbox, in the caller's transaction. None when nobody can be asked (no contact
    with an e-mail who did not opt out) or the check-in was asked already."""
    if CustomerPulse.objects.filter(checkin=checkin).exists():
        return None
    contact = pulse_contact_for(checkin)
    if contact is None:
        return None
    pulse = CustomerPulse(checkin=checkin, contact=contact, account_id=checkin.account_id)
    pulse.full_clean()
    pulse.save()
    outbox_enqueue(purpose=MessagePurpose.PULSE, kind=KIND_CHECKIN, item_id=checkin.pk, recipients=[contact])
    return pulse


@dataclass(frozen=True)
class PulseResult:
    pulse: CustomerPulse
    changed: bool


def _locked(pulse: CustomerPulse) -> CustomerPulse:
    return (
        CustomerPulse.objects.select_for_update(of=("self",))
        .select_related(
            "contact", "account", "checkin__rep", "checkin__handoff__deal", "checkin__handoff__delivery_owner"
        )
        .get(pk=pulse.pk)
    )


def _refuse_if_opted_out(pulse: CustomerPulse) -> None:
    if pulse.contact.pulse_opted_out_at is not None:
        raise ValidationError("This contact asked not to be asked again.", code=REFUSED_OPTED_OUT)


def _refuse_if_closed(pulse: CustomerPulse, now: datetime.datetime) -> None:
    if pulse.answered_at is not None and now > pulse.answered_at + CHANGE_WINDOW:
        raise ValidationError(
            f"Your answer of {timezone.localdate(pulse.answered_at):%d %b %Y} is recorded and can no longer be changed.",
            code=REFUSED_CLOSED,
        )


@transaction.atomic
def pulse_answer(*, pulse: CustomerPulse, answer: str, now: datetime.datetime | None = None) -> PulseResult:
    """Record the customer's answer (see the module docstring for "once" and "changed")."""
    if answer not in PulseAnswer.values:
        raise ValidationError({"answer": "Choose one of the answers."})
    now = now or timezone.now()
    locked = _locked(pulse)
    _refuse_if_opted_out(locked)
    if locked.answer == answer:
        return PulseResult(locked, changed=False)
    _refuse_if_closed(locked, now)
    previous = locked.answer
    locked.answer = answer
    if locked.answered_at is None:
        locked.answered_at = now
    else:
        locked.changed_at = now
    locked.full_clean()
    locked.save(update_fields=["answer", "answered_at", "changed_at"])
    label = locked.get_answer_display().lower()
    if previous:
        message = f"{locked.contact} changed their pulse answer from {PulseAnswer(previous).label.lower()} to {label}."
    else:
        message = f"{locked.contact} answered the customer pulse: {label}."
    _record(locked, message=message, data={"answer": answer, "previous_answer": previous})
    if answer == PulseAnswer.AT_RISK:
        _notify(locked, title=f"{locked.account}: the customer says at risk", body=message)
        webhook_pulse_at_risk(pulse=locked)
    return PulseResult(locked, changed=True)


@transaction.atomic
def pulse_comment(*, pulse: CustomerPulse, comment: str, now: datetime.datetime | None = None) -> PulseResult:
    """Save the customer's comment (replacing an earlier one); a new non-empty comment
    reaches the delivery owner and the rep."""
    comment = comment.strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        raise ValidationError({"comment": f"Please keep it under {COMMENT_MAX_LENGTH} characters."})
    now = now or timezone.now()
    locked = _locked(pulse)
    _refuse_if_opted_out(locked)
    if locked.comment == comment:
        return PulseResult(locked, changed=False)
    _refuse_if_closed(locked, now)
    locked.comment = comment
    locked.full_clean()
    locked.save(update_fields=["comment"])
    if comment:
        message = f"{locked.contact} commented on the customer pulse: {comment}"
    else:
        message = f"{locked.contact} removed their pulse comment."
    _record(locked, message=message, data={"comment": bool(comment)})
    if comment:
        _notify(locked, title=f"{locked.account}: a comment from the customer", body=message)
    return PulseResult(locked, changed=True)


@transaction.atomic
def pulse_opt_out(*, pulse: CustomerPulse, now: datetime.datetime | None = None) -> bool:
    """The pulse's contact asks never to be asked again; False if they already had."""
    contact = Contact.objects.select_for_update().get(pk=pulse.contact_id)
    if contact.pulse_opted_out_at is not None:
        return False
    contact.pulse_opted_out_at = now or timezone.now()
    contact.save(update_fields=["pulse_opted_out_at"])
    event_record(
        account=contact.account,
        subject=contact.account,
        verb=EventVerb.CONTACT_UPDATED,
        message=f"{contact} asked not to receive the customer pulse again.",
        data={"contact_id": contact.pk, "pulse_opted_out": True, "pulse_id": pulse.pk},
    )
    return True


def _record(pulse: CustomerPulse, *, message: str, data: dict) -> None:
    event_record(
        account=pulse.account,
        subject=pulse.checkin.handoff.deal,
        verb=EventVerb.PULSE_ANSWERED,
        message=message,
        data={"pulse_id": pulse.pk, "checkin_id": pulse.checkin_id, "contact_id": pulse.contact_id, **data},
    )


def _notify(pulse: CustomerPulse, *, title: str, body: str) -> None:
    """The delivery owner and the rep, each once, at once (bell, and e-mail through the outbox)."""
    handoff = pulse.checkin.handoff
    people: list[User] = []
    for person in (handoff.delivery_owner, pulse.checkin.rep):
        if person is not None and person.is_active and person not in people:
            people.append(person)
    url = reverse("handoffs:handoff_detail", args=[handoff.pk])
    for person in people:
        notification_create(user=person, kind=NotificationKind.CUSTOMER_PULSE, title=title, body=body, url=url)
