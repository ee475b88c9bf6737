"""Faults of the reminder outbox, against the real PostgreSQL, a real Redis, a real Celery
worker (a `celery -A config worker` subprocess) and a real SMTP server (aiosmtpd).

Each test that needs Redis starts its own throwaway redis-server (nothing persisted)
on a free port, so that killing or restarting it never touches the shared one.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from followups.choices import MessageStatus
from followups.models import OutboxMessage
from followups.services.notifications import notification_create
from followups.services.outbox import outbox_deliver_due
from followups.services.reminders import reminders_scan
from tests.factories import HandoffStepFactory

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CELERY = ROOT / ".venv" / "bin" / "celery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, *, timeout: float, interval: float = 0.2, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout} s waiting for {what}")


# ------------------------------------------------------------------ SMTP server


class RecordingHandler:
    """An SMTP server's DATA handler that records what it accepted, by Message-ID, and
    can be told to answer 4xx, to hang, or to hang on the first message only."""

    def __init__(self) -> None:
        self.accepted: list[str] = []
        self.reply = "250 Message accepted for delivery"
        self.hang_seconds = 0.0
        self.hang_first_only = False
        self.receiving = threading.Event()
        self.refused_recipients: set[str] = set()
        self.sessions: set[int] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.sessions.add(id(session))
        if address in self.refused_recipients:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.receiving.set()
        if self.hang_seconds:
            hang = self.hang_seconds
            if self.hang_first_only:
                self.hang_seconds = 0.0
            await asyncio.sleep(hang)
            transport = getattr(server, "transport", None)
            if transport is None or transport.is_closing():
                # The client went away before we answered: nothing was accepted.
                return "421 Connection lost"
        if self.reply.startswith("250"):
            message_id = ""
            for line in envelope.content.decode("utf8", errors="replace").splitlines():
                if line.lower().startswith("message-id:"):
                    message_id = line.split(":", 1)[1].strip()
                    break
            self.accepted.append(message_id)
        return self.reply


@pytest.fixture
def smtp_server(settings):
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_TIMEOUT = 2
    handler.port = port
    yield handler
    controller.stop()


# ------------------------------------------------------------------ Redis and the worker


class ThrowawayRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, timeout=10, what="redis-server to start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


def _point_celery_at(url: str) -> None:
    from config.celery_app import app

    app.conf.broker_url = url
    # Forget the pools of the previous broker (without closing them: kombu's global pool
    # registry still hands them out for that broker's URL once it is restored).
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def own_redis():
    """A redis-server of this test only; the in-process Celery app publishes to it."""
    redis = ThrowawayRedis()
    redis.start()
    previous = settings.CELERY_BROKER_URL
    _point_celery_at(redis.url)
    yield redis
    _point_celery_at(previous)
    redis.kill()


class WorkerProcess:
    """`celery -A config worker` in its own session, on the test database."""

    def __init__(self, *, broker_url: str, smtp_port: int, lease_seconds: int) -> None:
        db = settings.DATABASES["default"]
        database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        if db.get("PASSWORD"):
            database_url = database_url.replace(f"{db['USER']}@", f"{db['USER']}:{db['PASSWORD']}@")
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
            "BATON_OUTBOX_LEASE_SECONDS": str(lease_seconds),
            "LOG_LEVEL": "WARNING",
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                str(CELERY),
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--without-mingle",
                "--without-gossip",
                "-l",
                "WARNING",
            ],
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def workers():
    started: list[WorkerProcess] = []

    def start(**kwargs) -> WorkerProcess:
        worker = WorkerProcess(**kwargs)
        worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()


def overdue_steps(owner, count: int) -> list:
    # Reachable at any hour, so that the test does not depend on when it runs.
    owner.working_hours_start, owner.working_hours_end = 0, 24
    owner.save(update_fields=["working_hours_start", "working_hours_end"])
    return [
        HandoffStepFactory(
            handoff__deal__owner=owner, assignee=owner, due_on=timezone.localdate() - datetime.timedelta(days=1)
        )
        for _ in range(count)
    ]


def statuses() -> list[str]:
    return list(OutboxMessage.objects.order_by("id").values_list("status", flat=True))


# ------------------------------------------------------------------ the tests


def test_it_creates_no_duplicates_when_two_scans_run_at_once(transactional_db, rep, other_rep):
    # given
    overdue_steps(rep, 20)
    overdue_steps(other_rep, 20)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def scan() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(reminders_scan().total)
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    # when
    threads = [threading.Thread(target=scan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # then
    assert errors == []
    assert sorted(results) in ([0, 40], [40, 0]) or sum(results) == 40
    assert OutboxMessage.objects.count() == 40
    assert reminders_scan().total == 0


def test_it_sends_after_the_lease_expires_when_the_worker_is_killed_while_sending(
    transactional_db, rep, smtp_server, own_redis, workers
):
    # given: the mail server hangs on the first message, so the worker is caught mid-send
    overdue_steps(rep, 3)
    smtp_server.hang_seconds = 30
    smtp_server.hang_first_only = True
    first_worker = workers(broker_url=own_redis.url, smtp_port=smtp_server.port, lease_seconds=5)
    reminders_scan()
    wait_for(smtp_server.receiving.is_set, timeout=60, what="the worker to start sending")
    assert statuses() == [MessageStatus.SENDING] * 3
    # when: SIGKILL, then the lease runs out and the next scan wakes a fresh worker
    first_worker.kill()
    time.sleep(6)
    workers(broker_url=own_redis.url, smtp_port=smtp_server.port, lease_seconds=5)
    reminders_scan()
    wait_for(lambda: statuses() == [MessageStatus.SENT] * 3, timeout=60, what="every reminder to be sent")
    # then: each went out exactly once (the killed send was never accepted), none lost
    expected = {message.deterministic_message_id for message in OutboxMessage.objects.all()}
    assert sorted(smtp_server.accepted) == sorted(expected)
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {2}


def test_it_sends_every_due_reminder_after_redis_restarts_empty_and_pages_work_meanwhile(
    transactional_db, rep, client_for, smtp_server, own_redis, workers
):
    # given: the scan wrote the outbox rows and its wake-up message sits in Redis
    overdue_steps(rep, 3)
    reminders_scan()
    # when: Redis dies with nothing persisted (the wake-up is lost)…
    own_redis.kill()
    # …and the web app keeps working: pages load, saves succeed, the outbox row is written
    client = client_for(rep)
    started = time.monotonic()
    assert client.get(reverse("followups:notifications")).status_code == 200
    assert client.post(reverse("followups:notification_read_all")).status_code == 303
    assert client.post(reverse("followups:notification_preferences"), {"email": ["step_overdue"]}).status_code == 303
    notification_create(user=rep, kind="handoff", title="Acme's hand-off was accepted")
    assert time.monotonic() - started < 10
    assert OutboxMessage.objects.count() == 4
    # …then Redis comes back empty, a worker runs, and the next scan (beat) wakes it
    own_redis.start()
    workers(broker_url=own_redis.url, smtp_port=smtp_server.port, lease_seconds=30)
    reminders_scan()
    wait_for(lambda: statuses() == [MessageStatus.SENT] * 4, timeout=60, what="every reminder to be sent")
    # then: three reminder e-mails, the handoff notification was switched off by the save above
    step_ids = {message.deterministic_message_id for message in OutboxMessage.objects.filter(kind="step_overdue")}
    assert sorted(smtp_server.accepted) == sorted(step_ids)


def test_it_retries_a_4xx_with_backoff_then_fails_and_shows_it_to_the_admin(
    transactional_db, rep, admin_user, client_for, smtp_server, settings
):
    # given
    settings.BATON_OUTBOX_MAX_ATTEMPTS = 3
    smtp_server.reply = "451 4.3.0 Try again later"
    overdue_steps(rep, 1)
    start = timezone.now()
    with time_machine.travel(start, tick=True) as traveller:
        reminders_scan()
        # when: the first attempt, then the retries once each backoff has passed
        outbox_deliver_due()
        first = OutboxMessage.objects.get()
        assert first.status == MessageStatus.PENDING and first.attempts == 1
        assert first.send_after >= start + datetime.timedelta(seconds=59)
        assert "451" in first.last_error
        # not before the backoff is over
        assert outbox_deliver_due().batches == 0
        traveller.shift(61)
        outbox_deliver_due()
        second = OutboxMessage.objects.get()
        assert second.attempts == 2
        # the delay doubles
        assert second.send_after - timezone.now() > datetime.timedelta(seconds=110)
        traveller.shift(121)
        outbox_deliver_due()
    # then
    failed = OutboxMessage.objects.get()
    assert failed.status == MessageStatus.FAILED and failed.attempts == 3
    assert smtp_server.accepted == []
    html = client_for(admin_user).get(reverse("followups:outbox_admin") + "?status=failed").content.decode()
    assert "Try again later" in html and ">Retry</button>" in html


def test_it_retries_when_the_mail_server_times_out(transactional_db, rep, smtp_server, settings):
    # given: the server takes longer than EMAIL_TIMEOUT to answer
    settings.EMAIL_TIMEOUT = 1
    smtp_server.hang_seconds = 3
    smtp_server.hang_first_only = True
    overdue_steps(rep, 1)
    reminders_scan()
    # when
    result = outbox_deliver_due()
    # then
    reminder = OutboxMessage.objects.get()
    assert result.retried == 1
    assert reminder.status == MessageStatus.PENDING and reminder.attempts == 1
    assert "timed out" in reminder.last_error.lower()
    # and once the backoff passed, it is sent
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=2), tick=True):
        outbox_deliver_due()
    reminder.refresh_from_db()
    assert reminder.status == MessageStatus.SENT
    assert smtp_server.accepted == [reminder.message_id]


def test_it_fails_only_the_refused_message_and_sends_the_rest_over_the_same_connection(
    transactional_db, rep, other_rep, smtp_server
):
    # given: the mail server refuses one of the two recipients
    overdue_steps(rep, 2)
    overdue_steps(other_rep, 2)
    smtp_server.refused_recipients = {other_rep.email}
    reminders_scan()
    # when
    result = outbox_deliver_due()
    # then: the refused reminders failed at once (5xx), the others went out, on one connection
    by_recipient = {
        recipient_id: set(statuses)
        for recipient_id, statuses in (
            (user.pk, OutboxMessage.objects.filter(recipient=user).values_list("status", flat=True))
            for user in (rep, other_rep)
        )
    }
    assert by_recipient == {rep.pk: {MessageStatus.SENT}, other_rep.pk: {MessageStatus.FAILED}}
    assert "No such mailbox" in OutboxMessage.objects.filter(recipient=other_rep).first().last_error
    assert (result.sent, result.failed) == (2, 2)
    assert len(smtp_server.accepted) == 2
    assert len(smtp_server.sessions) == 1


def test_it_does_not_send_a_reminder_for_a_step_completed_while_it_waited_for_the_worker(
    transactional_db, rep, smtp_server
):
    # given
    [step] = overdue_steps(rep, 1)
    reminders_scan()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE handoffs_handoffstep SET status = 'done', done_at = now() WHERE id = %s", [step.pk])
    # when
    outbox_deliver_due()
    # then
    assert statuses() == [MessageStatus.CANCELLED]
    assert smtp_server.accepted == []
