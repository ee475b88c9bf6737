"""Reads of the inbound admin pages: the sources, and the deliveries of the retention period."""

from __future__ import annotations

import datetime

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from handoffs.choices import InboundOutcome
from handoffs.inbound.services import RETENTION_DAYS
from handoffs.models import InboundDelivery, InboundSource


def _since() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=RETENTION_DAYS)


def inbound_sources_for_admin() -> list[InboundSource]:
    """Every source, each with `recent` and `recent_failed`: its deliveries of the last 30 days."""
    recent = Q(deliveries__received_at__gte=_since())
    failed = recent & Q(deliveries__outcome__in=[InboundOutcome.FAILED_TO_MAP, InboundOutcome.REJECTED])
    return list(
        InboundSource.objects.select_related("default_owner").annotate(
            recent=Count("deliveries", filter=recent), recent_failed=Count("deliveries", filter=failed)
        )
    )


def inbound_deliveries_for_admin(*, source_id: int | None = None, outcome: str = "") -> QuerySet[InboundDelivery]:
    """The deliveries of the last 30 days, newest first, without their bodies (a list page)."""
    deliveries = (
        InboundDelivery.objects.filter(received_at__gte=_since())
        .select_related("source", "deal", "replayed_from")
        .defer("raw_body", "headers", "replayed_from__raw_body", "replayed_from__headers")
        .order_by("-received_at", "-id")
    )
    if source_id is not None:
        deliveries = deliveries.filter(source_id=source_id)
    if outcome:
        deliveries = deliveries.filter(outcome=outcome)
    return deliveries


def inbound_delivery_for_admin(pk: int) -> InboundDelivery:
    return get_object_or_404(
        InboundDelivery.objects.select_related("source", "deal", "account", "replayed_from", "replayed_by"), pk=pk
    )


def inbound_source_for_admin(pk: int) -> InboundSource:
    return get_object_or_404(InboundSource.objects.select_related("default_owner", "created_by"), pk=pk)
