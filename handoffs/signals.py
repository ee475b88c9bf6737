"""Domain signals of the handoffs app: the one way it sets off work in the app above
it (followups), which connects receivers in its AppConfig.ready(). Each is sent with
transaction.on_commit by the service named, so receivers see committed data — except
message_requested and domain_event, which are sent inside the service's transaction.

- message_requested(sender=Model, purpose: str, about: str, item_id: int, version: int,
  recipients: list[User | Contact], supersedes: tuple[str, ...])
  Sent INSIDE the transaction of the change that calls for a message (a meeting
  scheduled, moved, cancelled or recorded; an owner proposed; a hand-off declined), so
  that the message is written with the change or not at all. followups writes one
  outbox row per recipient (followups.services.outbox.outbox_enqueue) and renders the
  message when it sends it. purpose is one of MESSAGE_PURPOSES, about one of
  MESSAGE_ABOUT_*, version the state of the item the message announces (a meeting's
  SEQUENCE, handoff_event_version of a proposal or decline). A receiver that fails
  fails the change: nothing is changed without its message.

- handoff_proposed(sender=Handoff, handoff_id: int, owner_id: int, actor_id: int)
  Sent by handoffs.services.handoffs.handoff_propose_owner. followups puts the
  proposal in the proposed owner's bell (the proposal e-mail is sent by handoffs).
- handoff_accepted(sender=Handoff, handoff_id: int, actor_id: int | None)
  Sent by handoffs.services.handoffs.handoff_accept. followups schedules the rep's
  check-ins on the playbook's cadence.
- promise_broken(sender=Promise, promise_id: int, actor_id: int)
  Sent by handoffs.services.promises.promise_mark_broken. followups rings the bell of
  the rep and of the rep's manager, each with an e-mail copy through the outbox.
- packet_pending(sender=Deal, deal_id: int, actor_id: int | None)
  Sent by handoffs.services.deals.deal_close(packet_pending_ok=True) when a won close
  (from a CRM) is recorded with its hand-off packet incomplete. followups rings the bell
  of the deal's rep, with an e-mail copy through the outbox, naming what is missing
  (handoffs.packet.deal_packet, read again then) and linking to the deal. Nothing when
  the packet is no longer pending by then.
- domain_event(sender=Model, event: str, item_kind: str, item_id: int,
  occurred_at: datetime, data: dict)
  A fact at a moment, for the world outside Baton (webhooks and chat alerts). Sent
  INSIDE the transaction of the change, like message_requested, with
  send_domain_event: handoff_start (handoff.started: every hand-off that starts — a
  close in the browser or the API, an inbound close, a pending packet completed or
  waived), deal_close (won: deal.won), handoff_propose_owner
  (handoff.proposed), handoff_accept (handoff.accepted), handoff_decline
  (handoff.declined), meeting_schedule (meeting.scheduled), meeting_record
  (meeting.held) and promise_mark_broken (promise.broken). event is one of EVENTS,
  item_kind one of EVENT_ABOUT_* (item_id names that row), occurred_at when it
  happened (the event's id is derived from it), data a few facts the rows alone will
  not tell later (who did it: actor_id). followups
  writes one outbox row per active endpoint subscribed to the event, with the event's
  payload read then (followups.services.webhooks); a change that rolls back sends
  nothing. A receiver that fails fails the change.
- overdue_item_resolved(sender=Model, item_kind: str, item_id: int)
  Sent when an item that reminders watch stops being overdue. followups cancels its
  pending reminders at once instead of waiting for the next scan. item_kind is one of
  ITEM_KINDS below, item_id the id of the row it names.
"""

import datetime
from typing import Any

from django.dispatch import Signal
from django.utils import timezone

# Defined in accounts (which sends it too); re-exported here for handoffs' services.
from accounts.signals import message_requested  # noqa: F401

# The item kinds of overdue_item_resolved, and what item_id names for each.
ITEM_KIND_STEP_OVERDUE = "step_overdue"  # a HandoffStep done or skipped
ITEM_KIND_OWNER_NOT_ACCEPTED = "owner_not_accepted"  # a Handoff whose owner accepted
ITEM_KIND_MEETING_NOT_SCHEDULED = "meeting_not_scheduled"  # a Handoff whose meeting is scheduled
ITEM_KIND_NEXT_STEP_OVERDUE = "next_step_overdue"  # a Deal whose next step moved or that closed
ITEM_KIND_PROMISE_OVERDUE = "promise_overdue"  # a Promise kept, broken, dropped or given a later date
ITEM_KINDS = (
    ITEM_KIND_STEP_OVERDUE,
    ITEM_KIND_OWNER_NOT_ACCEPTED,
    ITEM_KIND_MEETING_NOT_SCHEDULED,
    ITEM_KIND_NEXT_STEP_OVERDUE,
    ITEM_KIND_PROMISE_OVERDUE,
)

# What message_requested asks for (the values are followups.choices.MessagePurpose's),
# and what its item_id names.
MESSAGE_INVITE = "invite"  # the meeting's invite, to each attendee
MESSAGE_CANCELLATION = "cancellation"  # the meeting's METHOD:CANCEL, to each attendee
MESSAGE_CUSTOMER_SUMMARY = "customer_summary"  # after the meeting, to each customer contact
MESSAGE_HANDOFF_PROPOSED = "handoff_proposed"  # to the proposed delivery owner
MESSAGE_DECLINE_NOTICE = "decline_notice"  # to the managers, when the proposed owner declined
MESSAGE_PURPOSES = (
    MESSAGE_INVITE,
    MESSAGE_CANCELLATION,
    MESSAGE_CUSTOMER_SUMMARY,
    MESSAGE_HANDOFF_PROPOSED,
    MESSAGE_DECLINE_NOTICE,
)
MESSAGE_ABOUT_MEETING = "meeting"  # item_id names a Meeting
MESSAGE_ABOUT_HANDOFF = "handoff"  # item_id names a Handoff
MESSAGE_ABOUT_CUSTOMER_LINK = "customer_link"  # item_id names a CustomerLink (issue 15)
MESSAGE_CUSTOMER_LINK = "customer_link"  # a fresh status link, to one customer contact (issue 15)


# The events of domain_event (the values are followups.choices.WebhookEvent's), and the
# rows their item_id names.
EVENT_DEAL_WON = "deal.won"
EVENT_HANDOFF_STARTED = "handoff.started"
EVENT_HANDOFF_PROPOSED = "handoff.proposed"
EVENT_HANDOFF_ACCEPTED = "handoff.accepted"
EVENT_HANDOFF_DECLINED = "handoff.declined"
EVENT_MEETING_SCHEDULED = "meeting.scheduled"
EVENT_MEETING_HELD = "meeting.held"
EVENT_PROMISE_BROKEN = "promise.broken"
EVENTS = (
    EVENT_DEAL_WON,
    EVENT_HANDOFF_STARTED,
    EVENT_HANDOFF_PROPOSED,
    EVENT_HANDOFF_ACCEPTED,
    EVENT_HANDOFF_DECLINED,
    EVENT_MEETING_SCHEDULED,
    EVENT_MEETING_HELD,
    EVENT_PROMISE_BROKEN,
)
EVENT_ABOUT_DEAL = "deal"
EVENT_ABOUT_HANDOFF = "handoff"
EVENT_ABOUT_MEETING = "meeting"
EVENT_ABOUT_PROMISE = "promise"


def handoff_event_version(moment: datetime.datetime) -> int:
    """The version of a proposal or a decline: its time in milliseconds, so that a second
    proposal to the same person is a new message and a retry of the first is not."""
    return int(moment.timestamp() * 1000)


handoff_proposed = Signal()
handoff_accepted = Signal()
overdue_item_resolved = Signal()
promise_broken = Signal()
packet_pending = Signal()
domain_event = Signal()


def send_domain_event(
    sender: type,
    *,
    event: str,
    item_kind: str,
    item_id: int,
    occurred_at: datetime.datetime | None = None,
    **data: Any,
) -> None:
    """Send domain_event inside the caller's transaction (see the module docstring);
    `data` are the event's extra facts (actor_id=…)."""
    domain_event.send(
        sender=sender,
        event=event,
        item_kind=item_kind,
        item_id=item_id,
        occurred_at=occurred_at or timezone.now(),
        data=data,
    )
