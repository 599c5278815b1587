"""Report tables written as Excel and PDF, values shown as a reader expects them, and
text the standard PDF fonts can draw."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from openpyxl import load_workbook
from pypdf import PdfReader

from app.core.documents import pdf, tables
from app.core.i18n import locale_scope
from app.core.models import Tenant
from app.domain.models import Election


def page_texts(body: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(body)).pages]


def test_it_writes_a_report_table_to_excel_and_pdf() -> None:
    table = tables.ReportTable(
        "staff",
        "Personal per lokal",
        [tables.Column("Lokal"), tables.Column("Namn"), tables.Column("Timmar", numeric=True)],
        [
            ["Stadshuset", "Åsa Öberg", Decimal("7.50")],
            ["Stadshuset", "=Erik Holm", 7],
            ["Biblioteket", "Łukasz Nowak", None],
        ],
        totals=["Summa", "", Decimal("14.50")],
        group_column=0,
    )
    workbook = load_workbook(io.BytesIO(tables.write_report_xlsx(table)))
    values = [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    assert workbook.worksheets[0].title == "Personal per lokal"
    assert values == [
        ["Lokal", "Namn", "Timmar"],
        ["Stadshuset", "Åsa Öberg", 7.5],
        ["Stadshuset", "=Erik Holm", 7],  # a text cell: shown as written, never run
        ["Biblioteket", "Łukasz Nowak", None],
        ["Summa", None, 14.5],
    ]
    assert workbook.worksheets[0]["B3"].data_type == "s"
    election = Election(name="Kommunval 2030", kind="municipal", election_day=dt.date(2030, 9, 8))
    with locale_scope("sv"):
        body = tables.write_report_pdf(table, "Lunds kommun", election, timezone="Europe/Stockholm")
    assert body.startswith(b"%PDF")
    text = "\n".join(page_texts(body))
    assert "Personal per lokal" in text and "Lunds kommun" in text and "Kommunval 2030" in text
    assert "Åsa Öberg" in text and "=Erik Holm" in text and "Lukasz Nowak" in text
    assert "7,50" in text  # the reader's decimal comma
    # Grouped: each station once, as a heading above its rows.
    assert text.count("Stadshuset") == 1 and text.index("Stadshuset") < text.index("Biblioteket")


def test_the_printed_date_is_the_municipalitys() -> None:
    """At 00:30 in Stockholm the server's (UTC) date is still the day before: the PDF
    says it was printed on the municipality's date."""
    table = tables.ReportTable("staff", "Personal", [tables.Column("Lokal")], [["Stadshuset"]])
    election = Election(name="Kommunval 2030", kind="municipal", election_day=dt.date(2030, 9, 8))
    now = dt.datetime(2030, 3, 1, 23, 30, tzinfo=dt.UTC)  # 2 March 00:30 in Stockholm
    with locale_scope("sv"):
        body = tables.write_report_pdf(
            table, "Lunds kommun", election, timezone="Europe/Stockholm", now=now
        )
        text = " ".join(page_texts(body))
        assert f"utskrivet {tables.display(dt.date(2030, 3, 2))}" in text, text


def test_it_draws_what_the_standard_fonts_can_and_replaces_the_rest() -> None:
    assert pdf.pdf_text("Åsa Öberg, Søren Ærø – “quoted” €") == (
        "Åsa Öberg, Søren Ærø – “quoted” €"
    )
    assert pdf.pdf_text("Łukasz Gărdăreanu") == "Lukasz Gardareanu"
    assert pdf.pdf_text("محمد\u200f Ali\x07") == "???? Ali"


async def test_it_formats_report_values_for_the_reader(tenant: Tenant) -> None:
    with locale_scope("sv"):
        assert tables.display(Decimal("12260.00")) == "12\xa0260"
        assert tables.display(None) == ""
    with locale_scope("en"):
        assert tables.display(Decimal("8.50")) == "8.50"
