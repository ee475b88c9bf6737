"""Fixtures shared by the hand-offs tests."""

from __future__ import annotations

import pytest

from handoffs import signals


@pytest.fixture
def resolved_overdue_items():
    """The (item_kind, item_id) pairs sent on overdue_item_resolved while the test runs."""
    received: list[tuple[str, int]] = []

    def receiver(sender, item_kind, item_id, **kwargs):
        received.append((item_kind, item_id))

    signals.overdue_item_resolved.connect(receiver)
    yield received
    signals.overdue_item_resolved.disconnect(receiver)
