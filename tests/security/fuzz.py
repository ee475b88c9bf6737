"""Hypothesis strategies for the form fuzz (issue 15): for each Django form field, what
an attacker or a clumsy integration might send — valid values, unicode, control
characters and NUL bytes, huge strings, numbers out of range, dates at the calendar's
edges and garbage, choices valid and invalid, missing fields, repeated fields."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterable

from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import strategies as st

# The apps whose forms must all be fuzzed (tests/test_forms_fuzz.py checks it).
FORM_PACKAGES = ("accounts", "handoffs", "followups")
_SKIPPED_MODULE_PARTS = ("migrations", "management", "bench", "demo")

_EDGE_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\r\n",
    "\t\x0b\x0c",
    "\u202e\u200b\ufeff",
    "😀" * 40,
    "Ünïcödé ñame — 日本語",
    "<script>alert(1)</script>",
    "'; DROP TABLE accounts_user; --",
    '=HYPERLINK("http://evil.example")',
    "../../etc/passwd",
    "%00%ff",
    "null",
]
_EDGE_NUMBERS = ["0", "-1", "1e999", "-1e999", "nan", "inf", "1.5", "0x10", "٣", "1_000", "+", "9" * 40, " 7 "]
_EDGE_DATES = [
    "0001-01-01",
    "9999-12-31",
    "1970-01-01",
    "2024-02-29",
    "2023-02-29",
    "2024-02-30",
    "2024-13-01",
    "0000-00-00",
    "31/12/2024",
    "12/31/2024",
    "today",
    "2024-01-01T25:61",
    "9999-12-31T23:59:59",
    "0001-01-01T00:00:00+14:00",
    "2024-03-31T02:30",
]
_GARBAGE_IDS = ["0", "-1", "abc", "1.5", str(2**63), str(2**31), "", "1 OR 1=1"]

text = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=120),
    st.sampled_from(_EDGE_TEXT),
    st.builds(
        lambda char, size: char * size, st.sampled_from(["x", "é", "😀", "\x00"]), st.sampled_from([255, 1001, 70_001])
    ),
)
numbers = st.one_of(st.integers(-(10**20), 10**20).map(str), st.sampled_from(_EDGE_NUMBERS), text)
dates = st.one_of(st.dates().map(lambda day: day.isoformat()), st.sampled_from(_EDGE_DATES), text)
datetimes = st.one_of(st.datetimes().map(lambda moment: moment.isoformat(timespec="minutes")), dates)
booleans = st.sampled_from(["on", "true", "false", "", "0", "1", "off", "garbage"])
uploads = st.builds(
    lambda name, body: SimpleUploadedFile(name, body, content_type="text/csv"),
    st.sampled_from(["deals.csv", "../../evil.csv", "x.exe", " .csv", "é😀.csv", "a" * 300 + ".csv"]),
    st.one_of(
        st.binary(max_size=600),
        st.integers(1, 5000).map(lambda rows: b"Deal Name,Amount\n" + b"A,1\n" * rows),
        st.sampled_from(
            [
                b"",
                b"\xef\xbb\xbfDeal Name,Amount\nX,1\n",
                "Deal Name,Amount\nX,1\n".encode("utf-16"),
                b'"unterminated,quote\n',
                b"=cmd|' /C calc'!A0,1\n",
            ]
        ),
    ),
)


def _choice_values(field: forms.Field) -> list[str]:
    values = []
    for value, label in getattr(field, "choices", []) or []:
        if isinstance(label, (list, tuple)):  # an optgroup
            values += [str(inner) for inner, _ in label]
        else:
            values.append(str(value))
    return values[:200]


def value_strategy(field: forms.Field, ids: list[str]) -> st.SearchStrategy:
    """One value for `field`; `ids` are ids of existing rows (for model choices)."""
    if isinstance(field, forms.ModelChoiceField):
        return st.one_of(st.sampled_from(ids + _GARBAGE_IDS), text)
    if isinstance(field, forms.ChoiceField):
        valid = _choice_values(field)
        return st.one_of(st.sampled_from(valid or ["x"]), text) if valid else text
    if isinstance(field, forms.BooleanField):
        return booleans
    if isinstance(field, (forms.IntegerField, forms.DecimalField, forms.FloatField)):
        return numbers
    if isinstance(field, forms.DateTimeField):
        return datetimes
    if isinstance(field, forms.DateField):
        return dates
    if isinstance(field, forms.FileField):
        return uploads
    return text


def field_strategy(field: forms.Field, ids: list[str]) -> st.SearchStrategy:
    """A field as posted: missing (None), one value, or the field repeated."""
    one = value_strategy(field, ids)
    repeated = st.lists(one, min_size=2, max_size=3)
    if isinstance(field, (forms.MultipleChoiceField, forms.ModelMultipleChoiceField)):
        return st.one_of(st.none(), repeated, st.lists(one, max_size=1))
    if isinstance(field, forms.FileField):
        return st.one_of(st.none(), one)
    return st.one_of(st.none(), one, repeated)


def payload_strategy(fields: dict[str, forms.Field], ids: list[str], *, fixed: dict | None = None) -> st.SearchStrategy:
    """A whole POST body (or query): every field maybe, plus `fixed` values as given."""
    strategies = {name: field_strategy(field, ids) for name, field in fields.items()}

    def build(drawn: dict) -> dict:
        body = {name: value for name, value in drawn.items() if value is not None}
        body.update(fixed or {})
        return body

    return st.fixed_dictionaries(strategies).map(build)


def _modules() -> Iterable:
    for package_name in FORM_PACKAGES:
        package = importlib.import_module(package_name)
        yield package
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            if any(part in info.name.split(".") for part in _SKIPPED_MODULE_PARTS):
                continue
            yield importlib.import_module(info.name)


def project_forms() -> set[type[forms.BaseForm]]:
    """Every form class defined in the apps (abstract ones, named with a leading
    underscore, aside)."""
    found = set()
    for module in _modules():
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, forms.BaseForm)
                and value.__module__ == module.__name__
                and not name.startswith("_")
            ):
                found.add(value)
    return found
