"""Faults of the one outbox (issue 10), against the real PostgreSQL, a throwaway Redis,
real Celery workers (`celery worker` subprocesses on the test database: the solo pool,
or prefork where the tasks' time limits matter) and a real SMTP server (aiosmtpd) that records every message it accepted, by Message-ID and recipient.

Every test ends by comparing what the server accepted with what the outbox marked
sent: each intended message arrived exactly once (or, where a worker was killed, at
most the one in flight twice), to the right person.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest
import time_machine
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from django.conf import settings as django_settings
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from followups import tasks
from followups.choices import MessagePurpose, MessageStatus
from followups.models import OutboxMessage
from followups.services.outbox import outbox_deliver_due, outbox_wake_senders, retry_delay
from followups.services.reminders import reminders_scan
from tests.followups.test_reminder_faults import ThrowawayRedis, _point_celery_at, free_port, overdue_steps, wait_for
from tests.handoffs.handoff_builders import accepted_handoff, scheduled_meeting

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
UNSENT = (MessageStatus.PENDING, MessageStatus.SENDING)


# ------------------------------------------------------------------ SMTP server


class MailServer:
    """An aiosmtpd handler that records each accepted message as (Message-ID, recipient),
    and can refuse a recipient (550), answer DATA with another reply (451), take its time
    over every DATA, hang on the first one, or refuse the first sessions with 535 (to
    their AUTH, or to their MAIL FROM as some servers do when the login was wrong)."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[str, str]] = []
        self.data_begun: list[str] = []
        self.refused_recipients: set[str] = set()
        self.reply = "250 Message accepted for delivery"
        self.data_delay = 0.0
        self.hang_first_seconds = 0.0
        self.refused_sessions = 0
        self.refuse_at = "AUTH"
        self.sessions: list[int] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    def _refuses(self, session, command: str) -> bool:
        """Whether this session is one of the first `refused_sessions`, at `command`."""
        with self._lock:
            if id(session) not in self.sessions:
                self.sessions.append(id(session))
            return command == self.refuse_at and self.sessions.index(id(session)) < self.refused_sessions

    # Called by aiosmtpd for AUTH; a refusal is answered "535 5.7.8 Authentication credentials invalid".
    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        return AuthResult(success=not self._refuses(session, "AUTH"), handled=False)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self._refuses(session, "MAIL"):
            return "535 5.7.8 Authentication credentials invalid"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused_recipients:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message_id = _message_id(envelope.content)
        with self._lock:
            first = not self.data_begun
            self.data_begun.append(message_id)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            delay = self.data_delay + (self.hang_first_seconds if first else 0.0)
            if delay:
                await asyncio.sleep(delay)
                transport = getattr(server, "transport", None)
                if transport is None or transport.is_closing():
                    # The client went away before we answered: nothing was accepted.
                    return "421 Connection lost"
            reply = self.reply
            if reply.startswith("250"):
                with self._lock:
                    self.deliveries.extend((message_id, address) for address in envelope.rcpt_tos)
            return reply
        finally:
            with self._lock:
                self.in_flight -= 1

    def accepted(self) -> Counter:
        with self._lock:
            return Counter(self.deliveries)


def _message_id(content: bytes) -> str:
    for line in content.decode("utf8", errors="replace").splitlines():
        if line.lower().startswith("message-id:"):
            return line.split(":", 1)[1].strip()
    return ""


@pytest.fixture
def mail_server(settings):
    """mail_server(login=False) → a running MailServer (requiring a login when asked);
    this process sends through it."""
    controllers = []

    def start(*, login: bool = False) -> MailServer:
        handler = MailServer()
        port = free_port()
        options = (
            {"authenticator": handler.authenticate, "auth_required": True, "auth_require_tls": False} if login else {}
        )
        controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
        controller.start()
        controllers.append(controller)
        handler.port = port
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = port
        settings.EMAIL_TIMEOUT = 5
        return handler

    yield start
    for controller in controllers:
        controller.stop()


# ------------------------------------------------------------------ Redis and the workers


@pytest.fixture
def own_redis():
    """A redis-server of this test only; the in-process Celery app publishes to it."""
    redis = ThrowawayRedis()
    redis.start()
    previous = django_settings.CELERY_BROKER_URL
    _point_celery_at(redis.url)
    yield redis
    _point_celery_at(previous)
    redis.kill()


# Starts a Celery worker after shortening the outbox's backoff, the delivery task's time
# budget or the tasks' time limits when the test asks for it: they live in the worker's
# own process, out of reach of monkeypatch.
WORKER_BOOT = """
import os, sys
import django
django.setup()
from followups import tasks
from followups.services import outbox
for name in ("RETRY_BASE_SECONDS", "RETRY_MAX_SECONDS"):
    if os.environ.get("TEST_OUTBOX_" + name):
        setattr(outbox, name, float(os.environ["TEST_OUTBOX_" + name]))
if os.environ.get("TEST_DELIVERY_TIME_BUDGET_SECONDS"):
    tasks.DELIVERY_TIME_BUDGET_SECONDS = float(os.environ["TEST_DELIVERY_TIME_BUDGET_SECONDS"])
from config.celery_app import app
for name in ("task_soft_time_limit", "task_time_limit"):
    if os.environ.get("TEST_" + name.upper()):
        app.conf[name] = float(os.environ["TEST_" + name.upper()])
app.worker_main(sys.argv[1:])
"""


class OutboxWorker:
    """A `celery worker` (one process: solo, or prefork as in production) in its own session, on the test database. Its
    database connections carry `application_name`, so a test can cut them alone."""

    def __init__(
        self,
        *,
        name: str,
        broker_url: str,
        smtp_port: int,
        log_dir: Path,
        database_address: tuple[str, int] | None = None,
        pool: str = "solo",
        **outbox_env: object,
    ) -> None:
        self.name = name
        self.pool = pool
        self.application_name = f"baton-test-worker-{name}-{uuid.uuid4().hex[:8]}"
        db = django_settings.DATABASES["default"]
        credentials = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
        host, port = database_address or database_server()
        database_url = f"postgres://{credentials}@{host}:{port}/{db['NAME']}?application_name={self.application_name}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DATABASE_URL": database_url,
            "REDIS_URL": broker_url,
            "CELERY_BROKER_URL": broker_url,
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_port),
            "EMAIL_TIMEOUT": "30",
            "LOG_LEVEL": "WARNING",
            **{key: str(value) for key, value in outbox_env.items()},
        }
        self.log = log_dir / f"worker-{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(PYTHON),
                    "-c",
                    WORKER_BOOT,
                    "worker",
                    f"--pool={self.pool}",
                    "--concurrency=1",
                    "--without-mingle",
                    "--without-gossip",
                    "-n",
                    f"{self.name}-{uuid.uuid4().hex[:6]}@%h",
                    "-l",
                    # INFO shows each task and each outbox warning in the worker's log file.
                    os.environ.get("TEST_WORKER_LOG_LEVEL", "WARNING"),
                ],
                cwd=ROOT,
                env=self.env,
                start_new_session=True,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def workers(tmp_path):
    started: list[OutboxWorker] = []

    def start(**kwargs) -> OutboxWorker:
        worker = OutboxWorker(log_dir=tmp_path, **kwargs)
        worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()


def database_server() -> tuple[str, int]:
    db = django_settings.DATABASES["default"]
    return db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)


class RestartableDatabase:
    """A TCP proxy in front of the test's PostgreSQL that can play a database restart
    for whoever connects through it: every connection dropped at once, new ones refused
    (the port is closed) for a while, then accepted again. The shared server itself is
    never touched."""

    def __init__(self) -> None:
        self.address = ("127.0.0.1", free_port())
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(self.address)
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        """Close the port and drop every connection, as a stopping server does."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            dropped, self._sockets = self._sockets, set()
        for sock in dropped:
            _close_socket(sock)

    def restart(self, *, down_seconds: float) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed
            try:
                upstream = socket.create_connection(database_server(), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            _close_socket(source)
            _close_socket(target)


def _close_socket(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@pytest.fixture
def restartable_database():
    proxy = RestartableDatabase()
    proxy.start()
    yield proxy
    proxy.stop()


# ------------------------------------------------------------------ helpers


def address_of(message: OutboxMessage) -> str:
    return message.recipient.email if message.recipient_id else message.contact.email


def emailed() -> Counter:
    """(Message-ID, recipient) of every message the outbox marked sent by e-mail, once each."""
    sent = OutboxMessage.objects.filter(status=MessageStatus.SENT).exclude(message_id="")
    return Counter((message.message_id, address_of(message)) for message in sent.select_related("recipient", "contact"))


def unsent() -> int:
    return OutboxMessage.objects.filter(status__in=UNSENT).count()


def pump_until(predicate, *, timeout: float, what: str, every: float = 2.0) -> float:
    """Wait for `predicate`, waking the senders every `every` seconds as beat's pump does.
    Returns how long it took."""
    started = deadline = time.monotonic()
    deadline += timeout
    next_pump = started
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic() - started
        if time.monotonic() >= next_pump:
            outbox_wake_senders()
            next_pump = time.monotonic() + every
        time.sleep(0.2)
    raise AssertionError(f"Timed out after {timeout} s waiting for {what}")


def invites_by_address(meeting) -> dict[str, str]:
    """address → Message-ID of each invite of `meeting`."""
    rows = OutboxMessage.objects.filter(purpose=MessagePurpose.INVITE, item_id=meeting.pk)
    return {address_of(row): row.deterministic_message_id for row in rows.select_related("recipient", "contact")}


def terminate_backends(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = %s",
            [application_name],
        )
        return sum(1 for (terminated,) in cursor.fetchall() if terminated)


# ------------------------------------------------------------------ the tests


def test_it_fails_only_the_refused_invite_and_never_reinvites_the_others(
    transactional_db, rep, manager, delivery_lead, admin_user, client_for, mail_server, own_redis
):
    # given: the customer's mail server refuses the contact (550)
    server = mail_server()
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    invites = invites_by_address(meeting)
    contact = meeting.handoff.deal.deal_contacts.first().contact
    server.refused_recipients = {contact.email}
    # when
    outbox_deliver_due()
    # then: the rep and the delivery owner have their invite, once each
    accepted = server.accepted()
    assert {key: count for key, count in accepted.items() if key[0] in invites.values()} == {
        (invites[rep.email], rep.email): 1,
        (invites[delivery_lead.email], delivery_lead.email): 1,
    }
    refused = OutboxMessage.objects.get(purpose=MessagePurpose.INVITE, contact=contact)
    assert refused.status == MessageStatus.FAILED and refused.attempts == 1
    assert "550" in refused.last_error and "No such mailbox" in refused.last_error
    page = client_for(admin_user).get(reverse("followups:outbox_admin") + "?status=failed").content.decode()
    assert "No such mailbox" in page and str(contact) in page and "(customer)" in page
    # when: the senders run again, and the pump every 10 s for a minute, then an hour on
    start = timezone.now()
    with time_machine.travel(start, tick=True) as traveller:
        assert outbox_deliver_due().batches == 0
        for _ in range(6):
            traveller.shift(10)
            assert tasks.pump_outbox() == 0
            assert tasks.deliver_outbox() == 0
        traveller.shift(3600)
        assert tasks.pump_outbox() == 0
        assert outbox_deliver_due().batches == 0
    # then: nobody was invited again, and what the outbox says it sent is what arrived
    assert server.accepted() == accepted == emailed()
    refused.refresh_from_db()
    assert refused.status == MessageStatus.FAILED and refused.attempts == 1


def test_two_workers_on_a_server_slower_than_the_lease_send_each_message_once(
    transactional_db, rep, other_rep, mail_server, own_redis, workers, settings
):
    # given: every DATA takes longer than the whole lease; one message a batch, so that
    # two workers share the work and each batch outlives its lease at once
    settings.BATON_OUTBOX_BATCH_SIZE = 1
    settings.BATON_OUTBOX_SENDERS = 4
    server = mail_server()
    server.data_delay = 3.5
    overdue_steps(rep, 3)
    overdue_steps(other_rep, 3)
    for name in ("one", "two"):
        workers(
            name=name,
            broker_url=own_redis.url,
            smtp_port=server.port,
            BATON_OUTBOX_LEASE_SECONDS=3,
            BATON_OUTBOX_BATCH_SIZE=1,
        )
    # when
    reminders_scan()
    pump_until(lambda: unsent() == 0, timeout=60, what="every reminder to be sent")
    # then: both workers sent at once, no Message-ID was accepted twice, all were sent
    assert server.most_in_flight == 2
    assert OutboxMessage.objects.filter(purpose=MessagePurpose.REMINDER, status=MessageStatus.SENT).count() == 6
    assert server.accepted() == emailed()
    assert set(server.accepted().values()) == {1} and len(server.accepted()) == 6
    assert {address for _, address in server.accepted()} == {rep.email, other_rep.email}
    # the lease keeper held each lease: no message was ever claimed a second time
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}


def test_a_server_slower_than_the_task_time_limit_loses_nothing_and_doubles_nothing(
    transactional_db, rep, other_rep, mail_server, own_redis, workers, monkeypatch
):
    """A batch that takes longer to send than the delivery task may run: the prefork pool
    (as in production) enforces the tasks' time limits, here shortened to 3 s soft and
    6 s hard, with a 2 s delivery budget; the server takes 1 s a message. Each run sends
    what fits in its budget and hands the rest to the next run; the soft limit never cuts
    a send in half (it used to fail the message in flight for good)."""
    # given
    server = mail_server()
    server.data_delay = 1.0
    # the limits travel with each task message, from whoever publishes it
    monkeypatch.setattr(tasks.deliver_outbox, "soft_time_limit", 3)
    monkeypatch.setattr(tasks.deliver_outbox, "time_limit", 6)
    overdue_steps(rep, 4)
    overdue_steps(other_rep, 4)
    workers(
        name="limits",
        pool="prefork",
        broker_url=own_redis.url,
        smtp_port=server.port,
        TEST_DELIVERY_TIME_BUDGET_SECONDS=2,
        TEST_TASK_SOFT_TIME_LIMIT=3,
        TEST_TASK_TIME_LIMIT=6,
        BATON_OUTBOX_LEASE_SECONDS=3,
    )
    # when
    reminders_scan()
    pump_until(lambda: unsent() == 0, timeout=60, what="every reminder to be sent")
    # then
    assert not OutboxMessage.objects.filter(status=MessageStatus.FAILED).exists()
    accepted = server.accepted()
    assert accepted == emailed() and set(accepted.values()) == {1} and len(accepted) == 8
    # a message handed back untried was not counted as an attempt
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize("refused_at", ["AUTH", "MAIL"])
def test_it_backs_off_when_the_login_is_refused_and_sends_everything_later(
    transactional_db, rep, manager, delivery_lead, mail_server, own_redis, settings, refused_at
):
    # given: the first three sessions are refused with 535, as while a password is
    # rotated (at the login, or at MAIL FROM, where some servers say it)
    server = mail_server(login=refused_at == "AUTH")
    if refused_at == "AUTH":
        settings.EMAIL_HOST_USER = "baton"
        settings.EMAIL_HOST_PASSWORD = "secret"
    server.refuse_at = refused_at
    server.refused_sessions = 3
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    invites = invites_by_address(meeting)
    # when: the sender runs, and again each time its backoff has passed
    start = timezone.now()
    with time_machine.travel(start, tick=True) as traveller:
        for attempt in (1, 2, 3):
            result = outbox_deliver_due()
            assert result.emailed == 0 and result.failed == 0
            waiting = OutboxMessage.objects.filter(purpose=MessagePurpose.INVITE)
            assert {(row.status, row.attempts) for row in waiting} == {(MessageStatus.PENDING, attempt)}
            assert all("535" in row.last_error for row in waiting)
            # not before the backoff is over
            assert outbox_deliver_due().batches == 0
            traveller.shift(retry_delay(attempt).total_seconds() + 1)
        result = outbox_deliver_due()
    # then: everything went out in the fourth session, nothing failed, each once
    assert result.failed == 0 and result.emailed >= 3
    assert len(server.sessions) == 4
    assert not OutboxMessage.objects.filter(status__in=[*UNSENT, MessageStatus.FAILED]).exists()
    assert set(OutboxMessage.objects.filter(purpose=MessagePurpose.INVITE).values_list("attempts", flat=True)) == {4}
    accepted = server.accepted()
    assert accepted == emailed() and set(accepted.values()) == {1}
    assert {(message_id, address) for address, message_id in invites.items()} <= set(accepted)


def test_it_sends_everything_within_a_minute_after_a_worker_is_killed_mid_batch(
    transactional_db, rep, manager, delivery_lead, mail_server, own_redis, workers
):
    # given: the server hangs on the first message, so the worker is caught mid-batch
    server = mail_server()
    server.hang_first_seconds = 20
    overdue_steps(rep, 2)
    first = workers(name="first", broker_url=own_redis.url, smtp_port=server.port, BATON_OUTBOX_LEASE_SECONDS=5)
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    reminders_scan()
    wait_for(lambda: server.data_begun, timeout=60, what="the worker to start sending")
    assert OutboxMessage.objects.filter(status=MessageStatus.SENDING).exists()
    in_flight = server.data_begun[0]
    # when: SIGKILL, a worker is started again, and the pump runs as beat would
    first.kill()
    restarted = time.monotonic()
    workers(name="second", broker_url=own_redis.url, smtp_port=server.port, BATON_OUTBOX_LEASE_SECONDS=5)
    pump_until(lambda: unsent() == 0, timeout=60, what="every message to be sent")
    # then: within a minute of the restart, everything arrived, only the one in flight
    # at the kill possibly twice
    assert time.monotonic() - restarted < 60
    assert not OutboxMessage.objects.filter(status=MessageStatus.FAILED).exists()
    accepted = server.accepted()
    assert set(accepted) == set(emailed())
    assert all(count == 1 or (message_id == in_flight and count == 2) for (message_id, _), count in accepted.items())
    assert {(message_id, address) for address, message_id in invites_by_address(meeting).items()} <= set(accepted)
    assert OutboxMessage.objects.filter(purpose=MessagePurpose.REMINDER, status=MessageStatus.SENT).count() == 2


def test_it_sends_each_message_once_when_the_database_drops_the_workers_connections_mid_drain(
    transactional_db, rep, manager, delivery_lead, mail_server, own_redis, workers, restartable_database
):
    """The worker's database goes away twice while a message is on the wire, so that the
    next write is its sent mark: first its connections (the sender's and the lease
    keeper's, told apart by application_name) are terminated with pg_terminate_backend;
    then the database "restarts": the worker reaches PostgreSQL through a proxy that
    drops every connection and refuses new ones for 3 s. Neither restarts a real
    PostgreSQL cluster: pytest-django's test database lives on the shared server for
    the whole session, and that server is not ours to restart."""
    # given: a slow server
    server = mail_server()
    server.data_delay = 1.5
    overdue_steps(rep, 3)
    worker = workers(
        name="drain",
        broker_url=own_redis.url,
        smtp_port=server.port,
        database_address=restartable_database.address,
        BATON_OUTBOX_LEASE_SECONDS=4,
    )
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    reminders_scan()
    # when: the connections are terminated while the second message is on the wire…
    wait_for(lambda: len(server.data_begun) >= 2, timeout=60, interval=0.05, what="the second DATA")
    terminated = terminate_backends(worker.application_name)
    # …and the database is down for 3 s from the fourth
    wait_for(lambda: len(server.data_begun) >= 4, timeout=60, interval=0.05, what="the fourth DATA")
    restartable_database.restart(down_seconds=3)
    pump_until(lambda: unsent() == 0, timeout=60, what="every message to be sent")
    # then: each dropped connection met a sent mark, which was written again on a new one
    assert terminated >= 1
    assert worker.log.read_text().count("recording a sent message; retrying") >= 2
    assert not OutboxMessage.objects.filter(status=MessageStatus.FAILED).exists()
    accepted = server.accepted()
    assert accepted == emailed() and set(accepted.values()) == {1}
    assert {(message_id, address) for address, message_id in invites_by_address(meeting).items()} <= set(accepted)
    assert OutboxMessage.objects.filter(purpose=MessagePurpose.REMINDER, status=MessageStatus.SENT).count() == 3


def test_two_beat_schedulers_pumping_and_scanning_at_once_double_nothing(
    transactional_db, rep, other_rep, manager, delivery_lead, mail_server, own_redis, workers
):
    # given: overdue items of two reps, a meeting's invites, and a worker
    server = mail_server()
    overdue_steps(rep, 4)
    overdue_steps(other_rep, 4)
    workers(name="beat", broker_url=own_redis.url, smtp_port=server.port)
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def beat() -> None:
        try:
            barrier.wait(timeout=10)
            until = time.monotonic() + 5
            while time.monotonic() < until:
                reminders_scan()
                outbox_wake_senders()
                time.sleep(0.1)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    # when: two schedulers each scan and pump, over and over, while the worker sends
    schedulers = [threading.Thread(target=beat) for _ in range(2)]
    for scheduler in schedulers:
        scheduler.start()
    for scheduler in schedulers:
        scheduler.join(timeout=30)
    pump_until(lambda: unsent() == 0, timeout=60, what="every message to be sent")
    # then: one reminder per overdue step, each message accepted once
    assert errors == []
    assert OutboxMessage.objects.filter(purpose=MessagePurpose.REMINDER).count() == 8
    assert not OutboxMessage.objects.filter(status=MessageStatus.FAILED).exists()
    accepted = server.accepted()
    assert accepted == emailed() and set(accepted.values()) == {1}
    assert {address for _, address in accepted} >= {rep.email, other_rep.email, delivery_lead.email}
    assert {(message_id, address) for address, message_id in invites_by_address(meeting).items()} <= set(accepted)


def test_health_shows_a_long_451_outage_throughout_and_clears_once_everything_is_sent(
    transactional_db, rep, manager, delivery_lead, client, mail_server, own_redis, workers, settings
):
    # given: the mail server answers 451 to everything; "five minutes" compressed to 20 s
    # with a backoff of 1, 2, 3, 3 … s
    settings.BATON_HEALTH_TOKEN = "monitoring-token"
    server = mail_server()
    server.reply = "451 4.3.0 Mail server temporarily unavailable"
    overdue_steps(rep, 2)
    workers(
        name="outage",
        broker_url=own_redis.url,
        smtp_port=server.port,
        BATON_OUTBOX_MAX_ATTEMPTS=100,
        TEST_OUTBOX_RETRY_BASE_SECONDS=1,
        TEST_OUTBOX_RETRY_MAX_SECONDS=3,
    )
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    reminders_scan()

    def health() -> dict:
        response = client.get(reverse("health"), HTTP_AUTHORIZATION="Bearer monitoring-token")
        assert response.status_code == 200
        return response.json()

    # when: monitoring polls every second, and beat pumps, through the outage
    polls = []
    outage_ends = time.monotonic() + 20
    while time.monotonic() < outage_ends:
        polls.append(health())
        outbox_wake_senders()
        time.sleep(1)
    # then: every poll showed the backlog, and the oldest message waiting longer and longer
    assert len(polls) >= 15
    assert all(poll["outbox_due_unsent"] > 0 and poll["outbox_failed"] == 0 for poll in polls)
    ages = [poll["oldest_unsent_message_age_seconds"] for poll in polls]
    assert None not in ages
    assert all(later >= earlier for earlier, later in pairwise(ages)), ages
    assert ages[-1] - ages[0] >= 15
    # (a poll that lands while a retry is being tried sees its rows as sending, not retrying)
    assert sum(poll["outbox_retrying"] > 0 for poll in polls) >= len(polls) // 2
    # whoever is not monitoring learns only that Baton is up
    assert Client().get(reverse("health")).json() == {"status": "ok", "database": "ok"}
    assert server.accepted() == Counter()
    retried = OutboxMessage.objects.filter(purpose=MessagePurpose.INVITE).values_list("attempts", flat=True)
    assert min(retried) >= 3
    # when: the server recovers
    server.reply = "250 Message accepted for delivery"
    pump_until(lambda: unsent() == 0, timeout=30, what="every message to be sent", every=1)
    # then: everything arrived once, and the figures are back to nothing waiting
    accepted = server.accepted()
    assert accepted == emailed() and set(accepted.values()) == {1}
    assert {(message_id, address) for address, message_id in invites_by_address(meeting).items()} <= set(accepted)
    after = health()
    assert (after["outbox_due_unsent"], after["outbox_retrying"], after["outbox_failed"]) == (0, 0, 0)
    assert after["oldest_unsent_message_age_seconds"] is None
    assert after["oldest_unsent_message_due_at"] is None


def test_invites_scheduled_while_redis_is_down_are_sent_once_after_it_restarts_empty(
    transactional_db, rep, manager, delivery_lead, client_for, mail_server, own_redis, workers
):
    # given: an accepted hand-off, and Redis dead with nothing persisted
    server = mail_server()
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    contact = handoff.deal.deal_contacts.first().contact
    own_redis.kill()
    # when: the rep schedules the meeting (its wake-up cannot be sent)
    starts = (timezone.localtime() + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    started = time.monotonic()
    response = client_for(rep).post(
        reverse("handoffs:meeting_schedule", args=[handoff.pk]),
        {"starts_at": starts, "duration_minutes": 45, "location": "Room 1", "contacts": [contact.pk]},
    )
    # then: the page answered at once, and the invites wait in the outbox
    assert response.status_code == 302
    assert time.monotonic() - started < 10
    assert OutboxMessage.objects.filter(purpose=MessagePurpose.INVITE, status=MessageStatus.PENDING).count() == 3
    # when: Redis comes back empty, a worker runs, and beat's pump wakes it
    own_redis.start()
    workers(name="redis", broker_url=own_redis.url, smtp_port=server.port)
    pump_until(lambda: unsent() == 0, timeout=60, what="every message to be sent")
    # then: each attendee got their invite once
    meeting = handoff.meetings.get()
    invites = invites_by_address(meeting)
    assert set(invites) == {rep.email, delivery_lead.email, contact.email}
    accepted = server.accepted()
    assert accepted == emailed() and set(accepted.values()) == {1}
    assert {(message_id, address) for address, message_id in invites.items()} <= set(accepted)
