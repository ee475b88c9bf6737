"""Downloads of a list as CSV or XLSX, streamed row by row, safe to open in a spreadsheet.

Every export in Baton goes through here: the lists' "Export" menus (deals, accounts,
contacts, hand-offs, promises, check-ins, the outbox) and the report's CSV tables. A list
describes its columns once (`Column`: header, the `values_list` lookups it reads, its
kind, how its cell is made of them); both formats are written from that description.

Memory stays flat whatever the number of rows:

- rows come from `queryset.values_list(...).iterator(chunk_size=EXPORT_CHUNK_ROWS)`
  (a server-side cursor on PostgreSQL): tuples of the needed columns, never model
  instances, never the whole result in memory;
- CSV is written into a small buffer handed to the response every ~64 KB;
- XLSX is written by hand as a zip archive in streaming mode (`zipfile` on a sink
  that is emptied after every chunk, entries with data descriptors), its sheet as XML
  with *inline* strings. openpyxl's write-only mode was measured and not used: it can
  only save a finished workbook to a file, so nothing would reach the user before the
  last row is read; it keeps every distinct string in a shared-strings table until
  then; and it took 22.8 s for 100,000 rows × 14 columns, against ~2.5 s here (README
  "Benchmarks").

Formula escaping, one rule (`is_formula_like`): a text cell starting with = + - @, a tab
or a carriage return would be run as a formula by Excel, LibreOffice or Google Sheets
("CSV injection"). In CSV it gets a leading apostrophe. In XLSX it is a text cell (an
inline string is never a formula) carrying Excel's "quote prefix" style, so the
spreadsheet shows the text as it is and keeps it text when the cell is edited.

Times are written in the zone that is current when the export is asked for (in a
request, the user's own: accounts.middleware.UserTimezoneMiddleware), captured then,
because the rows are read later, while the response streams, after the middleware has
already reset the zone.
"""

from __future__ import annotations

import csv
import datetime
import decimal
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, QueryDict, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

# A cell starting with one of these is run as a formula by Excel, LibreOffice and
# Google Sheets ("CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

CSV = "csv"
XLSX = "xlsx"
EXPORT_FORMATS = (CSV, XLSX)
CONTENT_TYPES = {
    CSV: "text/csv; charset=utf-8",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

# Kinds of column: how a cell is written in each format.
TEXT = "text"
NUMBER = "number"
DATE = "date"
DATETIME = "datetime"
BOOLEAN = "boolean"

# Rows fetched from the database at a time (PostgreSQL: per FETCH of the server-side cursor).
EXPORT_CHUNK_ROWS = 2000
# Bytes gathered before they are handed to the response (one write to the socket).
STREAM_CHUNK_BYTES = 64 * 1024
# Excel's limits: rows per sheet (the rest continue on the next sheet) and characters per cell.
XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_CELL_CHARS = 32_767
# A sheet's XML must stay below the 4 GiB of a zip entry without ZIP64; the rest of the
# rows continue on the next sheet (a margin for the last chunk and row written).
XLSX_MAX_SHEET_BYTES = 3_500_000_000


def is_formula_like(value: object) -> bool:
    """Whether a spreadsheet would run this cell as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def csv_safe(value: object) -> object:
    """The cell as CSV writes it: formula-like text with a leading apostrophe, None empty."""
    if is_formula_like(value):
        return "'" + value  # type: ignore[operator]
    return "" if value is None else value


# --- columns ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of an export: its header, the `values_list` lookups it reads, its kind
    (TEXT, NUMBER, DATE, DATETIME, BOOLEAN) and, when it reads more than one lookup or
    shows something else than the raw value, how the cell is made of them."""

    header: str
    fields: tuple[str, ...]
    kind: str = TEXT
    value: Callable[..., object] | None = None


def column(header: str, *fields: str, kind: str = TEXT, value: Callable[..., object] | None = None) -> Column:
    """A Column reading `fields` (one lookup unless `value` combines several)."""
    if len(fields) != 1 and value is None:
        raise ValueError(f"Column {header!r} reads {len(fields)} lookups: say how to combine them (value=).")
    return Column(header=header, fields=fields, kind=kind, value=value)


def label_of(choices: Iterable[tuple[str, str]]) -> Callable[[str | None], str]:
    """A `value` showing a choice's label instead of its code."""
    labels = dict(choices)
    return lambda code: labels.get(code, code or "")


def person_name(first_name: str | None, last_name: str | None, username: str | None) -> str:
    """A `value` for (first_name, last_name, username) lookups: a user as the pages show
    one (User.__str__), or nothing when there is no one."""
    full = f"{first_name or ''} {last_name or ''}".strip()
    return full or username or ""


def person_lookups(relation: str) -> tuple[str, str, str]:
    """The lookups person_name reads, through `relation` (e.g. "owner")."""
    return (f"{relation}__first_name", f"{relation}__last_name", f"{relation}__username")


def _cell_makers(columns: Sequence[Column]) -> tuple[list[str], list[Callable[[tuple], object]]]:
    """The distinct lookups to read and, per column, a function from a fetched row to its cell."""
    lookups: list[str] = []
    for col in columns:
        lookups.extend(field for field in col.fields if field not in lookups)
    makers: list[Callable[[tuple], object]] = []
    for col in columns:
        positions = [lookups.index(field) for field in col.fields]
        if col.value is None:
            (position,) = positions
            makers.append(lambda row, position=position: row[position])
        else:
            makers.append(
                lambda row, positions=positions, value=col.value: value(*(row[position] for position in positions))
            )
    return lookups, makers


def export_rows(queryset: QuerySet, columns: Sequence[Column]) -> Iterator[list[object]]:
    """The cells of each row, read lazily: only the columns' lookups, EXPORT_CHUNK_ROWS
    rows at a time, in one query whatever the number of rows."""
    lookups, makers = _cell_makers(columns)
    for row in queryset.values_list(*lookups).iterator(chunk_size=EXPORT_CHUNK_ROWS):
        yield [make(row) for make in makers]


# --- CSV -------------------------------------------------------------------------------


def _csv_writer_of(kind: str, zone: datetime.tzinfo) -> Callable[[object], object]:
    """How a column of this kind is written in CSV (chosen once per column, not per cell)."""
    if kind == DATETIME:
        return lambda value: "" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
    if kind == DATE:
        return lambda value: "" if value is None else value.isoformat()
    if kind == BOOLEAN:
        return lambda value: "" if value is None else ("yes" if value else "no")
    return csv_safe


def csv_chunks(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    kinds: Sequence[str] | None = None,
    zone: datetime.tzinfo | None = None,
    bom: bool = False,
) -> Iterator[str]:
    """The CSV text in chunks of about STREAM_CHUNK_BYTES, every text cell escaped.
    `bom` starts it with a byte-order mark, which Excel needs to read UTF-8."""
    zone = zone or timezone.get_current_timezone()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if bom:
        buffer.write("\ufeff")
    writer.writerow([csv_safe(cell) for cell in header])
    writers = [_csv_writer_of(kind, zone) for kind in kinds] if kinds is not None else None
    for row in rows:
        if writers is None:
            writer.writerow([csv_safe(cell) for cell in row])
        else:
            writer.writerow([write(cell) for write, cell in zip(writers, row, strict=True)])
        if buffer.tell() >= STREAM_CHUNK_BYTES:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> StreamingHttpResponse:
    """Stream rows as a CSV attachment, escaping every text cell (the report's tables)."""
    return _attachment(csv_chunks(header, rows), export_format=CSV, filename=filename)


# --- XLSX ------------------------------------------------------------------------------

# Characters XML 1.0 cannot carry at all (they would make the file unreadable).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_ONE_DAY = datetime.timedelta(days=1)
_QUOTE = {'"': "&quot;"}
_EXCEL_EPOCH = datetime.datetime(1899, 12, 30)
_EXCEL_EPOCH_DATE = _EXCEL_EPOCH.date()

# Cell styles (cellXfs in styles.xml, by position).
_STYLE_QUOTED = 1  # text kept as text: Excel's quote prefix
_STYLE_DATE = 2
_STYLE_DATETIME = 3
_STYLE_HEADER = 4

_STYLES_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" quotePrefix="1"/>'
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _column_letters(count: int) -> list[str]:
    letters = []
    for index in range(1, count + 1):
        name = ""
        while index:
            index, remainder = divmod(index - 1, 26)
            name = chr(65 + remainder) + name
        letters.append(name)
    return letters


def _text_cell(ref: str, value: str, style: int = 0) -> str:
    # isprintable() is False for every character XML refuses (and for tabs and line
    # breaks, which it keeps): the regular expression runs only on such rare cells.
    text = value if value.isprintable() else _XML_ILLEGAL.sub("", value)
    if len(text) > XLSX_MAX_CELL_CHARS:
        text = text[:XLSX_MAX_CELL_CHARS]
    if text.startswith(FORMULA_PREFIXES):
        style = style or _STYLE_QUOTED
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    style_attr = f' s="{style}"' if style else ""
    # A raw carriage return would be read back as a line feed (XML normalises line ends).
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return f'<c r="{ref}" t="inlineStr"{style_attr}><is><t{space}>{escaped}</t></is></c>'


def _xlsx_writer_of(kind: str, zone: datetime.tzinfo, letter: str) -> Callable[[object, int], str]:
    """How a column of this kind is written in XLSX (chosen once per column, not per
    cell): a function of the value and the row number giving the cell's XML."""

    def text(value: object, row: int) -> str:
        if value is None or value == "":
            return ""
        return _text_cell(f"{letter}{row}", value if isinstance(value, str) else str(value))

    def number(value: object, row: int) -> str:
        if isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool):
            return f'<c r="{letter}{row}"><v>{value}</v></c>'
        return text(value, row)

    def date(value: object, row: int) -> str:
        if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
            return f'<c r="{letter}{row}" s="{_STYLE_DATE}"><v>{(value - _EXCEL_EPOCH_DATE).days}</v></c>'
        return moment(value, row) if isinstance(value, datetime.datetime) else text(value, row)

    def moment(value: object, row: int) -> str:
        if not isinstance(value, datetime.datetime):
            return text(value, row)
        local = value.astimezone(zone).replace(tzinfo=None) if value.tzinfo is not None else value
        serial = (local - _EXCEL_EPOCH) / _ONE_DAY
        return f'<c r="{letter}{row}" s="{_STYLE_DATETIME}"><v>{serial:.10f}</v></c>'

    def boolean(value: object, row: int) -> str:
        return "" if value is None else _text_cell(f"{letter}{row}", "yes" if value else "no")

    return {NUMBER: number, DATE: date, DATETIME: moment, BOOLEAN: boolean}.get(kind, text)


class _Sink:
    """A write-only file for zipfile that keeps what was written until `take()`: with
    `tell()` but no `seek()`, zipfile streams (each entry followed by a data descriptor)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._size = 0
        self._offset = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self._size += len(data)
        self._offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self._offset

    def flush(self) -> None:
        pass

    @property
    def size(self) -> int:
        return self._size

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        self._size = 0
        return data


def _sheet_start(header_cells: str, width: int) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        "</sheetView></sheetViews>"
        f'<cols><col min="1" max="{width}" width="18" customWidth="1"/></cols>'
        f'<sheetData><row r="1">{header_cells}</row>'
    )


_SHEET_END = "</sheetData></worksheet>"


def _workbook_parts(sheet_names: list[str]) -> dict[str, str]:
    sheets = "".join(
        f'<sheet name="{escape(name, _QUOTE)}" sheetId="{number}" r:id="rId{number}"/>'
        for number, name in enumerate(sheet_names, start=1)
    )
    sheet_rels = "".join(
        f'<Relationship Id="rId{number}" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        f'Target="worksheets/sheet{number}.xml"/>'
        for number in range(1, len(sheet_names) + 1)
    )
    styles_id = len(sheet_names) + 1
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{number}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for number in range(1, len(sheet_names) + 1)
    )
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    return {
        "xl/workbook.xml": head + '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f"<sheets>{sheets}</sheets></workbook>",
        "xl/_rels/workbook.xml.rels": head
        + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f"{sheet_rels}"
        f'<Relationship Id="rId{styles_id}" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
        'Target="styles.xml"/></Relationships>',
        "xl/styles.xml": _STYLES_XML,
        "_rels/.rels": head + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>',
        "[Content_Types].xml": head + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        f"{overrides}</Types>",
    }


def xlsx_chunks(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    kinds: Sequence[str],
    sheet_title: str = "Export",
    zone: datetime.tzinfo | None = None,
    max_rows: int = XLSX_MAX_ROWS,
) -> Iterator[bytes]:
    """The XLSX file in chunks of about STREAM_CHUNK_BYTES, written while the rows are
    read. Rows beyond a sheet's `max_rows` (Excel's limit, header included), or beyond
    XLSX_MAX_SHEET_BYTES of XML, continue on "<title> 2", "<title> 3"…; the workbook's index is written last (a zip's entries may
    come in any order), once the number of sheets is known."""
    zone = zone or timezone.get_current_timezone()
    letters = _column_letters(len(header))
    header_cells = "".join(
        _text_cell(f"{letter}1", label, _STYLE_HEADER) for letter, label in zip(letters, header, strict=True)
    )
    writers = [_xlsx_writer_of(kind, zone, letter) for kind, letter in zip(kinds, letters, strict=True)]
    title = _XML_ILLEGAL.sub("", sheet_title)[:28] or "Export"
    sink = _Sink()
    archive = zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
    sheet_names: list[str] = []
    entry = None
    row_number = max_rows  # so that the first row opens the first sheet
    pending: list[str] = []
    pending_size = 0
    sheet_bytes = 0

    def open_sheet():
        sheet_names.append(title if not sheet_names else f"{title} {len(sheet_names) + 1}")
        # No ZIP64: Excel may call a workbook with ZIP64 entries damaged; a sheet stays
        # below the 4 GiB a plain entry holds (XLSX_MAX_SHEET_BYTES).
        handle = archive.open(f"xl/worksheets/sheet{len(sheet_names)}.xml", mode="w")
        handle.write(_sheet_start(header_cells, len(header)).encode())
        return handle

    for row in rows:
        if row_number >= max_rows or sheet_bytes >= XLSX_MAX_SHEET_BYTES:
            if entry is not None:
                entry.write(("".join(pending) + _SHEET_END).encode())
                pending, pending_size = [], 0
                entry.close()
            entry = open_sheet()
            row_number, sheet_bytes = 1, 0
        row_number += 1
        cells = "".join([write(value, row_number) for write, value in zip(writers, row, strict=True)])
        line = f'<row r="{row_number}">{cells}</row>'
        pending.append(line)
        pending_size += len(line)
        if pending_size >= STREAM_CHUNK_BYTES:
            sheet_bytes += entry.write("".join(pending).encode())
            pending, pending_size = [], 0
            if sink.size >= STREAM_CHUNK_BYTES:
                yield sink.take()
    if entry is None:
        entry = open_sheet()
    entry.write(("".join(pending) + _SHEET_END).encode())
    entry.close()
    for name, text in _workbook_parts(sheet_names).items():
        archive.writestr(name, text)
    archive.close()
    yield sink.take()


# --- the response ------------------------------------------------------------------------


def export_format_of(request: HttpRequest) -> str:
    """The format asked for (`?format=csv|xlsx`); 404 for any other."""
    export_format = request.GET.get("format", "")
    if export_format not in EXPORT_FORMATS:
        raise Http404("Export as ?format=csv or ?format=xlsx.")
    return export_format


def list_filters(request: HttpRequest) -> QueryDict:
    """The list page's query string without what only the export or the paging reads:
    the same data binds the same filters as on the page."""
    data = request.GET.copy()
    data.pop("format", None)
    data.pop("page", None)
    return data


def _attachment(content: Iterator, *, export_format: str, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(content, content_type=CONTENT_TYPES[export_format])
    response["Content-Disposition"] = content_disposition_header(True, filename)
    # Rows only this user may read: no shared cache keeps a copy.
    response["Cache-Control"] = "private, no-store"
    return response


def export_response(
    queryset: QuerySet, *, columns: Sequence[Column], export_format: str, name: str
) -> StreamingHttpResponse:
    """Stream `queryset`'s rows as `columns` in `export_format`, as the attachment
    "<name>-<the user's today>.<format>". Nothing is read before the response streams."""
    zone = timezone.get_current_timezone()
    filename = f"{name}-{timezone.localdate():%Y-%m-%d}.{export_format}"
    header = [col.header for col in columns]
    kinds = [col.kind for col in columns]
    rows = export_rows(queryset, columns)
    if export_format == CSV:
        content: Iterator = csv_chunks(header, rows, kinds=kinds, zone=zone, bom=True)
    else:
        content = xlsx_chunks(header, rows, kinds=kinds, sheet_title=name.replace("-", " ").capitalize(), zone=zone)
    return _attachment(content, export_format=export_format, filename=filename)
