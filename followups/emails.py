"""Every e-mail Baton sends: one renderer, then one small function per e-mail.

A message is a template name, a recipient and a context. `render_email` turns them
into an e-mail from `templates/emails/<name>-subject.txt`, `<name>-body.txt` and
`<name>-body.html`:

- in the recipient's own time zone (a customer contact, who has none, gets the
  organiser's zone, named in the text), so that "09:30 CET" in an invite is the time
  the pages show that person;
- subject and text body through the "text" template engine, which escapes nothing (a
  contact called O'Brien stays O'Brien), the HTML body through the escaping one;
- the subject folded to one line of plain words;
- with the Message-ID the outbox chose, so that a second delivery of the same message
  is recognisable as such.

Nothing here sends or reads the outbox: followups.builders decides what each outbox
row says and calls these functions; followups.services.outbox sends.
"""

from __future__ import annotations

import datetime
import functools
import random
import re
import sys
import zoneinfo
from dataclasses import dataclass
from email import base64mime
from email.charset import BASE64, RFC2047_CHROME_LEN, Charset
from email.generator import BytesGenerator
from email.header import Header
from email.message import Message
from email.policy import Compat32
from email.utils import formataddr, parseaddr
from io import BytesIO

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone

from accounts.common.links import absolute_url
from accounts.models import Contact, User
from followups.choices import ReminderLevel
from followups.models import CustomerPulse, Notification
from followups.overdue import ItemDescription
from handoffs.calendar import meeting_invite_ics
from handoffs.models import Handoff, Meeting


@dataclass(frozen=True)
class Addressee:
    """Who an e-mail goes to, and the time zone its times are shown in."""

    person: User | Contact
    email: str
    zone: datetime.tzinfo
    zone_is_theirs: bool = True


def addressee_for_user(user: User) -> Addressee:
    return Addressee(person=user, email=user.email, zone=_zone(user.timezone))


def addressee_for_contact(contact: Contact, *, zone_of: User | None) -> Addressee:
    """A contact has no time zone of their own: times are shown in `zone_of`'s (the
    meeting's organiser, the rep), and the text names the zone."""
    zone = _zone(zone_of.timezone) if zone_of is not None else timezone.get_default_timezone()
    return Addressee(person=contact, email=contact.email, zone=zone, zone_is_theirs=False)


def _zone(name: str) -> datetime.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.get_default_timezone()


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: str
    mimetype: str


@dataclass(frozen=True)
class Alternative:
    content: str
    mimetype: str


class BatonEmail(EmailMultiAlternatives):
    """An e-mail whose Subject header a mail client reads back exactly as rendered.

    Django encodes a non-ASCII subject without telling the encoder the header's name, so
    the line is folded right after "Subject:" and every parser reads a leading space;
    encoding it with its name keeps the first encoded word on the Subject line."""

    def message(self, *args, **kwargs):
        subject = self.subject
        if subject.isascii():
            return _with_quick_folding(super().message(*args, **kwargs))
        # Django's own encoding of the subject is left out (it is also slow: it tries
        # quoted-printable and base64 at every split point).
        self.subject = ""
        try:
            message = super().message(*args, **kwargs)
        finally:
            self.subject = subject
        del message["Subject"]
        # Message.__setitem__ itself: Django's override would re-encode the Header.
        Message.__setitem__(message, "Subject", Header(subject, _SUBJECT_CHARSET, header_name="Subject"))
        return _with_quick_folding(message)


class _Base64Utf8(Charset):
    """UTF-8 encoded words in base64 (what Django picks for most subjects anyway), decided
    once instead of measured against quoted-printable for every message.

    header_encode_lines is the standard library's, splitting at the same characters,
    but it keeps a running count of the line's bytes where the original encodes the
    whole line again after every character (quadratic in the subject's length)."""

    def __init__(self) -> None:
        super().__init__("utf-8")
        self.header_encoding = BASE64

    def header_encode_lines(self, string, maxlengths):
        codec = self.output_codec or "us-ascii"
        extra = len(self.get_output_charset()) + RFC2047_CHROME_LEN
        lines: list[str | None] = []
        current: list[str] = []
        size = 0  # bytes of `current` once encoded
        maxlen = next(maxlengths) - extra
        for character in string:
            width = len(character.encode(codec, "surrogateescape"))
            if _base64_length(size + width) > maxlen:
                # This character does not fit; does nothing fit on the first line?
                if not lines and not current:
                    lines.append(None)
                else:
                    lines.append(base64mime.header_encode("".join(current).encode(codec, "surrogateescape"), codec))
                current, size = [character], width
                maxlen = next(maxlengths) - extra
            else:
                current.append(character)
                size += width
        lines.append(base64mime.header_encode("".join(current).encode(codec, "surrogateescape"), codec))
        return lines


def _base64_length(size: int) -> int:
    # base64mime.header_length of `size` bytes, without the bytes.
    groups, leftover = divmod(size, 3)
    return groups * 4 + (4 if leftover else 0)


_SUBJECT_CHARSET = _Base64Utf8()


class _QuickFolding(Compat32):
    """Django's header policy (compat32), with the usual header — one short line of plain
    ASCII with no white space at either end — written as it is: email.header.Header
    would fold and encode it into exactly the same text, at many times the cost, on each
    of the dozen headers of every message. Any other header goes the standard way."""

    def _fold(self, name, value, sanitize):
        if (
            isinstance(value, str)
            and value.isascii()
            and len(name) + 2 + len(value) <= (self.max_line_length or 0)
            and value == value.strip()
            and "\n" not in value
            and "\r" not in value
        ):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


_QUICK_FOLDING = _QuickFolding()


def _with_quick_folding(message: Message) -> Message:
    message.policy = _QUICK_FOLDING
    if message.is_multipart():
        for part in message.get_payload():
            _with_quick_folding(part)
    return message


class _QuickBoundaryGenerator(BytesGenerator):
    """The standard BytesGenerator, choosing a multipart boundary the same way (the same
    random token, the same format) but testing it cheaply first: the standard one compiles
    a new regular expression for every message (the boundary is random, so the pattern
    cache never helps) to check that no line of the text is the boundary. A line can only
    be the boundary if the text contains "--" and the boundary at all, so the pattern is
    compiled only then, and the choice is exactly the standard one."""

    @classmethod
    def _make_boundary(cls, text=None):
        token = random.randrange(sys.maxsize)
        boundary = ("=" * 15) + f"{token:019d}" + "=="
        if text is None:
            return boundary
        candidate = boundary
        counter = 0
        while b"--" + candidate.encode("ascii") in text and cls._compile_re(
            "^--" + re.escape(candidate) + "(--)?$", re.MULTILINE
        ).search(text):
            candidate = boundary + "." + str(counter)
            counter += 1
        return candidate


def message_bytes(email: EmailMessage) -> bytes:
    """What Django's SMTP backend sends for `email` (email.message().as_bytes(linesep=
    "\r\n")), byte for byte, with the boundary chosen by _QuickBoundaryGenerator."""
    buffer = BytesIO()
    _QuickBoundaryGenerator(buffer, mangle_from_=False).flatten(email.message(), unixfrom=False, linesep="\r\n")
    return buffer.getvalue()


def one_line(text: str) -> str:
    """A subject: every run of white space (new lines included) one plain space."""
    return " ".join(text.split())


def render_email(
    name: str,
    *,
    to: Addressee,
    context: dict,
    message_id: str,
    attachments: tuple[Attachment, ...] = (),
    alternatives: tuple[Alternative, ...] = (),
    sender_name: str = "",
    reply_to: str = "",
) -> EmailMultiAlternatives:
    """The one renderer: the e-mail `name` for `to`, in their time zone.

    `sender_name` and `reply_to` make a message come from a person (the customer pulse,
    from the rep): their name shown on Baton's own address (so SPF and DKIM still hold),
    and replies going to them."""
    context = {
        "site_url": settings.SITE_URL,
        "recipient": to.person,
        "zone_name": str(to.zone),
        "zone_is_theirs": to.zone_is_theirs,
        **context,
    }
    with timezone.override(to.zone):
        subject = one_line(_template(f"emails/{name}-subject.txt", "text").render(context))
        text = _template(f"emails/{name}-body.txt", "text").render(context)
        html = _template(f"emails/{name}-body.html", "django").render(context)
    message = BatonEmail(
        subject=subject,
        body=text,
        from_email=_from_address(sender_name),
        to=[to.email],
        reply_to=[reply_to] if reply_to else None,
        headers={"Message-ID": message_id, "Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(html, "text/html")
    for alternative in alternatives:
        message.attach_alternative(alternative.content, alternative.mimetype)
    for attachment in attachments:
        message.attach(attachment.filename, attachment.content, attachment.mimetype)
    return message


@functools.cache
def _template(name: str, engine: str):
    # Looked up once per process: the loaders' own cache still resolves the name each time.
    return get_template(name, using=engine)


def _from_address(sender_name: str) -> str:
    """Baton's sending address, shown as `sender_name` (via Baton) when a person sends."""
    if not sender_name:
        return settings.DEFAULT_FROM_EMAIL
    _, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((f"{one_line(sender_name)} via Baton", address))


@functools.cache
def _profile_path() -> str:
    # Every reminder e-mail links here; reverse() once per process, not per e-mail.
    return reverse("accounts:profile")


def _preferences_url() -> str:
    return absolute_url(_profile_path())


# --- reminders, digests and notifications ---------------------------------------------


def reminder_email(*, to: User, level: int, description: ItemDescription, message_id: str) -> EmailMultiAlternatives:
    """One overdue item, to its owner (level 1) or as an escalation (levels 2 and 3)."""
    return render_email(
        "reminder",
        to=addressee_for_user(to),
        context={
            "description": description,
            "is_escalation": level > ReminderLevel.OWNER,
            "url": absolute_url(description.path),
            "preferences_url": _preferences_url(),
        },
        message_id=message_id,
    )


@dataclass(frozen=True)
class DigestEntry:
    title: str
    detail: str
    url: str
    is_escalation: bool


def digest_email(*, to: User, entries: list[DigestEntry], message_id: str) -> EmailMultiAlternatives:
    """The daily digest: every reminder (and notification) of one user in one e-mail."""
    return render_email(
        "digest",
        to=addressee_for_user(to),
        context={"entries": entries, "preferences_url": _preferences_url()},
        message_id=message_id,
    )


def notification_email(*, to: User, notification: Notification, message_id: str) -> EmailMultiAlternatives:
    """The e-mail copy of an in-app notification that is not a reminder (an issue raised…)."""
    return render_email(
        "reminder-notification",
        to=addressee_for_user(to),
        context={
            "notification": notification,
            "url": absolute_url(notification.url or reverse("followups:notifications")),
            "preferences_url": _preferences_url(),
        },
        message_id=message_id,
    )


def weekly_digest_email(*, to: User, context: dict, message_id: str) -> EmailMultiAlternatives:
    """A manager's weekly dropped-baton digest (context from followups.services.report)."""
    return render_email("weekly-digest", to=addressee_for_user(to), context=context, message_id=message_id)


# --- the hand-off ---------------------------------------------------------------------


# How an invite addresses each attendee: who they are in this meeting.
ROLE_REP = "rep"
ROLE_DELIVERY_OWNER = "delivery_owner"
ROLE_CUSTOMER = "customer"
ROLE_GUEST = "guest"


def attendee_role(meeting: Meeting, *, user: User | None, contact: Contact | None) -> str:
    handoff = meeting.handoff
    if contact is not None:
        return ROLE_CUSTOMER
    if user is not None and user.pk == handoff.rep_id:
        return ROLE_REP
    if user is not None and user.pk == handoff.delivery_owner_id:
        return ROLE_DELIVERY_OWNER
    return ROLE_GUEST


def meeting_email(
    *, meeting: Meeting, to: Addressee, role: str, cancelled: bool, message_id: str
) -> EmailMultiAlternatives:
    """The invite (METHOD:REQUEST) or the cancellation (METHOD:CANCEL) of the meeting, for
    one attendee, with the same calendar event (UID, SEQUENCE) attached."""
    method = "CANCEL" if cancelled else "REQUEST"
    ics = meeting_invite_ics(meeting, method=method).decode()
    handoff = meeting.handoff
    return render_email(
        "meeting-cancelled" if cancelled else "meeting-invite",
        to=to,
        context={
            "meeting": meeting,
            "handoff": handoff,
            "deal": handoff.deal,
            "account": handoff.deal.account,
            "role": role,
            "is_customer": role == ROLE_CUSTOMER,
            "is_rep": role == ROLE_REP,
            "is_delivery_owner": role == ROLE_DELIVERY_OWNER,
            "starts_at": meeting.starts_at,
            "updated": meeting.sequence > 0,
            "handoff_url": absolute_url(reverse("handoffs:handoff_detail", args=[handoff.pk])),
        },
        message_id=message_id,
        alternatives=(Alternative(ics, f"text/calendar; method={method}"),),
        attachments=(Attachment("invite.ics", ics, "application/ics"),),
    )


def customer_summary_email(
    *, meeting: Meeting, contact: Contact, promises: list, status_url: str, message_id: str
) -> EmailMultiAlternatives:
    """After the meeting: who owns the customer's account now, how to reach them, what was agreed."""
    handoff = meeting.handoff
    return render_email(
        "customer-summary",
        to=addressee_for_contact(contact, zone_of=handoff.delivery_owner or handoff.rep),
        context={
            "contact": contact,
            "handoff": handoff,
            "account": handoff.deal.account,
            "owner": handoff.delivery_owner,
            "rep": handoff.rep,
            "agreement": meeting.notes,
            "promises": promises,
            "status_url": status_url,
            "link_days": settings.BATON_CUSTOMER_LINK_DAYS,
        },
        message_id=message_id,
    )


def _handoff_context(handoff: Handoff) -> dict:
    return {
        "handoff": handoff,
        "deal": handoff.deal,
        "account": handoff.deal.account,
        "handoff_url": absolute_url(reverse("handoffs:handoff_detail", args=[handoff.pk])),
        "brief_url": absolute_url(reverse("handoffs:handoff_brief", args=[handoff.pk])),
    }


def handoff_proposed_email(*, handoff: Handoff, to: User, message_id: str) -> EmailMultiAlternatives:
    """To the proposed delivery owner: read the brief, then accept or decline."""
    return render_email(
        "handoff-proposed", to=addressee_for_user(to), context=_handoff_context(handoff), message_id=message_id
    )


def handoff_declined_email(*, handoff: Handoff, to: User, message_id: str) -> EmailMultiAlternatives:
    """To the managers: the proposed owner declined, with their reason; propose someone else."""
    return render_email(
        "handoff-declined", to=addressee_for_user(to), context=_handoff_context(handoff), message_id=message_id
    )


def reminder_notification(*, user_id: int, kind: str, level: int, description: ItemDescription) -> Notification:
    """The bell entry of a reminder (unsaved; saved when the reminder is marked sent)."""
    title = description.title if level == ReminderLevel.OWNER else f"Escalation: {description.title}"
    return Notification(
        user_id=user_id,
        kind=kind,
        title=title[:200],
        body=description.detail,
        url=description.path[:500],
    )


# --- the customer pulse ----------------------------------------------------------------


@dataclass(frozen=True)
class PulseLinks:
    """The signed links of one pulse e-mail: one per answer, the page (to add a comment)
    and the opt-out."""

    answers: list[tuple[str, str]]  # (label, url), in PulseAnswer order
    page: str
    opt_out: str


def pulse_email(*, pulse: CustomerPulse, links: PulseLinks, link_days: int, message_id: str) -> EmailMultiAlternatives:
    """After a check-in: "How is it going with <delivery>?", from the rep (their name,
    replies to them), in the rep's zone, with three one-click answers and an opt-out."""
    checkin = pulse.checkin
    rep = checkin.rep
    return render_email(
        "pulse",
        to=addressee_for_contact(pulse.contact, zone_of=rep),
        context={
            "contact": pulse.contact,
            "rep": rep,
            "deal": checkin.handoff.deal,
            "account": pulse.account,
            "delivery_owner": checkin.handoff.delivery_owner,
            "links": links,
            "link_days": link_days,
        },
        message_id=message_id,
        sender_name=str(rep),
        reply_to=rep.email,
    )


# password reset (issue 15) -------------------------------------------------------------


def password_reset_email(*, to: User, link: str, message_id: str) -> EmailMultiAlternatives:
    """The link to choose a new password, asked for on the login page; `link` is made
    when the message is sent, so a message delayed by a mail-server outage still works."""
    return render_email(
        "password-reset", to=addressee_for_user(to), context={"user": to, "link": link}, message_id=message_id
    )


# customer link (issue 15) ---------------------------------------------------------------


def customer_link_email(
    *, handoff: Handoff, contact: Contact, status_url: str, message_id: str
) -> EmailMultiAlternatives:
    """A fresh link to the customer's status page, sent from the hand-off page; from the
    rep (replies go to them), in their zone. `status_url` is made when it is sent."""
    rep = handoff.rep
    return render_email(
        "customer-link",
        to=addressee_for_contact(contact, zone_of=rep),
        context={
            "contact": contact,
            "handoff": handoff,
            "account": handoff.deal.account,
            "rep": rep,
            "owner": handoff.delivery_owner,
            "status_url": status_url,
            "link_days": settings.BATON_CUSTOMER_LINK_DAYS,
        },
        message_id=message_id,
        sender_name=str(rep),
        reply_to=rep.email,
    )


# invitation (issue 15) -----------------------------------------------------------------


def user_invite_email(*, to: User, link: str, message_id: str) -> EmailMultiAlternatives:
    """To someone an admin invited: who invited them, their role and team, and the link
    (made at send time) to choose their password; it works once, for a few days."""
    return render_email(
        "user-invite",
        to=addressee_for_user(to),
        context={
            "user": to,
            "invited_by": to.invited_by,
            "role": to.get_role_display(),
            "team": to.team,
            "link": link,
            "link_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
            "login_url": absolute_url(reverse("login")),
        },
        message_id=message_id,
    )
