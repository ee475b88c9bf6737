"""Fields the API's serializers share, in a module of their own so that
handoffs.api.rows (which the serializers use) can recognise them without importing the
serializers back."""

from __future__ import annotations

from rest_framework import serializers


class FlagField(serializers.BooleanField):
    """A "late" flag annotated in SQL (handoffs.lateness.as_flag): a comparison with a
    NULL date (a promise without a due date, a closed deal's next step) is NULL there,
    and means "not late"."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def get_attribute(self, instance) -> bool:
        # Here, not in to_representation: DRF writes a None attribute out as null unseen.
        return bool(super().get_attribute(instance))
