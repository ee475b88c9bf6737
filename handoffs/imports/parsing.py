"""From the bytes of an uploaded file to rows: what is refused (empty, too big, not a
CSV), the encoding, the delimiter, and each row with the line of the file it starts on.

Encodings, in this order: a BOM says it (UTF-8, UTF-16 LE/BE); else strict UTF-8; else a
legacy single-byte encoding, Western (Windows-1252, Latin-1, Latin-9) or Central European
(Windows-1250, Latin-2), as charset-normalizer weighs them. Windows-1252 — the encoding
Excel writes "CSV" in on Western Windows, and the usual export encoding of Western CRMs —
wins whenever it reads the file about as cleanly as the best candidate: a French file
with "Œ" (0x8C) reads as cleanly in Windows-1250, where 0x8C is "Ś", so without this
preference it would come out wrong. Windows-1250 is taken only when charset-normalizer
is clearly confident (Windows-1252 reads it as mess: "£ódŸ" for "Łódź", symbols inside
words); a short Polish file whose few accents all have a plausible Windows-1252 reading
("£ukasz") is read as Windows-1252 — the cost of the preference. UTF-16 without a BOM is
not recognised.

Delimiters: comma, semicolon, tab or pipe — csv.Sniffer on the start of the file, and
when it cannot decide, the character the header line holds most of. Quoted cells may hold
delimiters, quotes ("") and newlines.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from charset_normalizer import from_bytes
from django.core.exceptions import ValidationError

DELIMITERS = ",;\t|"
SAMPLE_BYTES = 64 * 1024
# A cell longer than this is not a CRM field but a broken quote swallowing the file.
csv.field_size_limit(1024 * 1024)

_SIGNATURES = [
    (b"PK\x03\x04", "an Excel workbook or a zip archive (save the sheet as CSV first)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel or Word file (save the sheet as CSV first)"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "an image"),
    (b"\xff\xd8\xff", "an image"),
    (b"GIF8", "an image"),
    (b"\x1f\x8b", "a gzip archive"),
]
_WESTERN = ["cp1252", "iso8859_15", "latin_1"]
_CENTRAL = ["cp1250", "iso8859_2"]
# How much messier than the best reading Windows-1252's may be and still be preferred
# (charset-normalizer's chaos ratio, 0 to 1; identical readings score the same).
CP1252_CHAOS_MARGIN = 0.02


@dataclass(frozen=True)
class Sniffed:
    """What the upload found out about a file."""

    encoding: str
    delimiter: str
    header: list[str]


def refuse(message: str) -> ValidationError:
    return ValidationError({"file": message})


def check_not_binary(data: bytes) -> None:
    """Refuse (keyed "file") an empty file and the formats people upload by mistake."""
    if not data:
        raise refuse("The file is empty (0 bytes).")
    for magic, what in _SIGNATURES:
        if data.startswith(magic):
            raise refuse(f"This is not a CSV file: it looks like {what}.")


def detect_encoding(data: bytes) -> str:
    """The codec to read `data` with (see the module's docstring)."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = data[:SAMPLE_BYTES]
    if b"\x00" in head:
        raise refuse("This is not a CSV file: it holds binary data (or UTF-16 without its byte-order mark).")
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # Among the legacy Western and Central European single-byte encodings only: on a short
    # sample charset-normalizer would as readily answer a Cyrillic or Greek page, which
    # the CRM exports people bring here are not.
    matches = list(from_bytes(head, cp_isolation=_WESTERN + _CENTRAL))
    encoding = _preferred_encoding(data, matches)
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; Latin-1 reads any byte.
        encoding = "latin_1"
    return encoding


def _preferred_encoding(data: bytes, matches: list) -> str:
    """Windows-1252 when it reads `data` and is about as clean as the best match; else the
    best match (charset-normalizer's first); Windows-1252 when there is none."""
    if not matches:
        return "cp1252"
    best = matches[0]
    cp1252_chaos = min(
        (match.chaos for match in matches if "cp1252" in match.could_be_from_charset),
        default=None,
    )
    if cp1252_chaos is not None and cp1252_chaos <= best.chaos + CP1252_CHAOS_MARGIN and _decodes(data, "cp1252"):
        return "cp1252"
    encoding = codecs.lookup(best.encoding).name
    return encoding if encoding in _WESTERN + _CENTRAL else "cp1252"


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def decode(data: bytes, encoding: str) -> str:
    """The text of the file; refused (keyed "file") when it does not decode."""
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        raise refuse(f"The file cannot be read as {encoding}: {error}.") from None
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        raise refuse("This is not a CSV file: it holds binary data.")
    return text


def detect_delimiter(text: str) -> str:
    sample = text[:SAMPLE_BYTES]
    # Cut at the last line break so the sniffer does not see half a row.
    if len(text) > SAMPLE_BYTES and "\n" in sample:
        sample = sample[: sample.rfind("\n")]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        delimiter = ""
    first_line = sample.split("\n", 1)[0]
    counts = {candidate: first_line.count(candidate) for candidate in DELIMITERS}
    # The sniffer is fooled by a sample of one column, or by commas inside quoted
    # amounts of a semicolon file; the header line (no quoted numbers) settles it.
    if len(delimiter) != 1 or delimiter not in DELIMITERS or counts[delimiter] < max(counts.values()):
        delimiter = max(counts, key=lambda candidate: counts[candidate]) if max(counts.values()) else ","
    return delimiter


def sniff(data: bytes) -> tuple[Sniffed, str]:
    """(what was found, the decoded text); ValidationError keyed "file" when refused."""
    check_not_binary(data)
    encoding = detect_encoding(data)
    text = decode(data, encoding)
    if not text.strip():
        raise refuse("The file holds no rows, only blank space.")
    delimiter = detect_delimiter(text)
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    header = [column.strip() for column in header]
    if not any(header):
        raise refuse("The first line of the file must name the columns.")
    named = [column for column in header if column]
    if len(set(named)) != len(named):
        duplicates = sorted({column for column in named if named.count(column) > 1})
        raise refuse(f"Two columns have the same name: {', '.join(duplicates)}. Rename one and upload again.")
    return Sniffed(encoding=encoding, delimiter=delimiter, header=header), text


def count_records(text: str) -> int:
    """About how many data rows `text` holds: its lines after the header (a quoted
    newline counts one more; the dry run gives the exact count)."""
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    return max(lines - 1, 0)


@dataclass(frozen=True)
class Row:
    """One record of the file: the line it starts on and its cells, in the header's order
    (a list, not a dict per row: 100,000 rows of dicts weigh hundreds of megabytes)."""

    line: int
    values: list[str]
    header: list[str]

    @property
    def cells(self) -> dict[str, str]:
        return dict(zip(self.header, self.values, strict=True))


def rows(text: str, *, delimiter: str) -> Iterator[Row | tuple[int, str, dict[str, str]]]:
    """Each data row (blank lines skipped). A row with more cells than the header
    yields (line, reason, cells) instead: it is rejected, not guessed at."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [column.strip() for column in next(reader, [])]
    line = reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield (line, f"The row cannot be read: {error}.", {})
            return
        start, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in record):
            continue
        if len(record) > len(header) and any(cell.strip() for cell in record[len(header) :]):
            cells = dict(zip(header, record, strict=False))
            yield (start, f"The row has {len(record)} cells, the header {len(header)} columns.", cells)
            continue
        if len(record) != len(header):
            record = (record + [""] * len(header))[: len(header)]
        yield Row(line=start, values=record, header=header)
