"""Forms of the import pages (handoffs.views.imports): the upload, the column mapping
(with the owners the file names and the hand-off choice) and the start.

They only validate what the user typed: the file itself (size, encoding, a header) and
whether a mapping covers what a kind of row needs are the engine's rules
(handoffs.imports.services), whose ValidationErrors the views put back on these forms.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from handoffs.imports.choices import ImportKind, ImportSource
from handoffs.imports.layouts import FIELDS

DETECT = ""
IGNORE = ""


def max_upload_bytes() -> int:
    """The size limit of an uploaded file (settings.BATON_IMPORT_MAX_BYTES, 50 MB)."""
    return int(getattr(settings, "BATON_IMPORT_MAX_BYTES", 50 * 1024 * 1024))


class ImportUploadForm(forms.Form):
    """The file, and what Baton should assume about it instead of guessing (optional).
    After a refused file the choices stay selected; the file itself must be chosen again
    (no browser lets a page fill a file input)."""

    file = forms.FileField(
        label="CSV file",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
    )
    source = forms.ChoiceField(
        label="Exported from",
        required=False,
        choices=[(DETECT, "Detect from the columns"), *ImportSource.choices],
    )
    object_kind = forms.ChoiceField(
        label="Each row is",
        required=False,
        choices=[(DETECT, "Detect from the columns"), *ImportKind.choices],
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = (
            f"At most {filesizeformat(max_upload_bytes())}. Comma, semicolon or tab separated; "
            "UTF-8, UTF-16 or Windows-1252 (Excel's CSV files are fine)."
        )

    def clean_file(self):
        # Checked here too, before anything reads the file: a 2 GB upload is refused
        # from its declared size (the engine checks again when it reads the bytes).
        uploaded = self.cleaned_data["file"]
        if uploaded.size > max_upload_bytes():
            raise forms.ValidationError(
                f"The file is {filesizeformat(uploaded.size)}: the limit is {filesizeformat(max_upload_bytes())}. "
                "Split it into smaller files and import them one after the other."
            )
        return uploaded


def column_field_name(index: int) -> str:
    return f"column_{index}"


def owner_field_name(index: int) -> str:
    return f"owner_{index}"


class ImportMappingForm(forms.Form):
    """Baton's guess, corrected: the source and what a row is, the Baton field each column
    of the file goes to (or none), the Baton user each owner the file names becomes, and
    whether won deals start their hand-offs.

    Built from the job's header and the owners found in the file; `mapping()` and
    `owner_mapping()` give the engine its dictionaries back, keyed by the file's own
    column and owner names (form field names are indexes, since a column may be called
    anything)."""

    source = forms.ChoiceField(label="Exported from", choices=ImportSource.choices)
    object_kind = forms.ChoiceField(label="Each row is", choices=ImportKind.choices)
    start_handoffs = forms.BooleanField(
        label="Won deals start their hand-offs",
        required=False,
        help_text=(
            "Through the close gate, as a close logged in Baton: a won deal whose hand-off packet is "
            "incomplete is imported won and waits for its packet. Unticked, won deals are imported won "
            "without a hand-off."
        ),
    )

    def __init__(self, *args, header: list[str], owners: list[str], users, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.header = list(header)
        self.owners = list(owners)
        field_choices = [(IGNORE, "— not imported —"), *FIELDS]
        for index, column in enumerate(self.header):
            self.fields[column_field_name(index)] = forms.ChoiceField(
                label=column or f"(column {index + 1} has no name)", choices=field_choices, required=False
            )
        user_choices = [("", "— not a Baton user: the rows are yours —")] + [
            (str(user.pk), f"{user.get_full_name() or user.username} ({user.email})") for user in users
        ]
        for index, owner in enumerate(self.owners):
            self.fields[owner_field_name(index)] = forms.ChoiceField(label=owner, choices=user_choices, required=False)

    def column_fields(self) -> list[forms.BoundField]:
        return [self[column_field_name(index)] for index in range(len(self.header))]

    def owner_fields(self) -> list[forms.BoundField]:
        return [self[owner_field_name(index)] for index in range(len(self.owners))]

    def mapping(self) -> dict[str, str]:
        return {column: self.cleaned_data[column_field_name(index)] for index, column in enumerate(self.header)}

    def owner_mapping(self) -> dict[str, int]:
        chosen = {owner: self.cleaned_data[owner_field_name(index)] for index, owner in enumerate(self.owners)}
        return {owner: int(user_id) for owner, user_id in chosen.items() if user_id}

    @staticmethod
    def initial_for(
        *,
        source: str,
        object_kind: str,
        start_handoffs: bool,
        header: list[str],
        mapping: dict,
        owners: list[str],
        owner_mapping: dict,
    ) -> dict[str, object]:
        """The form's initial values from a job's (guessed or saved) mapping."""
        initial: dict[str, object] = {"source": source, "object_kind": object_kind, "start_handoffs": start_handoffs}
        for index, column in enumerate(header):
            initial[column_field_name(index)] = mapping.get(column, IGNORE)
        for index, owner in enumerate(owners):
            user_id = owner_mapping.get(owner)
            initial[owner_field_name(index)] = str(user_id) if user_id else ""
        return initial


class ImportStartForm(forms.Form):
    """The dry run's last word: start the import, with or without the hand-offs."""

    start_handoffs = forms.BooleanField(label="Won deals start their hand-offs", required=False)
