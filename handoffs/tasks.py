"""Celery tasks of the hand-off e-mails: thin, taking ids, idempotent.

Services wake a task after commit (wake()); beat runs send_due_handoff_emails every
minute as a sweep, so an e-mail whose wake-up was lost (broker down, worker killed)
still goes out. The rows themselves say what is due (see handoffs.emails).
"""

from __future__ import annotations

import logging

from celery import shared_task

from handoffs import emails

logger = logging.getLogger(__name__)

MAX_RETRIES = 6


def _backoff(retries: int) -> int:
    # 30 s, 1 min, 2 min, 4 min… capped at 30 min; beat's sweep also keeps trying.
    return min(30 * 2**retries, 30 * 60)


@shared_task(bind=True, name="handoffs.tasks.send_meeting_invites", max_retries=MAX_RETRIES)
def send_meeting_invites(self, meeting_id: int) -> int:
    try:
        return emails.deliver_meeting_invites(meeting_id)
    except Exception as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


@shared_task(bind=True, name="handoffs.tasks.send_customer_summary", max_retries=MAX_RETRIES)
def send_customer_summary(self, meeting_id: int) -> int:
    try:
        return emails.deliver_customer_summary(meeting_id)
    except Exception as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


@shared_task(bind=True, name="handoffs.tasks.send_handoff_notices", max_retries=MAX_RETRIES)
def send_handoff_notices(self, handoff_id: int) -> int:
    try:
        return emails.deliver_handoff_notices(handoff_id)
    except Exception as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


DELIVERIES = {
    "meeting_invites": emails.deliver_meeting_invites,
    "customer_summary": emails.deliver_customer_summary,
    "handoff_notices": emails.deliver_handoff_notices,
}
TASKS = {
    "meeting_invites": send_meeting_invites,
    "customer_summary": send_customer_summary,
    "handoff_notices": send_handoff_notices,
}


@shared_task(name="handoffs.tasks.send_due_handoff_emails")
def send_due_handoff_emails() -> int:
    """The sweep: send every hand-off e-mail that is due and not leased; a failure is
    logged and left due for the next run."""
    sent = 0
    for kind, ids in emails.due_email_ids().items():
        for object_id in ids:
            try:
                sent += DELIVERIES[kind](object_id)
            except Exception:
                logger.exception("Sending %s for #%s failed; the next sweep retries it.", kind, object_id)
    return sent


def wake(kind: str, object_id: int) -> None:
    """Ask a worker to send now. Called after commit; if the broker cannot be reached
    the request still succeeds and the sweep sends the e-mail within a minute or so."""
    try:
        TASKS[kind].apply_async(args=[object_id], retry=False)
    except Exception:
        logger.warning("Could not enqueue %s for #%s; the periodic sweep will send it.", kind, object_id, exc_info=True)
