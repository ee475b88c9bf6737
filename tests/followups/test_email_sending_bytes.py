"""The outbox's quick SMTP path sends exactly what Django's SMTP backend would.

followups.services.outbox._smtp_send hands the message to smtplib itself (addresses
checked once per address, the MIME bytes written by emails.message_bytes, whose boundary
check compiles a pattern only when the text could contain the boundary). Compared here
with Django's own EmailBackend.send_messages on the same connection: the same envelope
sender, recipients and bytes, for each shape of e-mail Baton sends, with the boundary's
random token and the Date header pinned so that both runs draw the same.
"""

import random
import sys

import pytest
from django.core import mail
from django.core.mail.backends.smtp import EmailBackend

from accounts.models import User
from followups import emails
from followups.overdue import ItemDescription
from followups.services.outbox import _smtp_send

ICS = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:meeting-1@baton\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"


class RecordingSmtp:
    """Stands in for smtplib.SMTP on an open backend: records what would go on the wire."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[str], bytes]] = []

    def sendmail(self, from_addr, to_addrs, msg, mail_options=(), rcpt_options=()):
        self.sent.append((from_addr, list(to_addrs), msg))
        return {}


def person(**overrides) -> User:
    fields = {"pk": 7, "username": "ann", "email": "ann@example.com", "timezone": "Europe/Paris", "first_name": "Ann"}
    return User(**{**fields, **overrides})


def description(
    title: str = "Weekly check-in with Acme (Platform rollout) is overdue", detail: str = ""
) -> ItemDescription:
    return ItemDescription(
        title=title, detail=detail or "Due 3 May 2026, weekly cadence", path="/handoffs/12/", account="Acme"
    )


def shapes():
    """(label, e-mail) for each shape the outbox sends."""
    reminder = {
        "context": {
            "description": description(),
            "is_escalation": False,
            "url": "http://x/",
            "preferences_url": "http://x/me/",
        }
    }
    yield (
        "ascii reminder",
        emails.reminder_email(to=person(), level=1, description=description(), message_id="<r.1@baton>"),
    )
    yield (
        "non-ascii subject",
        emails.reminder_email(
            to=person(first_name="Zoë"),
            level=2,
            description=description(title="Hand-off step “Kick-off call” for Ünal & Co — Rollout is overdue"),
            message_id="<r.2@baton>",
        ),
    )
    yield (
        "long lines (quoted-printable)",
        emails.reminder_email(
            to=person(), level=1, description=description(detail="é" * 700 + "x" * 600), message_id="<r.3@baton>"
        ),
    )
    yield (
        "from a person, reply-to, international domain",
        emails.render_email(
            "reminder",
            to=emails.addressee_for_user(person(email="zoe@bücher.example")),
            message_id="<r.4@baton>",
            sender_name="Zoë Ünal",
            reply_to="zoe.unal@example.com",
            **reminder,
        ),
    )
    yield (
        "invite with a calendar part and an attachment",
        emails.render_email(
            "reminder",
            to=emails.addressee_for_user(person()),
            message_id="<r.5@baton>",
            alternatives=(emails.Alternative(ICS, "text/calendar; method=REQUEST"),),
            attachments=(emails.Attachment("invite.ics", ICS, "application/ics"),),
            **reminder,
        ),
    )


@pytest.fixture
def fixed_date(monkeypatch):
    monkeypatch.setattr("django.core.mail.message.formatdate", lambda **kwargs: "Wed, 11 Jun 2025 10:00:00 -0000")


def open_backend() -> tuple[EmailBackend, RecordingSmtp]:
    backend = EmailBackend(host="127.0.0.1", port=25)
    backend.connection = RecordingSmtp()  # "open": send_messages uses it as it is
    return backend, backend.connection


@pytest.mark.parametrize("seed", range(20))
def test_the_quick_path_sends_what_djangos_smtp_backend_sends(fixed_date, seed):
    for label, email in shapes():
        django_backend, django_wire = open_backend()
        ours_backend, our_wire = open_backend()
        random.seed(seed)
        django_backend.send_messages([email])
        random.seed(seed)
        _smtp_send(ours_backend, email)
        assert our_wire.sent == django_wire.sent, label
        assert len(our_wire.sent) == 1


def test_a_text_holding_the_boundary_is_checked_as_the_standard_generator_checks_it(fixed_date):
    # The boundary the next draw will make, written as a line of a part: the quick check
    # finds it, so the standard pattern decides (with CRLF line ends it does not match a
    # line inside a part, so the standard generator keeps the boundary, and so do we).
    random.seed(99)
    boundary = "=" * 15 + f"{random.randrange(sys.maxsize):019d}" + "=="
    email = emails.render_email(
        "reminder",
        to=emails.addressee_for_user(person()),
        message_id="<r.6@baton>",
        context={"description": description(), "is_escalation": False, "url": "http://x/", "preferences_url": ""},
        alternatives=(emails.Alternative(f"before\n--{boundary}\nafter\n--{boundary}--", "text/calendar"),),
    )
    django_backend, django_wire = open_backend()
    ours_backend, our_wire = open_backend()
    random.seed(99)
    django_backend.send_messages([email])
    random.seed(99)
    _smtp_send(ours_backend, email)
    assert our_wire.sent == django_wire.sent
    assert f"before\r\n--{boundary}\r\nafter".encode() in our_wire.sent[0][2]


def test_an_email_without_recipients_is_not_sent(fixed_date):
    email = emails.reminder_email(to=person(), level=1, description=description(), message_id="<r.7@baton>")
    email.to = []
    backend, wire = open_backend()
    _smtp_send(backend, email)
    assert wire.sent == []


def test_another_backend_is_used_as_it_is(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    email = emails.reminder_email(to=person(), level=1, description=description(), message_id="<r.8@baton>")
    _smtp_send(mail.get_connection(), email)
    assert [message.extra_headers["Message-ID"] for message in mail.outbox] == ["<r.8@baton>"]
