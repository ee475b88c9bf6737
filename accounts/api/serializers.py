"""Reusable bases for every serializer of the API (accounts, handoffs, followups).

How an endpoint uses them
-------------------------

- Write bodies: subclass ``StrictSerializer`` (or ``StrictModelSerializer``) for every
  serializer that reads a request body. A key that is not a writable field of the
  serializer is refused with 400 — ``{"error": {"code": "invalid", "fields":
  {"colour": ["Unknown field."]}}}`` — instead of being silently dropped, so a client's
  typo never looks like a success. A read-only field sent back is refused the same way
  ("This field is read-only."), except the names listed in ``Meta.tolerated_read_only``
  (or the class attribute ``tolerated_read_only``), e.g. ``("id",)``. A value of the
  wrong JSON type is refused too instead of coerced: ``"name": 42`` → "Must be a
  string.", ``"amount_cents": "7"`` → "Must be a whole number.", ``"flag": "yes"`` →
  "Must be a boolean" (decimal fields take a string or a number, as DRF documents them).
- Validate the *shape* in the serializer (types, required, lengths), never a business
  rule: call the service with ``serializer.validated_data`` and let it decide. Services
  raise ``django.core.exceptions.ValidationError`` (keyed by field) and
  ``PermissionDenied``; accounts.api.errors turns them into 400 (with ``fields``) and
  403 with the one error body, so a view needs no try/except around a service call.
- Objects the user may not see: fetch them through the app's selector scoped to
  ``request.user`` and let ``get_object_or_404`` raise — a 404, never a 403, so an id
  guessed by hand says nothing. ``VisibleRelatedField`` does this for an id in a body.
- Read bodies: plain ``serializers.ModelSerializer`` is fine; decide
  ``select_related`` / ``prefetch_related`` in the view's ``get_queryset`` (a selector),
  so the query count of a list does not grow with its rows.
- Errors: never build an error Response by hand; raise (DRF exceptions, or the Django
  ones). For the documented 4xx responses nothing is needed: the schema hook in
  accounts.api.schema adds the error body to every operation.
- Idempotency-Key on POST and the 1 MB body limit apply to every /api/ URL through
  accounts.api.middleware; an endpoint does nothing for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings

from accounts.common.http import MAX_ID

# The JSON type each kind of field takes. DRF coerces (42 → "42" for a text field,
# "7" → 7 for a number, "yes" → True), which hides a client's mistake and contradicts the
# schema; a strict body takes exactly the type the schema names. Order matters: the
# first matching class wins (a PrimaryKeyRelatedField is no IntegerField).
_JSON_TYPES: list[tuple[type[serializers.Field], tuple[type, ...], str]] = [
    (serializers.BooleanField, (bool,), "a boolean (true or false)"),
    (serializers.MultipleChoiceField, (list,), "a list of the listed values"),
    (serializers.ChoiceField, (str, int), "one of the listed values"),
    (serializers.CharField, (str,), "a string"),
    (serializers.IntegerField, (int,), "a whole number"),
    (serializers.FloatField, (int, float), "a number"),
    (serializers.DateTimeField, (str,), "a date and time as a string (ISO 8601)"),
    (serializers.DateField, (str,), "a date as a string (YYYY-MM-DD)"),
    (serializers.TimeField, (str,), "a time as a string (HH:MM)"),
    (serializers.PrimaryKeyRelatedField, (int,), "an id (a whole number)"),
    (serializers.ManyRelatedField, (list,), "a list of ids"),
    (serializers.ListField, (list,), "a list"),
    (serializers.DictField, (dict,), "an object"),
    (serializers.ListSerializer, (list,), "a list of objects"),
    (serializers.Serializer, (dict,), "an object"),
]


NON_FIELD_KEY = api_settings.NON_FIELD_ERRORS_KEY


def _type_error(field: serializers.Field, value: Any) -> str | None:
    """Why `value` is not the JSON type of `field`, or None when it is (or when the
    field takes any type, or the value is null: DRF's allow_null decides that)."""
    if value is None:
        return None
    for field_class, json_types, described in _JSON_TYPES:
        if isinstance(field, field_class):
            is_bool = isinstance(value, bool)
            if not isinstance(value, json_types) or (is_bool and bool not in json_types):
                return f"Must be {described}."
            return None
    return None


def _shape_errors(serializer: serializers.Serializer, data: Any) -> dict[str, list[str]]:
    """A message for every key of `data` the serializer would not write, and for every
    value not of its field's JSON type."""
    if not isinstance(data, Mapping):
        return {}  # DRF itself answers "Expected a dictionary" for a list or a scalar.
    tolerated = set(getattr(getattr(serializer, "Meta", None), "tolerated_read_only", ()))
    tolerated |= set(getattr(serializer, "tolerated_read_only", ()))
    fields = serializer.fields
    errors: dict[str, list[str]] = {}
    for key, value in data.items():
        field = fields.get(key)
        if field is None:
            errors[key] = ["Unknown field."]
        elif field.read_only and key not in tolerated:
            errors[key] = ["This field is read-only."]
        elif not field.read_only and (message := _type_error(field, value)):
            errors[key] = [message]
    return errors


class StrictSerializerMixin:
    """Refuse a body with keys the serializer does not write (400, keyed by field)."""

    tolerated_read_only: tuple[str, ...] = ()

    def to_internal_value(self, data: Any) -> Any:
        shape_errors = _shape_errors(self, data)  # type: ignore[arg-type]
        try:
            value = super().to_internal_value(data)  # type: ignore[misc]
        except serializers.ValidationError as error:
            if not shape_errors:
                raise
            # Every problem at once: DRF's for the other fields, ours where both speak.
            detail = error.detail if isinstance(error.detail, dict) else {NON_FIELD_KEY: error.detail}
            raise serializers.ValidationError({**detail, **shape_errors}) from None
        if shape_errors:
            raise serializers.ValidationError(shape_errors)
        return value


class StrictSerializerScheme(OpenApiSerializerExtension):
    """In the OpenAPI schema, a strict write body says what it does: no other property
    (`additionalProperties: false`), so generated clients and fuzzers know."""

    target_class = "accounts.api.serializers.StrictSerializerMixin"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema


class StrictSerializer(StrictSerializerMixin, serializers.Serializer):
    """A plain serializer for a write body that refuses unknown fields."""


class StrictModelSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    """A model serializer for a write body that refuses unknown fields."""


def id_field(**kwargs: Any) -> serializers.IntegerField:
    """A row id: a whole number that fits a bigint (a larger one would make PostgreSQL
    fail the query instead of finding nothing)."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


class IdRelatedField(serializers.PrimaryKeyRelatedField):
    """PrimaryKeyRelatedField whose id must fit a bigint (400 otherwise)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("pk_field", id_field())
        super().__init__(**kwargs)


@extend_schema_field(OpenApiTypes.INT)
class VisibleRelatedField(IdRelatedField):
    """An id in a body that must name an object the requesting user may see.

    ``visible`` gives the user's queryset: a selector called with the user (e.g.
    ``handoffs.access.deals_visible_to``), or the name of a serializer-context entry
    holding a callable without arguments. An id the user may not see is answered like
    an id that does not exist — 400, "Invalid pk … object does not exist" — never
    "forbidden", so a guessed id says nothing.
    """

    def __init__(self, *, visible: Callable[[Any], QuerySet] | str, **kwargs: Any) -> None:
        self.visible = visible
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet:
        if isinstance(self.visible, str):
            return self.context[self.visible]()
        return self.visible(self.context["request"].user)


class ErrorDetailSerializer(serializers.Serializer):
    """The inside of every error body (see accounts.api.errors)."""

    code = serializers.CharField(help_text="A stable, machine-readable code, e.g. `invalid`, `not_found`.")
    message = serializers.CharField(help_text="A sentence for a person.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="For `invalid`: the messages of each field of the body (or query) that was refused; "
        "`non_field_errors` for those about the whole body.",
    )


class ErrorSerializer(serializers.Serializer):
    """Every 4xx/5xx answer of the API: `{"error": {"code", "message", "fields"?}}`."""

    error = ErrorDetailSerializer()
