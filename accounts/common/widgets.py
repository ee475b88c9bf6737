"""Form widgets cheaper to render than Django's on long lists.

Django's Select renders a template per <option> (an include, a context push, the attrs
loop): about 30 µs each, so the ~600 time zones of the profile page cost 19 ms, and a
select of every user several (issue 17). FastSelect writes the same markup in Python.
"""

from __future__ import annotations

import html

from django import forms
from django.utils.safestring import mark_safe


def _escaped(value) -> str:
    """conditional_escape, without its overhead per call: safe strings stay as they are."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


def _attributes(attrs: dict) -> str:
    """As django/forms/widgets/attrs.html: in order, False left out, True bare."""
    return "".join(
        f" {_escaped(name)}" if value is True else f' {_escaped(name)}="{_escaped(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


class FastSelect(forms.Select):
    """A single-choice <select> whose options are written in Python, not by a template
    per option; Django's markup (name, attributes, `selected`, values and labels escaped).
    Grouped choices (<optgroup>) and multiple selects fall back to Django's rendering."""

    def render(self, name, value, attrs=None, renderer=None):
        # Not list(): on a ModelChoiceIterator that asks len() first, a COUNT query more.
        choices = [choice for choice in self.choices]  # noqa: C416
        if self.allow_multiple_selected or any(isinstance(label, (list, tuple)) for _, label in choices):
            return super().render(name, value, attrs, renderer)
        selected = set(self.format_value(value))
        options = "".join(
            f'\n  <option value="{_escaped(option_value)}"'
            f"{' selected' if str(option_value) in selected else ''}>{_escaped(label)}</option>"
            for option_value, label in choices
        )
        attributes = _attributes(self.build_attrs(self.attrs, attrs))
        # Safe: the name, the attributes, every value and label are escaped.
        return mark_safe(f'<select name="{_escaped(name)}"{attributes}>{options}\n</select>')  # noqa: S308
