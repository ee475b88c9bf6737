"""The lease keeper renews a claim's rows without waiting for a row being marked.

The sender's mark of a message locks that row and the next one (whose lease it confirms
in the same statement); the keeper renewing the whole batch meanwhile must not wait for
them (the two would deadlock, each holding a row the other wants), and must not stop
while the claim still holds rows.
"""

import datetime
import threading

from django.db import connections, transaction
from django.utils import timezone

from followups.models import OutboxMessage
from followups.services.outbox import _lease_keep, outbox_claim
from followups.services.reminders import reminders_scan
from tests.factories import HandoffStepFactory


def test_the_keeper_skips_a_row_locked_by_the_senders_mark_and_renews_the_others(transactional_db, rep):
    # given: a claim of three reminders, one of them locked by another connection (as the mark does)
    rep.working_hours_start, rep.working_hours_end = 0, 24
    rep.save()
    for _ in range(3):
        HandoffStepFactory(
            handoff__deal__owner=rep, assignee=rep, due_on=timezone.localdate() - datetime.timedelta(days=2)
        )
    reminders_scan()
    OutboxMessage.objects.update(send_after=timezone.now())
    claim = outbox_claim()
    assert len(claim.ids) == 3
    locked_id, *free_ids = claim.ids
    before = dict(OutboxMessage.objects.values_list("id", "lease_expires_at"))
    locked, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        try:
            with transaction.atomic():
                list(OutboxMessage.objects.select_for_update().filter(id=locked_id))
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        # when
        held = _lease_keep(claim)
        # then: the locked row still counts as held; the others got a later lease
        after = dict(OutboxMessage.objects.values_list("id", "lease_expires_at"))
    finally:
        release.set()
        holder.join(timeout=30)
    assert held == 3
    assert after[locked_id] == before[locked_id]
    assert all(after[pk] > before[pk] for pk in free_ids)
