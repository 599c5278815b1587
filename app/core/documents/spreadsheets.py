"""Reading and writing CSV and XLSX: size limits, header aliases, formula-safe cells."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from app.core.errors import DomainError
from app.core.i18n import _

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
#: A cell starting with one of these is a formula to Excel and LibreOffice.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class SpreadsheetError(DomainError):
    pass


def neutralise(value: Any) -> Any:
    """Keep exported text from being run as a formula when the file is opened, and
    drop control characters that Excel files cannot hold."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value.startswith(FORMULA_PREFIXES):
            return "'" + value
    return value


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        # To the minute, with its offset when it has one: "2026-09-13 07:40+02:00".
        return value.isoformat(sep=" ", timespec="minutes")
    return neutralise(value)


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    # A byte-order mark makes Excel read UTF-8 (å, ä, ö) correctly.
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_value(value) for value in row])
    return buffer.getvalue().encode("utf-8")


def _excel_value(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        # Excel has no time zones: the wall-clock time in the zone the value is given in.
        return value.replace(tzinfo=None)
    return neutralise(value)


#: One sheet of a workbook: its title, header and rows.
Sheet = tuple[str, Sequence[str], Iterable[Sequence[Any]]]


def write_xlsx(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    return write_xlsx_sheets([(title, header, rows)])


def write_xlsx_sheets(sheets: Sequence[Sheet]) -> bytes:
    """A workbook with one sheet per (title, header, rows), in that order."""
    workbook = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = workbook.create_sheet(_sheet_title(title))
        sheet.append(list(header))
        for row in rows:
            sheet.append([_excel_value(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet_title(title: str) -> str:
    """A title Excel accepts: at most 31 characters, none of [ ] : * ? / \\."""
    return re.sub(r"[\[\]:*?/\\]", " ", title)[:31]


def read_table(filename: str, content: bytes) -> list[dict[str, Any]]:
    """Rows of a CSV or XLSX file as dicts keyed by the header (lower-cased).

    Raises SpreadsheetError for a file that is too large, not CSV/XLSX, or empty.
    """
    if len(content) > MAX_UPLOAD_BYTES:
        raise SpreadsheetError(
            _("The file is larger than %(size)s MB.", size=MAX_UPLOAD_BYTES // 2**20), "file"
        )
    name = filename.lower()
    if name.endswith(".xlsx") and content[:2] == b"PK":
        rows = _read_xlsx(content)
    elif name.endswith((".csv", ".txt")):
        rows = _read_csv(content)
    else:
        raise SpreadsheetError(_("Choose a CSV or Excel (.xlsx) file."), "file")
    rows = [row for row in rows if any(str(cell or "").strip() for cell in row)]
    if len(rows) < 2:
        raise SpreadsheetError(_("The file has no rows below its header."), "file")
    if len(rows) > MAX_ROWS + 1:
        raise SpreadsheetError(_("The file has more than %(count)s rows.", count=MAX_ROWS), "file")
    header = [str(cell or "").strip().lower() for cell in rows[0]]
    return [
        {
            header[index]: cell
            for index, cell in enumerate(row)
            if index < len(header) and header[index]
        }
        for row in rows[1:]
    ]


def read_fields(
    filename: str, content: bytes, aliases: Mapping[str, Sequence[str]]
) -> list[dict[str, str]]:
    """Rows of a CSV or XLSX file keyed by field name instead of by header.

    ``aliases`` names each field's accepted headers (lower-case, in every language the
    file may come in); a column whose header is none of them is left out, and of two
    columns for one field the first counts. Values are text: stripped, a date in ISO
    form, an empty cell "". Raises SpreadsheetError as ``read_table`` does.
    """
    field_of = {alias: name for name, names in aliases.items() for alias in names}
    return [_field_values(row, field_of) for row in read_table(filename, content)]


def _field_values(row: Mapping[str, Any], field_of: Mapping[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in row.items():
        name = field_of.get(str(key).strip().lower())
        if name and name not in values:
            if isinstance(value, dt.date | dt.datetime):
                value = value.isoformat()
            values[name] = "" if value is None else str(value).strip()
    return values


def _read_csv(content: bytes) -> list[list[Any]]:
    if content[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = content.decode("utf-16")  # Excel's "Unicode text"
    else:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = content.decode("cp1252", errors="replace")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=";,\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return [list(row) for row in csv.reader(io.StringIO(text), dialect)]
    except csv.Error:
        raise SpreadsheetError(_("The CSV file could not be read."), "file") from None


def _read_xlsx(content: bytes) -> list[list[Any]]:
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a broken file
        raise SpreadsheetError(_("The Excel file could not be read."), "file") from None
    sheet = workbook.worksheets[0]
    rows = []
    for row in sheet.iter_rows(values_only=True):
        rows.append([_cell(value) for value in row])
        if len(rows) > MAX_ROWS + 1:
            break
    workbook.close()
    return rows


def _cell(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date()
    return value
