"""Reads of the webhook admin pages: endpoints with their recent figures, and an
endpoint's delivery log (a fixed number of queries whatever the number of rows)."""

from __future__ import annotations

import datetime

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from followups.choices import MessageChannel, MessageStatus
from followups.models import OutboxMessage, WebhookEndpoint

RECENT = datetime.timedelta(days=7)


def webhook_endpoints_for_admin(*, now: datetime.datetime | None = None) -> QuerySet[WebhookEndpoint]:
    """Every endpoint, active first, with its last delivery and its failures of the last week."""
    since = (now or timezone.now()) - RECENT
    return WebhookEndpoint.objects.order_by("-is_active", "name", "id").annotate(
        last_sent_at=Max("deliveries__sent_at"),
        recent_failed=Count(
            "deliveries", filter=Q(deliveries__status=MessageStatus.FAILED, deliveries__created_at__gte=since)
        ),
        waiting=Count(
            "deliveries",
            filter=Q(deliveries__status__in=[MessageStatus.PENDING, MessageStatus.SENDING]),
        ),
    )


def webhook_deliveries(*, endpoint: WebhookEndpoint, status: str = "") -> QuerySet[OutboxMessage]:
    """An endpoint's delivery log, newest first (outbox_endpoint_log_idx)."""
    rows = OutboxMessage.objects.filter(endpoint=endpoint, channel=MessageChannel.WEBHOOK).select_related(
        "requested_by", "replay_of"
    )
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("-created_at", "-id")


def webhook_delivery_counts(*, endpoint: WebhookEndpoint) -> dict[str, int]:
    return dict(
        OutboxMessage.objects.filter(endpoint=endpoint)
        .order_by()
        .values_list("status")
        .annotate(count=Count("id"))
        .values_list("status", "count")
    )
