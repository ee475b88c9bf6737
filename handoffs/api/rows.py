"""The API's list rows, written out without DRF's per-field machinery.

A list of 50 deals, hand-offs, promises or check-ins through DRF's Serializer spent
~9 ms of CPU (a third of the request) in its generic per-field path: for each of ~1,000
values a `get_attribute` walk, a `to_representation` call, the `_readable_fields`
generator and a nested serializer per related row. RowsListSerializer reads the same
serializer's fields once per class and turns each into a plain getter and converter,
with DRF's exact rules for the few field types the list serializers use (an int, a
string, a choice, a date, a moment in the user's timezone, a primary key, a nested
reference). The serializer stays the one description of a row: the OpenAPI schema and
every other use of it are unchanged, and a field this module does not know (a method
field, a hyperlink, anything reading the request) makes the whole serializer take
DRF's own path. tests/api/test_list_rows.py holds the two paths to the same output.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

from handoffs.api.fields import FlagField

# (instance, timezone) -> the field's output value.
Step = Callable[[Any, datetime.tzinfo | None], Any]
RowPlan = list[tuple[str, Step]]


class _UseDrf(Exception):
    """A row this module does not write exactly as DRF would (a missing attribute, a
    callable source): DRF writes it."""


def _getter(source_attrs: list[str]) -> Callable[[Any], Any]:
    """fields.get_attribute for a model instance (never a mapping: the rows and the nested
    steps send those to DRF): a related row that does not exist is None; a missing
    attribute, a callable or a mapping on the way goes to DRF."""
    if not source_attrs:
        return lambda instance: instance
    first, rest = source_attrs[0], source_attrs[1:]

    def get(instance: Any) -> Any:
        try:
            value = getattr(instance, first)
            if callable(value):
                raise _UseDrf
            for attr in rest:
                if isinstance(value, Mapping):
                    raise _UseDrf
                value = getattr(value, attr)
                if callable(value):
                    raise _UseDrf
        except ObjectDoesNotExist:
            return None
        except AttributeError as exc:
            raise _UseDrf from exc
        return value

    return get


def _plain_step(source_attrs: list[str], convert: Callable) -> Step:
    """A field read from the row and converted; null stays null (Serializer.to_representation).
    The one-attribute case, nearly every field, reads it inline: a list writes ~1,500."""
    if len(source_attrs) != 1:
        get = _getter(source_attrs)

        def step(instance: Any, tz: datetime.tzinfo | None) -> Any:
            value = get(instance)
            return None if value is None else convert(value, tz)

        return step
    attr = source_attrs[0]

    def step_one(instance: Any, tz: datetime.tzinfo | None) -> Any:
        try:
            value = getattr(instance, attr)
        except ObjectDoesNotExist:
            return None
        except AttributeError as exc:
            raise _UseDrf from exc
        if value is None:
            return None
        if callable(value):
            raise _UseDrf
        return convert(value, tz)

    return step_one


def _datetime_converter(field: serializers.DateTimeField) -> Callable | None:
    if getattr(field, "format", api_settings.DATETIME_FORMAT) != ISO_8601 or hasattr(field, "timezone"):
        return None

    def convert(value: Any, tz: datetime.tzinfo | None) -> Any:
        # DRF: falsy is null; an aware moment in the current timezone, "+00:00" as "Z".
        if not value:
            return None
        if type(value) is not datetime.datetime or tz is None or not timezone.is_aware(value):
            return field.to_representation(value)
        text = value.astimezone(tz).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return convert


def _date_converter(field: serializers.DateField) -> Callable | None:
    if getattr(field, "format", api_settings.DATE_FORMAT) != ISO_8601:
        return None

    def convert(value: Any, tz: datetime.tzinfo | None) -> Any:
        if not value:
            return None
        return value.isoformat() if type(value) is datetime.date else field.to_representation(value)

    return convert


def _choice_converter(field: serializers.ChoiceField) -> Callable:
    strings_to_values = dict(field.choice_strings_to_values)

    def convert(value: Any, tz: datetime.tzinfo | None) -> Any:
        if value == "":
            return value
        return strings_to_values.get(str(value), value)

    return convert


def _converter(field: serializers.Field) -> Callable | None:
    """DRF's to_representation of `field` as a plain function, or None when the field is
    not one whose output depends on its value alone."""
    kind = type(field)
    if kind is serializers.IntegerField:
        return lambda value, tz: int(value)
    if kind is serializers.BigIntegerField:
        if getattr(field, "coerce_to_string", api_settings.COERCE_BIGINT_TO_STRING):
            return lambda value, tz: str(value)
        return lambda value, tz: int(value)
    if kind is serializers.CharField:
        return lambda value, tz: str(value)
    if kind is serializers.BooleanField:
        return lambda value, tz: value if value is True or value is False else field.to_representation(value)
    if kind is serializers.ChoiceField:
        return _choice_converter(field)
    if kind is serializers.DateField:
        return _date_converter(field)
    if kind is serializers.DateTimeField:
        return _datetime_converter(field)
    if kind is serializers.DecimalField:
        return lambda value, tz: field.to_representation(value)
    return None


def _pk_step(field: serializers.PrimaryKeyRelatedField) -> Step | None:
    """RelatedField.get_attribute's primary-key shortcut: the row's own column."""
    if field.pk_field is not None or not field.source_attrs:
        return None
    parent = _getter(field.source_attrs[:-1])
    name = field.source_attrs[-1]

    def step(instance: Any, tz: datetime.tzinfo | None) -> Any:
        owner = parent(instance)
        if owner is None:
            raise _UseDrf
        try:
            value = owner.serializable_value(name)
        except AttributeError as exc:
            raise _UseDrf from exc
        if callable(value):
            raise _UseDrf
        return getattr(value, "pk", value)

    return step


def _field_step(field: serializers.Field) -> Step | None:
    # Subclasses keep DRF's path unless named here: they may override anything.
    if type(field) is serializers.PrimaryKeyRelatedField:
        return _pk_step(field)
    get = _getter(field.source_attrs)
    if type(field) is FlagField:
        return lambda instance, tz: bool(get(instance))
    if isinstance(field, serializers.BaseSerializer):
        if isinstance(field, serializers.ListSerializer):
            return None
        nested = row_plan(type(field))
        if nested is None:
            return None

        def step(instance: Any, tz: datetime.tzinfo | None) -> Any:
            value = get(instance)
            if value is None:
                return None
            if isinstance(value, Mapping):
                raise _UseDrf
            return _write(nested, value, tz)

        return step
    convert = _converter(field)
    return None if convert is None else _plain_step(field.source_attrs, convert)


def _write(plan: RowPlan, instance: Any, tz: datetime.tzinfo | None) -> dict:
    return {name: step(instance, tz) for name, step in plan}


_PLANS: dict[type, RowPlan | None] = {}


def _fields_fixed(serializer_class: type[serializers.BaseSerializer]) -> bool:
    """Whether the class's fields and rows are DRF's plain ones, the same for every
    request (no __init__, get_fields or to_representation of its own)."""
    return (
        serializer_class.__init__ is serializers.BaseSerializer.__init__
        and serializer_class.get_fields in (serializers.Serializer.get_fields, serializers.ModelSerializer.get_fields)
        and serializer_class.to_representation is serializers.Serializer.to_representation
    )


def row_plan(serializer_class: type[serializers.BaseSerializer]) -> RowPlan | None:
    """The row plan of a serializer class (built once, from a copy of its fields that no
    request is bound to), or None if one of its fields must go through DRF."""
    if serializer_class not in _PLANS:
        plan: RowPlan | None = None
        if _fields_fixed(serializer_class):
            plan = []
            for field in serializer_class()._readable_fields:
                step = _field_step(field)
                if step is None:
                    plan = None
                    break
                plan.append((field.field_name, step))
        _PLANS[serializer_class] = plan
    return _PLANS[serializer_class]


class RowsListSerializer(serializers.ListSerializer):
    """A list serializer (Meta.list_serializer_class) that writes its child's rows with
    the child's row plan, each row as DRF would; DRF's own path for a child that has no
    plan, and for a row the plan cannot write."""

    def to_representation(self, data: Any) -> list:
        plan = row_plan(type(self.child))
        if plan is None:
            return super().to_representation(data)
        iterable = data.all() if isinstance(data, models.manager.BaseManager) else data
        tz = timezone.get_current_timezone() if settings.USE_TZ else None
        rows = []
        for item in iterable:
            try:
                if isinstance(item, Mapping):
                    raise _UseDrf
                rows.append(_write(plan, item, tz))
            except _UseDrf:
                rows.append(self.child.to_representation(item))
        return rows
