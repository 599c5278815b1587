"""Address labels on A4 sheets: each layout fits the sheet, every address lands inside
its label, row by row and sheet by sheet, and the document is tagged."""

from __future__ import annotations

import io
import math

import pytest
from pypdf import PdfReader

from app.core.documents.label_sheets import A4_HEIGHT, A4_WIDTH, LAYOUTS, write_labels_pdf
from tests.pdf_tags import read_tagged

POINT = 25.4 / 72  # mm per PDF point


def _addresses(count: int) -> list[list[str]]:
    return [[f"Person {n}", f"Storgatan {n}", "222 22 Lund"] for n in range(count)]


def _names_at(body: bytes) -> list[list[tuple[str, float, float]]]:
    """Per page, each drawn name ("Person n") with its position in mm from the top left."""
    pages = []
    for page in PdfReader(io.BytesIO(body)).pages:
        found: list[tuple[str, float, float]] = []

        def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
            if text.startswith("Person"):
                x, y = tm[4] * POINT, A4_HEIGHT - tm[5] * POINT
                found.append((text.strip(), x, y))  # noqa: B023 - read at once

        page.extract_text(visitor_text=visit)
        pages.append(found)
    return pages


@pytest.mark.parametrize("key", list(LAYOUTS))
def test_every_layout_fits_an_a4_sheet(key: str) -> None:
    layout = LAYOUTS[key]
    right = layout.left + (layout.columns - 1) * layout.pitch_x + layout.width
    bottom = layout.top + (layout.rows - 1) * layout.pitch_y + layout.height
    assert layout.left >= 0 and right <= A4_WIDTH + 0.01
    assert layout.top >= 0 and bottom <= A4_HEIGHT + 0.01
    # Labels never overlap.
    assert layout.pitch_x >= layout.width and layout.pitch_y >= layout.height


def test_the_common_layouts_are_there() -> None:
    assert (LAYOUTS["3x8"].per_sheet, LAYOUTS["3x8"].width, LAYOUTS["3x8"].height) == (24, 70, 37)
    assert (LAYOUTS["2x7"].per_sheet, LAYOUTS["2x7"].width, LAYOUTS["2x7"].height) == (
        14,
        99.1,
        38.1,
    )


@pytest.mark.parametrize("key", ["3x8", "2x7"])
def test_each_address_is_printed_inside_its_label_row_by_row(key: str) -> None:
    layout = LAYOUTS[key]
    count = layout.per_sheet + 5
    body = write_labels_pdf(_addresses(count), layout, title="Etiketter", author="Lund")
    pages = _names_at(body)
    assert len(pages) == 2
    assert [len(page) for page in pages] == [layout.per_sheet, 5]
    for page in pages:
        for name, x, y in page:
            index = int(name.split()[1]) % layout.per_sheet
            left, top = layout.position(index)
            assert left < x < left + layout.width, (name, x)
            assert top < y < top + layout.height, (name, y)
    # Row by row: the second label is to the right of the first, on the same line.
    first, second = pages[0][0], pages[0][1]
    assert second[1] > first[1] and math.isclose(second[2], first[2])


def test_it_leaves_the_used_labels_of_the_first_sheet_empty() -> None:
    layout = LAYOUTS["3x8"]
    body = write_labels_pdf(_addresses(3), layout, title="Etiketter", author="Lund", skip=22)
    pages = _names_at(body)
    # Labels 23 and 24 of the first sheet, then the first of the next.
    assert [len(page) for page in pages] == [2, 1]
    left, top = layout.position(22)
    assert left < pages[0][0][1] < left + layout.width and top < pages[0][0][2]


def test_a_long_line_is_made_to_fit_and_the_document_is_tagged() -> None:
    long_name = "Maria-Magdalena Åkerström-Lindqvist von Hohenzollern-Sigmaringen"
    body = write_labels_pdf(
        [[long_name, "Storgatan 1", "222 22 Lund"], ["Łukasz Nowak", "", "211 11 Malmö"]],
        LAYOUTS["3x8"],
        title="Adressetiketter – Val 2030",
        author="Lunds kommun",
    )
    tagged = read_tagged(body)
    assert tagged.title == "Adressetiketter – Val 2030"
    assert tagged.pages == 1
    # One paragraph per label, its lines in order; an empty line is left out.
    labels = tagged.texts("P")
    assert len(labels) == 2
    assert labels[1] == "Lukasz Nowak 211 11 Malmö"
    assert labels[0].endswith("Storgatan 1 222 22 Lund")
    assert labels[0].startswith("Maria-Magdalena")


def test_no_addresses_is_one_empty_sheet() -> None:
    body = write_labels_pdf([], LAYOUTS["2x7"], title="Etiketter", author="Lund")
    assert len(PdfReader(io.BytesIO(body)).pages) == 1
