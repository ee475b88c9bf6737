"""The outbox admin page at scale (issue 17): each tab's count stops at the cap, the
list's pages too, and the page reads the same queries however many messages there are."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from followups.choices import MessagePurpose, MessageStatus, ReminderKind
from followups.models import OutboxMessage
from followups.selectors.outbox import outbox_status_counts

pytestmark = pytest.mark.django_db

OUTBOX = reverse("followups:outbox_admin")


def messages(user, count: int, *, status: str, first_item: int = 1, purpose: str = MessagePurpose.REMINDER):
    now = timezone.now()
    OutboxMessage.objects.bulk_create(
        OutboxMessage(
            purpose=purpose,
            kind=ReminderKind.STEP_OVERDUE,
            item_id=item_id,
            version=1,
            recipient=user,
            recipient_key=f"user:{user.pk}",
            status=status,
            first_due_at=now,
            send_after=now,
            subject="Step overdue",
        )
        for item_id in range(first_item, first_item + count)
    )


def test_each_tab_counts_up_to_the_cap_plus_one(rep):
    # given
    messages(rep, 5, status=MessageStatus.SENT)
    messages(rep, 2, status=MessageStatus.FAILED, first_item=100)
    # when
    counts = outbox_status_counts(cap=3)
    # then: 4 means "more than 3"
    assert counts == {
        MessageStatus.PENDING: 0,
        MessageStatus.SENDING: 0,
        MessageStatus.FAILED: 2,
        MessageStatus.SENT: 4,
        MessageStatus.CANCELLED: 0,
    }
    assert outbox_status_counts(purpose=MessagePurpose.ESCALATION, cap=3)[MessageStatus.SENT] == 0


def test_the_tabs_show_their_counts_and_retry_all_names_the_failed(client_for, admin_user, rep):
    # given
    messages(rep, 3, status=MessageStatus.FAILED)
    messages(rep, 2, status=MessageStatus.SENT, first_item=100)
    # when
    body = client_for(admin_user).get(OUTBOX).content.decode()
    # then
    assert 'Failed <span class="badge text-bg-danger">3</span>' in body
    assert 'Sent <span class="badge text-bg-secondary">2</span>' in body
    assert "Retry all 3 failed" in body


def test_the_page_reads_the_same_number_of_queries_for_2_or_60_messages(client_for, admin_user, rep):
    # given
    client = client_for(admin_user)
    messages(rep, 2, status=MessageStatus.FAILED)
    with CaptureQueriesContext(connection) as few:
        client.get(OUTBOX)
    messages(rep, 58, status=MessageStatus.FAILED, first_item=100)
    # when
    with CaptureQueriesContext(connection) as many:
        response = client.get(OUTBOX)
    # then
    assert len(response.context["outbox_messages"]) == 50
    assert len(many) == len(few)
