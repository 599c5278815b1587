import codecs
import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from app.core.documents.spreadsheets import (
    MAX_UPLOAD_BYTES,
    SpreadsheetError,
    neutralise,
    read_fields,
    read_table,
    write_csv,
    write_xlsx,
)


def test_it_reads_csv_with_either_separator_and_excel_files() -> None:
    assert read_table("a.csv", "Förnamn;Efternamn\nÅsa;Öberg\n".encode()) == [
        {"förnamn": "Åsa", "efternamn": "Öberg"}
    ]
    assert read_table("a.csv", b"first_name,last_name\nAsa,Berg\n") == [
        {"first_name": "Asa", "last_name": "Berg"}
    ]
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Personnummer", "Kapacitet"])
    sheet.append([199001010017, 40])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert read_table("a.xlsx", buffer.getvalue()) == [
        {"personnummer": 199001010017, "kapacitet": 40}
    ]


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("a.pdf", b"%PDF-1.4", "CSV or Excel"),
        ("a.xlsx", b"not a zip at all", "CSV or Excel"),
        ("a.xlsx", b"PK\x03\x04broken", "could not be read"),
        ("a.csv", b"only;a;header\n", "no rows below"),
        ("a.csv", b"x" * (MAX_UPLOAD_BYTES + 1), "larger than"),
    ],
)
def test_it_refuses_files_it_cannot_use(filename: str, content: bytes, message: str) -> None:
    from app.core.i18n import locale_scope

    with locale_scope("en"), pytest.raises(SpreadsheetError, match=message):
        read_table(filename, content)


def test_it_neutralises_formula_cells() -> None:
    assert [neutralise(v) for v in ("=1+1", "+46", "-2", "@x", "ok", 5)] == [
        "'=1+1",
        "'+46",
        "'-2",
        "'@x",
        "ok",
        5,
    ]
    assert "'=cmd" in write_csv(["a"], [["=cmd"]]).decode("utf-8")
    assert "'+46 70 174 06 44" in write_csv(["a"], [["+46 70 174 06 44"]]).decode("utf-8")


def test_an_excel_file_holds_text_cells_without_an_apostrophe() -> None:
    """Formula safety in XLSX is the cell's type, not a visible apostrophe."""
    body = write_xlsx("people", ["Name", "Mobile", "Count"], [["=cmd", "+46 70 174 06 44", 3]])
    sheet = load_workbook(io.BytesIO(body)).worksheets[0]
    assert [cell.value for cell in sheet[2]] == ["=cmd", "+46 70 174 06 44", 3]
    assert [cell.data_type for cell in sheet[2]] == ["s", "s", "n"]
    # Not a formula in the file either: an inline string, no <f> element.
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "'+46" not in xml


def test_an_excel_file_has_a_frozen_header_filters_and_widths() -> None:
    rows = [["Åsa", "Öberg", "a-rather-long-address@example.org"], ["Bo", "Ek", ""]]
    body = write_xlsx("people", ["First name", "Last name", "Email"], rows)
    sheet = load_workbook(io.BytesIO(body)).worksheets[0]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:C3"
    widths = {key: dimension.width for key, dimension in sheet.column_dimensions.items()}
    assert widths["C"] > widths["B"] >= 6
    # Kept as Excel keeps a width: the characters shown and the font's padding (36.71
    # for 36 characters).
    assert int(widths["C"]) == len("a-rather-long-address@example.org") + 3


def test_it_reads_excels_unicode_text_and_refuses_a_runaway_field() -> None:
    assert read_table("a.csv", "namn\tort\nÅsa\tLund\n".encode("utf-16")) == [
        {"namn": "Åsa", "ort": "Lund"}
    ]
    with pytest.raises(SpreadsheetError):
        read_table("a.csv", b'a;b\n"' + b"x" * 200_000 + b'";1\n')


def test_it_sorts_nordic_letters_after_z() -> None:
    from app.core.i18n import collation_key

    names = ["Ängenskolan", "Åsenskolan", "Zorngården", "Öbacka", "Ekbacken", "Élysée"]
    assert sorted(names, key=lambda n: collation_key(n, "sv")) == [
        "Ekbacken",
        "Élysée",
        "Zorngården",
        "Åsenskolan",
        "Ängenskolan",
        "Öbacka",
    ]
    assert sorted(["Åby", "Æble", "Øster"], key=lambda n: collation_key(n, "da")) == [
        "Æble",
        "Øster",
        "Åby",
    ]


# --- limits: a real register passes, a hostile file is refused before it is read whole ---


def _csv(rows: list[list[str]]) -> bytes:
    return "\n".join(";".join(row) for row in rows).encode("utf-8")


def _refusal(filename: str, content: bytes) -> str:
    from app.core.i18n import locale_scope

    with locale_scope("en"), pytest.raises(SpreadsheetError) as refused:
        read_table(filename, content)
    assert refused.value.field == "file"
    return refused.value.message


def test_it_takes_a_city_sized_register_and_refuses_one_row_more() -> None:
    header = [["first_name", "last_name"]]
    rows = [[f"Anna{n}", "Ek"] for n in range(20_000)]
    assert len(read_table("a.csv", _csv(header + rows))) == 20_000
    assert _refusal("a.csv", _csv([*header, *rows, ["Bo", "Al"]])) == (
        "The file has more than 20000 rows."
    )


def test_it_refuses_too_many_columns_and_a_long_cell_naming_the_limit() -> None:
    assert len(read_table("a.csv", _csv([[f"c{n}" for n in range(50)], ["x"] * 50]))[0]) == 50
    assert _refusal("a.csv", _csv([[f"c{n}" for n in range(51)], ["x"] * 51])) == (
        "The file has more than 50 columns."
    )
    assert read_table("a.csv", _csv([["a", "b"], ["x" * 2000, "1"]]))[0]["a"] == "x" * 2000
    assert _refusal("a.csv", _csv([["a", "b"], ["1", "x" * 2001]])) == (
        "Row 2, column B holds more than 2000 characters."
    )
    # Thousands of empty lines are not a register either.
    assert _refusal("a.csv", b"a;b\n" + b";\n" * 100_000 + b"1;2\n") == (
        "The file has more than 100000 rows, empty ones included."
    )


def test_it_refuses_a_wide_excel_sheet_and_a_long_cell_in_one() -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in range(5):
        sheet.append([f"{row}-{column}" for column in range(1_000)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert _refusal("a.xlsx", buffer.getvalue()) == "The file has more than 50 columns."

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["namn", "anteckning"])
    sheet.append(["Åsa", "x" * 5_000])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert _refusal("a.xlsx", buffer.getvalue()) == (
        "Row 2, column B holds more than 2000 characters."
    )


def _with_extra_parts(parts: dict[str, bytes]) -> bytes:
    """A good workbook with more parts in its archive."""
    import zipfile

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["namn"])
    sheet.append(["Åsa"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_it_refuses_an_excel_file_that_unpacks_too_large_before_reading_it() -> None:
    # 65 MB of one letter packs into some 64 kB: a cell like it took the server to 903 MB.
    bomb = _with_extra_parts({"xl/media/padding.bin": b"x" * (65 * 2**20)})
    assert len(bomb) < 200_000
    assert _refusal("a.xlsx", bomb) == "The Excel file unpacks to more than 64 MB."
    many = _with_extra_parts({f"xl/media/{n}.bin": b"" for n in range(500)})
    assert _refusal("a.xlsx", many) == "The Excel file has more than 500 parts."
    assert read_table("a.xlsx", _with_extra_parts({"xl/media/a.bin": b"x"})) == [{"namn": "Åsa"}]


@pytest.mark.parametrize(
    "content",
    [
        "namn;ort\r\nÅsa;Lund\r\n".encode(),
        "namn;ort\r\nÅsa;Lund\r\n".encode("utf-8-sig"),
        "namn;ort\r\nÅsa;Lund\r\n".encode("utf-16"),
        codecs.BOM_UTF16_BE + "namn;ort\r\nÅsa;Lund\r\n".encode("utf-16-be"),
        "namn;ort\nÅsa;Lund\n".encode("utf-16-le"),  # no byte-order mark
        "namn;ort\nÅsa;Lund\n".encode("utf-16-be"),
        "namn;ort\r\nÅsa;Lund\r\n".encode("cp1252"),  # Excel's "CSV" on Windows
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-bom", "utf-16-be-bom", "utf-16-le", "utf-16-be", "cp1252"],
)
def test_it_reads_the_encodings_excel_writes(content: bytes) -> None:
    assert read_table("a.csv", content) == [{"namn": "Åsa", "ort": "Lund"}]


@pytest.mark.parametrize(
    "content",
    [
        "namn;ort\r\nÅsa;Lund\r\n".encode("utf-16")[:-1],  # cut off mid-character
        codecs.BOM_UTF16_LE + b"n\x00\x00\xd8",  # half a surrogate pair
        b"namn;ort\nA\x00sa;Lund\n",  # a zero byte is not text
    ],
    ids=["utf-16-cut", "utf-16-lone-surrogate", "zero-byte"],
)
def test_it_refuses_text_it_cannot_read_with_a_message(content: bytes) -> None:
    assert _refusal("a.csv", content).startswith("The file's text could not be read")


def test_an_excel_part_that_lies_about_its_size_is_never_unpacked_past_it() -> None:
    """The limit counts the sizes the archive declares; a part declaring less than it
    holds is cut there and fails its checksum, so the file is refused unread."""
    import struct
    import zipfile

    content = bytearray(_with_extra_parts({}))
    archive = zipfile.ZipFile(io.BytesIO(bytes(content)))
    sheet = archive.getinfo("xl/worksheets/sheet1.xml")
    central = content.find(b"PK\x01\x02")
    while content[central + 46 : central + 46 + len(sheet.filename)] != sheet.filename.encode():
        central = content.find(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", content, sheet.header_offset + 22, 10)  # local header
    struct.pack_into("<I", content, central + 24, 10)  # central directory
    assert _refusal("a.xlsx", bytes(content)) == "The Excel file could not be read."


def test_the_csv_guard_is_no_part_of_a_value_read_back() -> None:
    """An exported CSV file imports again: "'+46 70…" reads as "+46 70…"."""
    exported = write_csv(["mobil", "namn"], [["+46 70 174 06 44", "O'Brien"]])
    assert read_fields("a.csv", exported, {"mobile": ["mobil"], "name": ["namn"]}) == [
        {"mobile": "+46 70 174 06 44", "name": "O'Brien"}
    ]
