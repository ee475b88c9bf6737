"""What each outbox row says, decided when it is sent: one builder per MessagePurpose.

The sender (followups.services.outbox) hands a batch of claimed rows to `build`, which
returns, for every row, exactly one of:

- an Envelope: one e-mail (or none, when the bell is the whole delivery) for one or
  more rows, with its Message-ID and what to record once it is marked sent;
- a Skip: the row no longer applies (the step was done a second ago, the meeting moved
  again, the contact left) and is cancelled with the reason;
- a Broken: the row cannot be rendered (bad data); it fails alone, with the error,
  and the rest of the batch goes on.

Builders read in batches (one query per purpose, not per row) and never write; what a
sent message leaves behind (the bell entry of a reminder, the timeline event of a
customer summary) is the Envelope's bell and on_sent, written with the mark.
"""

from __future__ import annotations

import datetime
import logging
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from celery.exceptions import SoftTimeLimitExceeded
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.choices import EventVerb
from accounts.common.links import absolute_url
from accounts.models import OrganisationSettings, User
from accounts.services import event_record
from followups import emails, overdue
from followups.choices import MessagePurpose, MessageStatus, PulseAnswer, ReminderLevel
from followups.models import CustomerPulse, Notification, NotificationPreference, OutboxMessage
from followups.selectors.pulse import pulse_token
from followups.selectors.report import weekly_digest_context
from handoffs.choices import HandoffStatus, MeetingStatus
from handoffs.models import CustomerLink, Handoff, Meeting, MeetingAttendee
from handoffs.selectors.handoffs import customer_link_versions, customer_status_token
from handoffs.services.customer_links import customer_link_mark_sent
from handoffs.signals import MESSAGE_ABOUT_HANDOFF, MESSAGE_ABOUT_MEETING, handoff_event_version

logger = logging.getLogger(__name__)

# The purposes that are about an overdue item (kind is a ReminderKind, version the level).
REMINDER_PURPOSES = (MessagePurpose.REMINDER, MessagePurpose.ESCALATION)
# The purposes a daily-digest user gets in their digest rather than one by one.
DIGESTIBLE_PURPOSES = (*REMINDER_PURPOSES, MessagePurpose.NOTIFICATION)
# What `kind` says for the other purposes.
KIND_MEETING = MESSAGE_ABOUT_MEETING
KIND_HANDOFF = MESSAGE_ABOUT_HANDOFF
KIND_NOTIFICATION = "notification"
KIND_WEEK = "week"


@dataclass
class Envelope:
    """One message to send for `rows` (several only for a digest)."""

    rows: list[OutboxMessage]
    message_id: str
    email: EmailMultiAlternatives | None
    # The bell entries the message leaves once it is marked sent: (outbox id, entry).
    bell: list[tuple[int, Notification]] = field(default_factory=list)
    # Anything else it leaves (a timeline event), run in the transaction of the mark.
    on_sent: Callable[[], None] | None = None
    # Reminders: when each row's next level becomes due, written with the sent (or
    # finally failed) mark.
    escalate_at: dict[int, datetime.datetime | None] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        return self.email.subject[:300] if self.email is not None else ""


@dataclass
class Skip:
    rows: list[OutboxMessage]
    reason: str


@dataclass
class Broken:
    rows: list[OutboxMessage]
    error: str


Outcome = Envelope | Skip | Broken


def wants_digest(row: OutboxMessage) -> bool:
    return (
        row.purpose in DIGESTIBLE_PURPOSES
        and not row.urgent
        and row.recipient is not None
        and row.recipient.wants_daily_digest
    )


def build(rows: list[OutboxMessage]) -> list[Outcome]:
    """An outcome for every row (see the module docstring)."""
    outcomes: list[Outcome] = []
    digests: dict[int, list[OutboxMessage]] = defaultdict(list)
    by_purpose: dict[str, list[OutboxMessage]] = defaultdict(list)
    for row in rows:
        if wants_digest(row):
            digests[row.recipient_id].append(row)
        else:
            by_purpose[row.purpose].append(row)
    for group in digests.values():
        outcomes.extend(_guarded(_build_digest, group))
    for purpose, group in by_purpose.items():
        builder = BUILDERS.get(purpose)
        if builder is None:
            outcomes.append(Broken(group, f"No builder for the purpose {purpose!r}."))
            continue
        outcomes.extend(_guarded(builder, group))
    return outcomes


def _guarded(builder: Callable[[list[OutboxMessage]], list[Outcome]], rows: list[OutboxMessage]) -> list[Outcome]:
    """Build a group; if that raises, build each row alone, so that one row with bad data
    fails alone instead of holding up the others."""
    try:
        return builder(rows)
    except SoftTimeLimitExceeded:
        raise  # the task is being stopped: the rows wait out their lease, untouched
    except Exception:
        if len(rows) == 1:
            logger.exception("Outbox message %s could not be built.", rows[0].pk)
            return [Broken(rows, _error_text())]
    outcomes: list[Outcome] = []
    for row in rows:
        try:
            outcomes.extend(builder([row]))
        except SoftTimeLimitExceeded:
            raise
        except Exception:
            logger.exception("Outbox message %s could not be built.", row.pk)
            outcomes.append(Broken([row], _error_text()))
    return outcomes


def _error_text() -> str:
    error = sys.exc_info()[1]
    return f"{type(error).__name__}: {error}"[:2000]


# --- reminders, escalations, notifications, digests ------------------------------------


def _email_off(rows: Iterable[OutboxMessage]) -> set[tuple[int, str]]:
    """(user id, kind) pairs whose e-mail the users switched off (the bell stays on)."""
    user_ids = {row.recipient_id for row in rows if row.recipient_id}
    return set(NotificationPreference.objects.filter(user_id__in=user_ids, email=False).values_list("user_id", "kind"))


def escalation_times(rows: Iterable[OutboxMessage], *, now: datetime.datetime | None = None) -> dict:
    """When each reminder's next level becomes due if its item is still overdue: written
    with the sent (or failed) mark, so that the scan reads a small index of candidates
    instead of re-checking every reminded item on every run."""
    now = now or timezone.now()
    org = OrganisationSettings.load()
    after = {ReminderLevel.OWNER: org.escalate_after_hours, ReminderLevel.MANAGER: org.escalate_to_admin_after_hours}
    times = {}
    for row in rows:
        hours = after.get(row.version) if row.purpose in REMINDER_PURPOSES else None
        times[row.pk] = now + datetime.timedelta(hours=hours) if hours else None
    return times


@dataclass
class _ReminderFacts:
    """What the reminder builders read about a batch, once."""

    live: list[OutboxMessage]
    skipped: list[OutboxMessage]
    descriptions: dict[tuple[str, int], overdue.ItemDescription]
    notifications: dict[int, Notification]


def _reminder_facts(rows: list[OutboxMessage]) -> _ReminderFacts:
    by_kind: dict[str, list[OutboxMessage]] = defaultdict(list)
    notification_ids = []
    for row in rows:
        if row.purpose == MessagePurpose.NOTIFICATION:
            notification_ids.append(row.item_id)
        else:
            by_kind[row.kind].append(row)
    live: list[OutboxMessage] = []
    skipped: list[OutboxMessage] = []
    descriptions: dict[tuple[str, int], overdue.ItemDescription] = {}
    for kind, group in by_kind.items():
        # An item resolved since the scan (a step done a second ago) is cancelled, not sent.
        still = overdue.still_overdue_ids(kind, [row.item_id for row in group])
        described = overdue.describe_items(kind, still)
        for item_id, description in described.items():
            descriptions[(kind, item_id)] = description
        for row in group:
            (live if row.item_id in described else skipped).append(row)
    notifications = Notification.objects.in_bulk(notification_ids)
    for row in rows:
        if row.purpose == MessagePurpose.NOTIFICATION:
            (live if row.item_id in notifications else skipped).append(row)
    return _ReminderFacts(live, skipped, descriptions, notifications)


def _bell_entries(rows: list[OutboxMessage], descriptions: dict) -> list[tuple[int, Notification]]:
    """The bell entries of reminders, written when they are marked sent (notifications
    are bell entries already)."""
    return [
        (
            row.pk,
            emails.reminder_notification(
                user_id=row.recipient_id,
                kind=row.kind,
                level=row.version,
                description=descriptions[(row.kind, row.item_id)],
            ),
        )
        for row in rows
        if row.purpose in REMINDER_PURPOSES
    ]


def _preference_kind(row: OutboxMessage, notifications: dict[int, Notification]) -> str:
    if row.purpose == MessagePurpose.NOTIFICATION:
        return notifications[row.item_id].kind
    return row.kind


def _build_reminders(rows: list[OutboxMessage]) -> list[Outcome]:
    """Reminders, escalations and notification copies, one e-mail each."""
    facts = _reminder_facts(rows)
    outcomes: list[Outcome] = [Skip([row], "The item is no longer overdue.") for row in facts.skipped]
    email_off = _email_off(facts.live)
    escalate_at = escalation_times(facts.live)
    for row in facts.live:
        bell = _bell_entries([row], facts.descriptions)
        escalation = {row.pk: escalate_at[row.pk]}
        wants_email = bool(row.recipient.email) and (
            (row.recipient_id, _preference_kind(row, facts.notifications)) not in email_off
        )
        if not wants_email:
            # Delivered in the app only: the bell is the message.
            outcomes.append(Envelope([row], "", None, bell=bell, escalate_at=escalation))
            continue
        message_id = row.deterministic_message_id
        if row.purpose == MessagePurpose.NOTIFICATION:
            email = emails.notification_email(
                to=row.recipient, notification=facts.notifications[row.item_id], message_id=message_id
            )
        else:
            email = emails.reminder_email(
                to=row.recipient,
                level=row.version,
                description=facts.descriptions[(row.kind, row.item_id)],
                message_id=message_id,
            )
        outcomes.append(Envelope([row], message_id, email, bell=bell, escalate_at=escalation))
    return outcomes


def digest_message_id(row: OutboxMessage) -> str:
    """One digest a user and local day: the same Message-ID however its rows were split
    across attempts, so that a resend is recognisable."""
    zone = emails.addressee_for_user(row.recipient).zone
    day = row.send_after.astimezone(zone).date()
    return f"<digest.user-{row.recipient_id}.{day.isoformat()}@baton>"


def _build_digest(rows: list[OutboxMessage]) -> list[Outcome]:
    """Every digestible row of one user in one e-mail."""
    facts = _reminder_facts(rows)
    outcomes: list[Outcome] = [Skip([row], "The item is no longer overdue.") for row in facts.skipped]
    if not facts.live:
        return outcomes
    recipient = facts.live[0].recipient
    email_off = _email_off(facts.live)
    emailed: list[OutboxMessage] = []
    bell_only: list[OutboxMessage] = []
    for row in facts.live:
        if recipient.email and (row.recipient_id, _preference_kind(row, facts.notifications)) not in email_off:
            emailed.append(row)
        else:
            bell_only.append(row)
    escalate_at = escalation_times(facts.live)
    if bell_only:
        outcomes.append(
            Envelope(bell_only, "", None, bell=_bell_entries(bell_only, facts.descriptions), escalate_at=escalate_at)
        )
    if emailed:
        entries = []
        for row in emailed:
            if row.purpose == MessagePurpose.NOTIFICATION:
                notification = facts.notifications[row.item_id]
                entries.append(
                    emails.DigestEntry(
                        title=notification.title,
                        detail=notification.body,
                        url=absolute_url(notification.url or "/"),
                        is_escalation=False,
                    )
                )
            else:
                description = facts.descriptions[(row.kind, row.item_id)]
                entries.append(
                    emails.DigestEntry(
                        title=description.title,
                        detail=description.detail,
                        url=absolute_url(description.path),
                        is_escalation=row.version > ReminderLevel.OWNER,
                    )
                )
        message_id = digest_message_id(emailed[0])
        email = emails.digest_email(to=recipient, entries=entries, message_id=message_id)
        outcomes.append(
            Envelope(
                emailed, message_id, email, bell=_bell_entries(emailed, facts.descriptions), escalate_at=escalate_at
            )
        )
    return outcomes


# --- the hand-off: invites, cancellations, summaries, notices ---------------------------


def _meetings(rows: list[OutboxMessage]) -> dict[int, Meeting]:
    return (
        Meeting.objects.select_related("handoff__deal__account", "handoff__rep", "handoff__delivery_owner", "organizer")
        .prefetch_related(Prefetch("attendees", queryset=MeetingAttendee.objects.select_related("user", "contact")))
        .in_bulk({row.item_id for row in rows})
    )


def _attendee_of(meeting: Meeting, row: OutboxMessage) -> MeetingAttendee | None:
    for attendee in meeting.attendees.all():
        if (row.recipient_id and attendee.user_id == row.recipient_id) or (
            row.contact_id and attendee.contact_id == row.contact_id
        ):
            return attendee
    return None


def _addressee(meeting: Meeting, attendee: MeetingAttendee) -> emails.Addressee:
    if attendee.user_id:
        return emails.addressee_for_user(attendee.user)
    return emails.addressee_for_contact(attendee.contact, zone_of=meeting.organizer)


def _build_meeting_messages(rows: list[OutboxMessage]) -> list[Outcome]:
    """Invites (METHOD:REQUEST) and cancellations (METHOD:CANCEL), one per attendee."""
    meetings = _meetings(rows)
    invited = set(
        OutboxMessage.objects.filter(
            purpose=MessagePurpose.INVITE,
            kind=KIND_MEETING,
            item_id__in=list(meetings),
            status=MessageStatus.SENT,
        ).values_list("item_id", "recipient_key")
    )
    outcomes: list[Outcome] = []
    for row in rows:
        meeting = meetings.get(row.item_id)
        if meeting is None:
            outcomes.append(Skip([row], "The meeting no longer exists."))
            continue
        if row.version != meeting.sequence:
            outcomes.append(Skip([row], f"Superseded: the meeting is at SEQUENCE {meeting.sequence} now."))
            continue
        cancelled = row.purpose == MessagePurpose.CANCELLATION
        if cancelled and (row.item_id, row.recipient_key) not in invited:
            # Nobody needs to hear that a meeting they were never invited to is off.
            outcomes.append(Skip([row], "No invite was ever sent to this attendee."))
            continue
        if not cancelled and meeting.status == MeetingStatus.CANCELLED:
            outcomes.append(Skip([row], "The meeting was cancelled."))
            continue
        attendee = _attendee_of(meeting, row)
        if attendee is None:
            outcomes.append(Skip([row], "No longer an attendee of this meeting."))
            continue
        to = _addressee(meeting, attendee)
        if not to.email:
            outcomes.append(Skip([row], "The attendee has no e-mail address."))
            continue
        role = emails.attendee_role(meeting, user=attendee.user, contact=attendee.contact)
        message_id = row.deterministic_message_id
        email = emails.meeting_email(meeting=meeting, to=to, role=role, cancelled=cancelled, message_id=message_id)
        outcomes.append(Envelope([row], message_id, email))
    return outcomes


def _summary_recorder(meeting: Meeting, address: str) -> Callable[[], None]:
    def record() -> None:
        deal = meeting.handoff.deal
        event_record(
            account=deal.account,
            subject=deal,
            verb=EventVerb.SUMMARY_SENT,
            message=f"The customer summary was e-mailed to {address}.",
            data={"handoff_id": meeting.handoff_id, "meeting_id": meeting.pk},
        )

    return record


def _build_customer_summaries(rows: list[OutboxMessage]) -> list[Outcome]:
    """After the meeting, one summary per customer contact who was invited, each with their
    own signed link to the status page."""
    meetings = _meetings(rows)
    outcomes: list[Outcome] = []
    promises_by_deal: dict[int, list] = {}
    link_versions = customer_link_versions(
        (meeting.handoff_id, row.contact_id)
        for row in rows
        if row.contact_id and (meeting := meetings.get(row.item_id)) is not None
    )
    for row in rows:
        meeting = meetings.get(row.item_id)
        if meeting is None or meeting.status != MeetingStatus.HELD:
            outcomes.append(Skip([row], "The meeting is not recorded as held."))
            continue
        attendee = _attendee_of(meeting, row)
        if attendee is None or attendee.contact is None or not attendee.contact.email:
            outcomes.append(Skip([row], "The contact is no longer invited or has no e-mail address."))
            continue
        handoff = meeting.handoff
        if handoff.deal_id not in promises_by_deal:
            promises_by_deal[handoff.deal_id] = list(handoff.deal.promises.order_by("id"))
        # The status link carries the contact's current link version; an attendee who is not
        # on the deal, or whose link was revoked, gets the summary without a link.
        version = link_versions.get((handoff.pk, attendee.contact_id))
        status_url = ""
        if version is not None:
            token = customer_status_token(handoff_id=handoff.pk, contact_id=attendee.contact_id, version=version)
            status_url = absolute_url(reverse("handoffs:customer_status", args=[token]))
        message_id = row.deterministic_message_id
        email = emails.customer_summary_email(
            meeting=meeting,
            contact=attendee.contact,
            promises=promises_by_deal[handoff.deal_id],
            status_url=status_url,
            message_id=message_id,
        )
        on_sent = _summary_recorder(meeting, attendee.contact.email)
        if version is not None:
            on_sent = _both(on_sent, _link_sent_recorder(handoff.pk, attendee.contact_id, version))
        outcomes.append(Envelope([row], message_id, email, on_sent=on_sent))
    return outcomes


def _handoffs(rows: list[OutboxMessage]) -> dict[int, Handoff]:
    return Handoff.objects.select_related(
        "deal__account", "rep", "proposed_owner", "proposed_by", "declined_by"
    ).in_bulk({row.item_id for row in rows})


def _proposal_stands(handoff: Handoff, row: OutboxMessage) -> bool:
    return (
        handoff.status == HandoffStatus.OWNER_PROPOSED
        and handoff.proposed_owner_id == row.recipient_id
        and handoff.proposed_at is not None
        and handoff_event_version(handoff.proposed_at) == row.version
    )


def _decline_stands(handoff: Handoff, row: OutboxMessage) -> bool:
    return (
        handoff.status == HandoffStatus.DECLINED
        and handoff.declined_at is not None
        and handoff_event_version(handoff.declined_at) == row.version
    )


def _handoff_notices(
    *,
    stands: Callable[[Handoff, OutboxMessage], bool],
    stale: str,
    render: Callable[..., EmailMultiAlternatives],
) -> Callable[[list[OutboxMessage]], list[Outcome]]:
    """A builder of notices about a hand-off to a user, sent only while what they announce
    still stands (a proposal not yet answered or withdrawn, a decline nobody acted on)."""

    def build_notices(rows: list[OutboxMessage]) -> list[Outcome]:
        handoffs = _handoffs(rows)
        outcomes: list[Outcome] = []
        for row in rows:
            handoff = handoffs.get(row.item_id)
            if handoff is None or not stands(handoff, row):
                outcomes.append(Skip([row], stale))
            elif not row.recipient.email:
                outcomes.append(Skip([row], "The recipient has no e-mail address."))
            else:
                message_id = row.deterministic_message_id
                email = render(handoff=handoff, to=row.recipient, message_id=message_id)
                outcomes.append(Envelope([row], message_id, email))
        return outcomes

    return build_notices


# To the proposed delivery owner; to the managers when the proposed owner declined.
_build_proposals = _handoff_notices(
    stands=_proposal_stands, stale="The proposal no longer stands.", render=emails.handoff_proposed_email
)
_build_decline_notices = _handoff_notices(
    stands=_decline_stands, stale="The hand-off is no longer declined.", render=emails.handoff_declined_email
)


def _build_weekly_digests(rows: list[OutboxMessage]) -> list[Outcome]:
    """A manager's weekly dropped-baton digest (kind week, item the Monday's ordinal)."""
    outcomes: list[Outcome] = []
    for row in rows:
        manager: User = row.recipient
        if not manager.is_active or not manager.email:
            outcomes.append(Skip([row], "The manager is inactive or has no e-mail address."))
            continue
        week_start = datetime.date.fromordinal(row.item_id)
        message_id = row.deterministic_message_id
        email = emails.weekly_digest_email(
            to=manager, context=weekly_digest_context(manager, week_start=week_start), message_id=message_id
        )
        outcomes.append(Envelope([row], message_id, email))
    return outcomes


# --- the customer pulse ----------------------------------------------------------------


def _pulse_links(pulse: CustomerPulse) -> emails.PulseLinks:
    token = pulse_token(pulse_id=pulse.pk, contact_id=pulse.contact_id)
    return emails.PulseLinks(
        answers=[
            (answer.label, absolute_url(reverse("followups:pulse_answer", args=[token, answer.value])))
            for answer in PulseAnswer
        ],
        page=absolute_url(reverse("followups:pulse_page", args=[token])),
        opt_out=absolute_url(reverse("followups:pulse_opt_out", args=[token])),
    )


def _pulse_recorder(pulse: CustomerPulse, address: str) -> Callable[[], None]:
    def record() -> None:
        event_record(
            account=pulse.account,
            subject=pulse.checkin.handoff.deal,
            verb=EventVerb.PULSE_SENT,
            message=f"The customer pulse was e-mailed to {pulse.contact} ({address}).",
            data={"pulse_id": pulse.pk, "checkin_id": pulse.checkin_id, "contact_id": pulse.contact_id},
        )

    return record


def _build_pulses(rows: list[OutboxMessage]) -> list[Outcome]:
    """Ask "How is it going?" of the contact of a logged check-in (kind checkin, item the
    check-in), unless they opted out, lost their address or answered already."""
    pulses = {
        pulse.checkin_id: pulse
        for pulse in CustomerPulse.objects.select_related(
            "contact", "account", "checkin__rep", "checkin__handoff__deal", "checkin__handoff__delivery_owner"
        ).filter(checkin_id__in={row.item_id for row in rows})
    }
    link_days = OrganisationSettings.load().pulse_link_days
    outcomes: list[Outcome] = []
    for row in rows:
        pulse = pulses.get(row.item_id)
        if pulse is None or pulse.contact_id != row.contact_id:
            outcomes.append(Skip([row], "No pulse for this contact and check-in."))
        elif pulse.contact.pulse_opted_out_at is not None:
            outcomes.append(Skip([row], "The contact opted out of the customer pulse."))
        elif not pulse.contact.email:
            outcomes.append(Skip([row], "The contact has no e-mail address."))
        elif pulse.answered_at is not None:
            outcomes.append(Skip([row], "The customer answered already."))
        else:
            message_id = row.deterministic_message_id
            email = emails.pulse_email(
                pulse=pulse, links=_pulse_links(pulse), link_days=link_days, message_id=message_id
            )
            outcomes.append(Envelope([row], message_id, email, on_sent=_pulse_recorder(pulse, pulse.contact.email)))
    return outcomes


# ---------------------------------------------------------------- people (issue 15)


def _set_password_link(url_name: str, user: User) -> str:
    """An absolute link to the page `url_name` where `user` chooses a password: Django's
    password-reset token, made at send time (void once the password or last login changes,
    or after PASSWORD_RESET_TIMEOUT). The invitation and the reset share it."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return absolute_url(reverse(url_name, kwargs={"uidb64": uidb64, "token": token}))


def _build_user_invites(rows: list[OutboxMessage]) -> list[Outcome]:
    """An invitation to a new user (kind user, item the user, version the moment of the
    invitation), with a link to choose their password. The link is made now, at send
    time, so a message that waited is not already expiring; it is Django's password-reset
    token, void once the password is set or after PASSWORD_RESET_TIMEOUT. Skipped for
    someone deactivated since, or who has a password or has signed in already."""
    users = User.objects.select_related("team", "invited_by").in_bulk({row.item_id for row in rows})
    outcomes: list[Outcome] = []
    for row in rows:
        user = users.get(row.item_id)
        if user is None or row.recipient_id != user.pk:
            outcomes.append(Skip([row], "No such user."))
        elif not user.is_active:
            outcomes.append(Skip([row], "The user is deactivated."))
        elif user.has_usable_password() or user.last_login is not None:
            outcomes.append(Skip([row], "The user has a password or has signed in already."))
        elif not user.email:
            outcomes.append(Skip([row], "The user has no e-mail address."))
        else:
            message_id = row.deterministic_message_id
            link = _set_password_link("accounts:invite_accept", user)
            email = emails.user_invite_email(to=user, link=link, message_id=message_id)
            outcomes.append(Envelope([row], message_id, email))
    return outcomes


def _build_password_resets(rows: list[OutboxMessage]) -> list[Outcome]:
    """A link to choose a new password, asked for on the login page (kind user, item the
    user). The token is made now, at send time: it is valid until the password (or the
    last login) changes, or PASSWORD_RESET_TIMEOUT passes."""
    outcomes: list[Outcome] = []
    for row in rows:
        user: User | None = row.recipient
        if user is None or not user.is_active or not user.email:
            outcomes.append(Skip([row], "The user is inactive or has no e-mail address."))
            continue
        message_id = row.deterministic_message_id
        link = _set_password_link("password_reset_confirm", user)
        email = emails.password_reset_email(to=user, link=link, message_id=message_id)
        outcomes.append(Envelope([row], message_id, email))
    return outcomes


# ---------------------------------------------------------------- customer links (issue 15)


def _both(first: Callable[[], None], second: Callable[[], None]) -> Callable[[], None]:
    def record() -> None:
        first()
        second()

    return record


def _link_sent_recorder(handoff_id: int, contact_id: int, version: int) -> Callable[[], None]:
    """The link's "last sent", written with the sent mark: the hand-off page then shows it active."""

    def record() -> None:
        customer_link_mark_sent(handoff_id=handoff_id, contact_id=contact_id, version=version, sent_at=timezone.now())

    return record


def _build_customer_links(rows: list[OutboxMessage]) -> list[Outcome]:
    """A fresh status-page link for a customer contact, resent from the hand-off page
    (kind customer_link, item the CustomerLink, version its version). Sent only while
    that version is still the link's, not revoked, and the contact is still on the deal
    with an e-mail address (handoffs.selectors.handoffs.customer_link_versions); the
    token is signed now, so its days of validity count from the sending."""
    links = CustomerLink.objects.select_related(
        "contact", "handoff__deal__account", "handoff__rep", "handoff__delivery_owner"
    ).in_bulk({row.item_id for row in rows})
    current = customer_link_versions((link.handoff_id, link.contact_id) for link in links.values())
    outcomes: list[Outcome] = []
    for row in rows:
        link = links.get(row.item_id)
        if link is None or link.contact_id != row.contact_id:
            outcomes.append(Skip([row], "The link no longer exists."))
        elif link.version != row.version:
            outcomes.append(Skip([row], f"Superseded: the link is at version {link.version} now."))
        elif link.revoked_at is not None:
            outcomes.append(Skip([row], "The link was revoked."))
        elif current.get((link.handoff_id, link.contact_id)) != link.version:
            outcomes.append(Skip([row], "The contact is no longer on the deal or has no e-mail address."))
        else:
            token = customer_status_token(handoff_id=link.handoff_id, contact_id=link.contact_id, version=link.version)
            message_id = row.deterministic_message_id
            email = emails.customer_link_email(
                handoff=link.handoff,
                contact=link.contact,
                status_url=absolute_url(reverse("handoffs:customer_status", args=[token])),
                message_id=message_id,
            )
            on_sent = _link_sent_recorder(link.handoff_id, link.contact_id, link.version)
            outcomes.append(Envelope([row], message_id, email, on_sent=on_sent))
    return outcomes


BUILDERS: dict[str, Callable[[list[OutboxMessage]], list[Outcome]]] = {
    MessagePurpose.REMINDER: _build_reminders,
    MessagePurpose.ESCALATION: _build_reminders,
    MessagePurpose.NOTIFICATION: _build_reminders,
    MessagePurpose.INVITE: _build_meeting_messages,
    MessagePurpose.CANCELLATION: _build_meeting_messages,
    MessagePurpose.CUSTOMER_SUMMARY: _build_customer_summaries,
    MessagePurpose.HANDOFF_PROPOSED: _build_proposals,
    MessagePurpose.DECLINE_NOTICE: _build_decline_notices,
    MessagePurpose.WEEKLY_DIGEST: _build_weekly_digests,
    MessagePurpose.PULSE: _build_pulses,
    MessagePurpose.USER_INVITE: _build_user_invites,
    MessagePurpose.PASSWORD_RESET: _build_password_resets,
    MessagePurpose.CUSTOMER_LINK: _build_customer_links,
}

__all__ = ["BUILDERS", "DIGESTIBLE_PURPOSES", "REMINDER_PURPOSES", "Broken", "Envelope", "Skip", "build"]
