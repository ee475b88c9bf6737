"""Cursor pagination for every list of the API: stable under inserts, and as fast on
page 1,000 as on page 1 (no OFFSET)."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination


class BatonCursorPagination(CursorPagination):
    """Newest first by id; `page_size` from 1 to `max_page_size` (default PAGE_SIZE).

    A `page_size` that is not such a number is refused with 400 rather than silently
    replaced by the default (DRF's way): a client asking for 1,000 rows and getting 200
    without a word would think it has them all."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request) -> int:
        values = request.query_params.getlist(self.page_size_query_param)
        if not values:
            return self.page_size
        value = values[-1]
        if len(values) > 1 or not value.isascii() or not value.isdigit() or not 1 <= int(value) <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]})
        return int(value)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        return parameters
