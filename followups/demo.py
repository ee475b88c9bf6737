"""Demo data of the followups app, for `manage.py seed_demo` (after handoffs.demo).

Check-ins for the demo's accepted hand-offs, in every state a rep meets: overdue, due
today, upcoming, and done with each sentiment (one at risk with an issue raised, which
notifies the delivery owner).
"""

from __future__ import annotations

import datetime

from django.utils import timezone

from accounts.models import User
from followups.choices import CheckInStatus, MessagePurpose, MessageStatus
from followups.models import CheckIn, OutboxMessage
from followups.selectors.checkins import ACCEPTED_HANDOFF_STATUSES, user_local_today
from followups.services.checkins import checkin_add, checkin_log, checkins_schedule_for_handoff
from handoffs.models import Handoff

DONE_EXAMPLES = [
    {
        "channel": "call",
        "sentiment": "happy",
        "notes": "Onboarding went smoothly; the team uses it daily.",
        "issues_raised": "",
        "referral_asked": True,
        "repeat_business_asked": False,
    },
    {
        "channel": "email",
        "sentiment": "neutral",
        "notes": "Quiet month; they are waiting for the second phase.",
        "issues_raised": "",
        "referral_asked": False,
        "repeat_business_asked": True,
    },
    {
        "channel": "meeting",
        "sentiment": "at_risk",
        "notes": "The sponsor is unhappy about the delays.",
        "issues_raised": "The data import promised for go-live is still not done.",
        "referral_asked": False,
        "repeat_business_asked": False,
    },
]
# Past-due check-ins the demo needs: one per done example, and one left overdue.
PAST_DUE_NEEDED = len(DONE_EXAMPLES) + 1


def seed_followups_demo(people: dict[str, User]) -> None:
    """Schedule and log the demo's check-ins (safe to run again: nothing is doubled)."""
    handoffs = list(
        Handoff.objects.filter(delivery_owner__isnull=False, status__in=ACCEPTED_HANDOFF_STATUSES)
        .select_related("rep", "deal__account")
        .order_by("closed_on", "id")
    )
    if not handoffs:
        return
    for handoff in handoffs:
        checkins_schedule_for_handoff(handoff_id=handoff.pk)

    already_done = CheckIn.objects.filter(handoff__in=handoffs, status=CheckInStatus.DONE).exists()
    past_due = list(
        CheckIn.objects.filter(
            handoff__in=handoffs, status=CheckInStatus.SCHEDULED, due_on__lt=timezone.localdate()
        ).select_related("rep", "handoff")
    )
    if not already_done:
        past_due += _demo_history(handoffs, missing=PAST_DUE_NEEDED - len(past_due))
        past_due.sort(key=lambda checkin: (checkin.due_on, checkin.pk))
        # The most overdue stays overdue; the others were done on time.
        for checkin, values in zip(past_due[1:], DONE_EXAMPLES, strict=False):
            checkin_log(actor=checkin.rep, checkin=checkin, **values)

    handoff = handoffs[-1]
    today = user_local_today(handoff.rep)
    if not CheckIn.objects.filter(rep=handoff.rep, status=CheckInStatus.SCHEDULED, due_on=today).exists():
        checkin_add(actor=handoff.rep, handoff=handoff, due_on=today)


def _demo_history(handoffs: list[Handoff], *, missing: int) -> list[CheckIn]:
    # The demo hand-offs may all be recent, so that no check-in is due yet. A check-in
    # cannot be scheduled in the past through the services (rightly), so the demo writes
    # these few directly, as if a rep had added them by hand weeks ago.
    created = []
    for index in range(max(missing, 0)):
        handoff = handoffs[index % len(handoffs)]
        created.append(
            CheckIn.objects.create(
                handoff=handoff,
                account=handoff.deal.account,
                rep=handoff.rep,
                cadence_days=0,
                due_on=timezone.localdate() - datetime.timedelta(days=12 - 3 * index),
            )
        )
    return created


def settle_demo_outbox(people=None) -> int:
    """The demo's hand-off e-mails count as sent: a first `make run` must not mail the
    demo customers their invites and summaries (reminders of what is overdue still go
    out, to the demo's own users). Returns how many messages it settled."""
    return OutboxMessage.objects.filter(status=MessageStatus.PENDING, purpose__in=DEMO_SETTLED_PURPOSES).update(
        status=MessageStatus.SENT, sent_at=timezone.now(), subject="(demo data: not e-mailed)"
    )


DEMO_SETTLED_PURPOSES = (
    MessagePurpose.INVITE,
    MessagePurpose.CANCELLATION,
    MessagePurpose.CUSTOMER_SUMMARY,
    MessagePurpose.HANDOFF_PROPOSED,
    MessagePurpose.DECLINE_NOTICE,
)
