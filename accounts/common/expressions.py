"""SQL conditions to OR with others, for the visibility and search filters of every app."""

from __future__ import annotations

from django.db import connections
from django.db.models import BooleanField, F, Func, QuerySet, Subquery


class InSubquery(Func):
    """`column IN (subquery)` as a condition to OR with others.

    PostgreSQL runs a plain `IN (subquery)` inside an OR as a filter over every row of
    the outer table; written as `column = ANY(ARRAY(subquery))` the subquery runs once
    (an InitPlan) and its ids feed an index scan, so each arm of the OR uses an index
    and the planner combines them with a BitmapOr. Other databases get the plain IN."""

    output_field = BooleanField()

    def __init__(self, column: str, subquery: QuerySet) -> None:
        super().__init__(F(column), Subquery(subquery))

    def _parts(self, compiler, connection):
        column_sql, column_params = compiler.compile(self.source_expressions[0])
        subquery_sql, subquery_params = compiler.compile(self.source_expressions[1])
        return column_sql, subquery_sql, (*column_params, *subquery_params)

    def as_sql(self, compiler, connection, **extra_context):
        column_sql, subquery_sql, params = self._parts(compiler, connection)
        return f"{column_sql} IN {subquery_sql}", params

    def as_postgresql(self, compiler, connection, **extra_context):
        column_sql, subquery_sql, params = self._parts(compiler, connection)
        return f"{column_sql} = ANY(ARRAY{subquery_sql})", params


class InIdList(Func):
    """`column IN (ids)` for a Python list of ids, as a condition to OR with others.

    On PostgreSQL `column = ANY(%s::<column type>[])` sends the list as one array
    parameter (Django's `__in=list` sends one parameter per id and plans a long IN list):
    written as the array's text (psycopg2 adapts a list item by item, ~2 ms of CPU for 3k
    ids, in every query that uses it), and typed as the column so that PostgreSQL hashes
    it once where it filters rows (a bigint column against an integer[] is searched
    linearly on every row: ~150 ms for a list page deep in 3k visible accounts);
    elsewhere the plain IN."""

    output_field = BooleanField()

    def __init__(self, column: str, ids: list[int]) -> None:
        super().__init__(F(column))
        self.ids = ids
        # The array's text once, for every query the condition is compiled into.
        self.array = "{" + ",".join(map(str, map(int, ids))) + "}"

    def as_sql(self, compiler, connection, **extra_context):
        column_sql, column_params = compiler.compile(self.source_expressions[0])
        if not self.ids:
            return "1 = 0", column_params
        placeholders = ", ".join(["%s"] * len(self.ids))
        return f"{column_sql} IN ({placeholders})", (*column_params, *self.ids)

    def as_postgresql(self, compiler, connection, **extra_context):
        column = self.source_expressions[0]
        column_sql, column_params = compiler.compile(column)
        array_type = f"{column.output_field.cast_db_type(connection)}[]"
        return f"{column_sql} = ANY(%s::{array_type})", (*column_params, self.array)


def id_list(ids: QuerySet | list) -> list[int]:
    """The values of a one-column queryset (`values_list(..., flat=True)`, a union of such)
    as a list, for InIdList. On PostgreSQL read as one array (`array_agg`: one row, parsed
    in C) rather than one row per id through the ORM (~1 ms of CPU for 3k ids)."""
    if isinstance(ids, list):
        return ids
    connection = connections[ids.db]
    if connection.vendor != "postgresql":
        return list(ids)
    sql, params = ids.query.get_compiler(connection=connection).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT array_agg(id) FROM ({sql}) AS ids(id)", params)  # noqa: S608 — SQL compiled by Django, values are params
        return cursor.fetchone()[0] or []


def union_all(querysets: list[QuerySet]) -> QuerySet | list:
    """`UNION ALL` of LIMITed, ordered querysets (one round trip, one planning) where the
    database allows a LIMIT in each arm; elsewhere (SQLite, make run's default) the rows
    of each, one query per arm, in the same order. Read it with list() or id_list()."""
    first, *others = querysets
    if connections[first.db].features.supports_slicing_ordering_in_compound:
        return first.union(*others, all=True)
    return [row for queryset in querysets for row in queryset]
