import io

import pytest
from openpyxl import Workbook

from app.core.documents.spreadsheets import (
    MAX_UPLOAD_BYTES,
    SpreadsheetError,
    neutralise,
    read_table,
    write_csv,
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
