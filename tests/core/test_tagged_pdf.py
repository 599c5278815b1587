"""Every PDF is tagged: title shown, language, a structure tree in reading order, and
nothing drawn outside it (lines, fills and the footer are artifacts)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from app.core.documents import tables
from app.core.documents.pdf import StemmaPDF
from app.core.i18n import locale_scope
from app.domain.models import Election
from tests.pdf_tags import read_tagged


def test_a_document_has_its_title_language_and_paragraphs_in_order() -> None:
    with locale_scope("da"):
        pdf = StemmaPDF(running_text="Footer")
        pdf.set_title("Brev")
        pdf.add_page()
        pdf.text_line("Overskrift", 20, "B", role="H1")
        long_text = " ".join(f"ord{n}" for n in range(1500))
        pdf.paragraph(long_text)  # three pages: broken between pages, never inside a tag
        pdf.line(10, 10, 100, 10)
        pdf.text_line("Slut", 11)
        body = bytes(pdf.output())
    tagged = read_tagged(body)
    assert tagged.lang == "da" and tagged.title == "Brev"
    roles = [role for role, _text, _lang in tagged.leaves]
    assert roles[0] == "H1" and roles[-1] == "P" and set(roles) == {"H1", "P"}
    assert tagged.texts("H1") == ["Overskrift"]
    # The paragraph is continued on each page it reaches, its words in order.
    continued = " ".join(tagged.texts("P")[:-1]).split()
    assert continued == long_text.split()
    assert len(tagged.texts("P")) > 2
    assert tagged.texts("P")[-1] == "Slut"
    # The footer ("Footer", "Side 1 af 3") is an artifact: not in the tree.
    assert not any("Footer" in text for _role, text, _lang in tagged.leaves)


def test_a_report_table_is_a_table_with_its_headings_read_once() -> None:
    rows = [[f"Lokal {n}", f"Person {n}", Decimal(n)] for n in range(80)]
    table = tables.ReportTable(
        "staff",
        "Personal per lokal",
        [tables.Column("Lokal"), tables.Column("Namn"), tables.Column("Timmar", numeric=True)],
        rows,
        totals=["Summa", "", Decimal(3160)],
    )
    more = tables.ReportTable("more", "Reserver", [tables.Column("Namn")], [["Karin"]])
    election = Election(name="Kommunval 2030", kind="municipal", election_day=dt.date(2030, 9, 8))
    with locale_scope("sv"):
        body = tables.write_report_pdf(
            table, "Lunds kommun", election, more, timezone="Europe/Stockholm"
        )
    tagged = read_tagged(body)
    assert tagged.lang == "sv" and tagged.title == "Personal per lokal – Kommunval 2030"
    assert tagged.texts("H1") == ["Personal per lokal"]
    assert tagged.texts("H2") == ["Reserver"]
    assert tagged.roles.count("Table") == 2
    # The headings are drawn on every page but read once per table.
    assert tagged.pages >= 2
    assert tagged.texts("TH") == ["Lokal", "Namn", "Timmar", "Namn"]
    cells = tagged.texts("TD")
    assert cells[:3] == ["Lokal 0", "Person 0", "0"]
    assert cells[-4:-1] == ["Summa", "", "3\xa0160"]
    assert cells[-1] == "Karin"
    # Each row is a TR: 1 + 80 + 1 in the first table, 1 + 1 in the second.
    assert tagged.roles.count("TR") == 84
