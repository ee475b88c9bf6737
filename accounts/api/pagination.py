"""Cursor pagination for every list of the API: stable under inserts, and as fast on
page 1,000 as on page 1 (no OFFSET)."""

from rest_framework.pagination import CursorPagination


class BatonCursorPagination(CursorPagination):
    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 200
