"""What every app's forms and views share."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError


def add_service_error(form: forms.BaseForm, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: on the fields it names when the form
    has them, otherwise at the top. Views re-render the form, so what was typed stays."""
    if hasattr(error, "error_dict"):
        for field, field_errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, field_errors)
    else:
        form.add_error(None, error)


def select_options(field: forms.BoundField, choices) -> list[tuple[str, str, bool]]:
    """A filter select's options as (value, label, selected), for a list page that draws
    its filter selects by hand (one loop in the template), not through the widget's
    template once per option: an admin's owner menu lists every user (issue 17)."""
    selected = "" if field.value() is None else str(field.value())
    return [(str(value), str(label), str(value) == selected) for value, label in choices]
