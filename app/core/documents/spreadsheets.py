"""Reading and writing CSV and XLSX: size limits, header aliases, formula-safe cells."""

from __future__ import annotations

import asyncio
import codecs
import contextvars
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from itertools import chain, islice
from typing import Any

import xlsxwriter
from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from app.core.errors import DomainError
from app.core.i18n import _

# Limits a real register never reaches and a hostile file cannot pass. The largest
# real register is a city's: some 15,000 people, a dozen or two columns, short cells.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
#: Rows below the header that hold something.
MAX_ROWS = 20_000
#: Rows read at all, empty ones included, before the file is refused.
MAX_SCANNED_ROWS = 100_000
MAX_COLUMNS = 50
MAX_CELL_CHARS = 2_000
#: An Excel file is a zip archive of XML parts: its parts' size unpacked, and how many.
MAX_XLSX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_XLSX_PARTS = 500
#: A cell starting with one of these is a formula to Excel and LibreOffice.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


#: Reading and writing the large files: two at a time, off the event loop, so the
#: process keeps answering while a big import or export is built and the memory they
#: take stays bounded however many are asked for at once.
_WORKERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="spreadsheets")


class SpreadsheetError(DomainError):
    pass


async def in_worker_thread[**P, T](
    function: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """``function(*args, **kwargs)`` in a spreadsheet worker thread, with the caller's
    context (its locale, its tenant), while the event loop answers other requests."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(
        _WORKERS, lambda: context.run(function, *args, **kwargs)
    )


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


#: Rows looked at to choose the columns' widths, and the widths' bounds (in characters).
WIDTH_SAMPLE_ROWS = 200
MIN_COLUMN_WIDTH = 6
MAX_COLUMN_WIDTH = 50


#: How Excel shows the moments and days written (it keeps them as numbers).
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
TIME_FORMAT = "hh:mm"


#: One sheet of a workbook: its title, header and rows.
Sheet = tuple[str, Sequence[str], Iterable[Sequence[Any]]]


def write_xlsx(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    return write_xlsx_sheets([(title, header, rows)])


def write_xlsx_sheets(sheets: Sequence[Sheet]) -> bytes:
    """A workbook with one sheet per (title, header, rows), in that order: each with its
    header row frozen and filters on its columns, the columns as wide as their text.

    Written by XlsxWriter, made for writing only: twice as fast as openpyxl's write-only
    workbook for a city's payroll file (9,000 lines). Text is written as text, never
    read as a formula, a number or a link, so it needs no apostrophe (that is CSV's
    guard, where every cell is read anew): "+46 70 174 06 44" is shown as written."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    formats = _Formats(workbook)
    titles: set[str] = set()
    for title, header, rows in sheets:
        name = _unique_title(_sheet_title(title) or "Sheet", titles)
        _write_sheet(workbook.add_worksheet(name), formats, header, rows)
    workbook.close()
    return buffer.getvalue()


def _unique_title(title: str, taken: set[str]) -> str:
    """Excel refuses two sheets of one name (in any case): the second gets a number."""
    found, number = title, 0
    while found.lower() in taken:
        number += 1
        found = f"{title[: 31 - len(str(number))]}{number}"
    taken.add(found.lower())
    return found


class _Formats:
    def __init__(self, workbook: Any) -> None:
        self.moment = workbook.add_format({"num_format": DATETIME_FORMAT})
        self.day = workbook.add_format({"num_format": DATE_FORMAT})
        self.time = workbook.add_format({"num_format": TIME_FORMAT})


def _write_cell(sheet: Any, formats: _Formats, row: int, column: int, value: Any) -> None:
    if value is None or value == "":
        return
    if isinstance(value, str):
        sheet.write_string(row, column, ILLEGAL_CHARACTERS_RE.sub("", value))
    elif isinstance(value, bool):
        sheet.write_boolean(row, column, value)
    elif isinstance(value, dt.datetime):
        # Excel has no time zones: the wall-clock time in the zone the value is given in.
        sheet.write_datetime(row, column, value.replace(tzinfo=None), formats.moment)
    elif isinstance(value, dt.date):
        sheet.write_datetime(row, column, value, formats.day)
    elif isinstance(value, dt.time):
        sheet.write_datetime(row, column, value.replace(tzinfo=None), formats.time)
    elif isinstance(value, int | float | Decimal):
        sheet.write_number(row, column, value)
    else:
        sheet.write_string(row, column, ILLEGAL_CHARACTERS_RE.sub("", str(value)))


def _write_sheet(
    sheet: Any, formats: _Formats, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    remaining = iter(rows)
    sample = list(islice(remaining, WIDTH_SAMPLE_ROWS))
    for index, width in enumerate(_column_widths(header, sample)):
        sheet.set_column(index, index, width)
    sheet.freeze_panes(1, 0)
    for column, value in enumerate(header):
        _write_cell(sheet, formats, 0, column, value)
    count = 0
    for count, row in enumerate(chain(sample, remaining), start=1):
        for column, value in enumerate(row):
            _write_cell(sheet, formats, count, column, value)
    if header:
        sheet.autofilter(0, 0, count, len(header) - 1)


def _column_widths(header: Sequence[str], sample: Sequence[Sequence[Any]]) -> list[int]:
    """Each column's width: its longest text among the header and the sample rows, a
    little room for the filter button, within bounds."""
    columns = max([len(header), *(len(row) for row in sample)], default=0)
    widths = []
    for index in range(columns):
        texts = [header[index] if index < len(header) else ""] + [
            row[index] for row in sample if index < len(row)
        ]
        longest = max(len(_shown(value)) for value in texts)
        widths.append(min(MAX_COLUMN_WIDTH, max(MIN_COLUMN_WIDTH, longest + 3)))
    return widths


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return "2026-01-01 00:00"
    return str(value)


def _sheet_title(title: str) -> str:
    """A title Excel accepts: at most 31 characters, none of [ ] : * ? / \\."""
    return re.sub(r"[\[\]:*?/\\]", " ", title)[:31]


def read_table(filename: str, content: bytes) -> list[dict[str, Any]]:
    """Rows of a CSV or XLSX file as dicts keyed by the header (lower-cased).

    Raises SpreadsheetError for a file that is too large (in bytes, rows, columns, a
    cell, or an Excel file's unpacked parts), not CSV/XLSX, unreadable or empty; the
    message names what was too large and the limit. Pure CPU work, seconds for the
    largest file: an async caller runs it in a worker thread (``read_fields_off_loop``).
    """
    if len(content) > MAX_UPLOAD_BYTES:
        raise SpreadsheetError(
            _("The file is larger than %(size)s MB.", size=MAX_UPLOAD_BYTES // 2**20), "file"
        )
    name = filename.lower()
    if name.endswith(".xlsx") and content[:2] == b"PK":
        rows = _bounded_rows(_xlsx_rows(content))
    elif name.endswith((".csv", ".txt")):
        rows = _bounded_rows(_csv_rows(content))
    else:
        raise SpreadsheetError(_("Choose a CSV or Excel (.xlsx) file."), "file")
    if len(rows) < 2:
        raise SpreadsheetError(_("The file has no rows below its header."), "file")
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
            text = "" if value is None else str(value).strip()
            if text.startswith("'") and text[1:2] in FORMULA_PREFIXES:
                # The guard a CSV export puts before "+46 70…" is no part of the value.
                text = text[1:]
            values[name] = text
    return values


def _bounded_rows(rows: Iterator[Sequence[Any]]) -> list[list[Any]]:
    """The rows that hold something, read one at a time and refused the moment the file
    passes a limit, so a huge file is never read whole."""
    kept: list[list[Any]] = []
    for scanned, row in enumerate(rows, start=1):
        if scanned > MAX_SCANNED_ROWS:
            raise SpreadsheetError(
                _(
                    "The file has more than %(count)s rows, empty ones included.",
                    count=MAX_SCANNED_ROWS,
                ),
                "file",
            )
        if not any(str(cell or "").strip() for cell in row):
            continue
        if len(kept) > MAX_ROWS:  # the header and MAX_ROWS rows below it are kept already
            raise SpreadsheetError(
                _("The file has more than %(count)s rows.", count=MAX_ROWS), "file"
            )
        kept.append(_checked_row(row, scanned))
    return kept


def _checked_row(row: Sequence[Any], number: int) -> list[Any]:
    """The row without its empty cells past the last full one; refuses a row wider
    than MAX_COLUMNS or a cell longer than MAX_CELL_CHARS."""
    width = len(row)
    while width and (row[width - 1] is None or row[width - 1] == ""):
        width -= 1
    if width > MAX_COLUMNS:
        raise SpreadsheetError(
            _("The file has more than %(count)s columns.", count=MAX_COLUMNS), "file"
        )
    for index in range(width):
        value = row[index]
        if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
            raise SpreadsheetError(
                _(
                    "Row %(row)s, column %(column)s holds more than %(count)s characters.",
                    row=number,
                    column=get_column_letter(index + 1),
                    count=MAX_CELL_CHARS,
                ),
                "file",
            )
    return list(row[:width])


def _csv_text(content: bytes) -> str:
    """The file's text: UTF-8 (with or without a byte-order mark), UTF-16 (Excel's
    "Unicode text"; with a byte-order mark, or without one when its zero bytes say which
    order) or else Windows-1252, as Excel writes "CSV" on Windows."""
    if content.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = _utf16_without_mark(content) or "utf-8"
    try:
        text = content.decode(encoding)
    except UnicodeDecodeError:
        if encoding != "utf-8":
            raise SpreadsheetError(_unreadable_text(), "file") from None
        # Every byte is a character in Windows-1252 but five, which cannot be in a file
        # Excel wrote; they become the replacement character the checks then refuse.
        text = content.decode("cp1252", errors="replace")
    if "\x00" in text:
        # A binary file named .csv, or text in an encoding we do not read.
        raise SpreadsheetError(_unreadable_text(), "file")
    return text


def _unreadable_text() -> str:
    return _("The file's text could not be read: save it as “CSV UTF-8” and try again.")


def _utf16_without_mark(content: bytes) -> str | None:
    """UTF-16 without a byte-order mark: in text of Latin letters every other byte is
    zero, the first of each pair in big-endian order, the second in little-endian."""
    sample = content[:4096]
    if len(sample) < 2 or b"\x00" not in sample:
        return None
    even_zeros = sample[0::2].count(0)
    odd_zeros = sample[1::2].count(0)
    pairs = len(sample) // 2
    if odd_zeros > pairs * 0.6 and even_zeros == 0:
        return "utf-16-le"
    if even_zeros > pairs * 0.6 and odd_zeros == 0:
        return "utf-16-be"
    return None


def _csv_rows(content: bytes) -> Iterator[list[str]]:
    text = _csv_text(content)
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=";,\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            raise SpreadsheetError(_("The CSV file could not be read."), "file") from None
        yield row


def _xlsx_rows(content: bytes) -> Iterator[list[Any]]:
    _check_archive(content)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except Exception:  # openpyxl raises many kinds for a broken file
        raise SpreadsheetError(_("The Excel file could not be read."), "file") from None
    try:
        if isinstance(sheet, ReadOnlyWorksheet):
            # The size the file claims is not trusted: a sheet claiming 16,384 columns
            # would have every row padded to them.
            sheet.reset_dimensions()
        values = sheet.iter_rows(values_only=True)
        while True:
            try:
                row = next(values)
            except StopIteration:
                return
            except Exception:
                raise SpreadsheetError(_("The Excel file could not be read."), "file") from None
            yield [_cell(value) for value in row]
    finally:
        workbook.close()


def _check_archive(content: bytes) -> None:
    """Refuse an Excel file whose parts unpack to more than MAX_XLSX_UNPACKED_BYTES, or
    that has more than MAX_XLSX_PARTS of them, before openpyxl opens it. The sizes are
    the ones the archive declares; Python's zipfile never unpacks more than an entry
    declares (it stops there and the checksum fails), so a file cannot lie past this."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise SpreadsheetError(_("The Excel file could not be read."), "file") from None
    if len(parts) > MAX_XLSX_PARTS:
        raise SpreadsheetError(
            _("The Excel file has more than %(count)s parts.", count=MAX_XLSX_PARTS), "file"
        )
    if sum(part.file_size for part in parts) > MAX_XLSX_UNPACKED_BYTES:
        raise SpreadsheetError(
            _(
                "The Excel file unpacks to more than %(size)s MB.",
                size=MAX_XLSX_UNPACKED_BYTES // 2**20,
            ),
            "file",
        )


def _cell(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date()
    return value
