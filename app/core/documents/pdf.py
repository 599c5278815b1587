"""PDF documents: an A4 page with Stemma's footer, and text the standard fonts can draw.

Every document is tagged (``tagged_pdf``): a title shown by the reader, the language,
and a structure tree in reading order; headings and tables say what they are.

PDFs use the PDF standard fonts (Helvetica) in the Windows-1252 encoding: every reader
has them, nothing is embedded, and they draw å, ä, ö, æ, ø, é, ü and the dashes and
quotes typed in names. What they cannot draw (Ł, Arabic script) is replaced by its
nearest Latin letter or a question mark, so an unusual name never breaks a document.
"""

from __future__ import annotations

import unicodedata

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from app.core.documents.tagged_pdf import TaggedPDF
from app.core.i18n import _, get_locale


class StemmaPDF(TaggedPDF):
    """A4 with the standard Helvetica and a footer: what the document is, and the page."""

    def __init__(
        self, orientation: str = "portrait", running_text: str = "", page_numbers: bool = True
    ) -> None:
        super().__init__(orientation=orientation, unit="mm", format="A4")
        self.page_numbers = page_numbers
        # The standard fonts are written with WinAnsiEncoding, which is Windows-1252.
        self.core_fonts_encoding = "cp1252"
        self.running_text = running_text
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=16)
        self.set_creator("Stemma")
        self.set_lang(get_locale())

    def text_line(
        self,
        text: str,
        size: float,
        style: str = "",
        height: float = 0,
        colour: int = 0,
        role: str = "P",
    ) -> None:
        """One line of text in Helvetica, then on to the next line; tagged as ``role``
        (a paragraph, or a heading ``H1``…)."""
        self.set_font("helvetica", style, size)
        self.set_text_color(colour)
        with self.leaf(role):
            self.cell(
                h=height or size * 0.45, text=pdf_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )
        self.set_text_color(0)

    def paragraph(
        self,
        text: str,
        size: float = 11,
        indent: float = 0,
        line_height: float = 6,
        role: str = "P",
    ) -> None:
        """Text wrapped to the page width (less ``indent``), flush left: one ``role``
        element (a paragraph, or a list item's body ``LBody``)."""
        self.set_font("helvetica", size=size)
        width = self.epw - indent
        with self.leaf(role):
            for line in wrap_lines(self, pdf_text(text), width - 2 * self.c_margin):
                self.set_x(self.l_margin + indent)
                self.cell(width, line_height, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def running_footer(self) -> None:
        self.set_y(-12)
        self.set_font("helvetica", size=7.5)
        self.set_text_color(110)
        half = self.epw / 2
        self.cell(half, 5, pdf_text(self.running_text), new_x=XPos.RIGHT, new_y=YPos.TOP)
        if not self.page_numbers:
            self.set_text_color(0)
            return
        page = _("Page %(page)s of %(pages)s", page=self.page_no(), pages="{nb}")
        self.cell(half, 5, pdf_text(page), align="R")
        self.set_text_color(0)


def wrap_lines(pdf: FPDF, text: str, width: float) -> list[str]:
    """The lines ``text`` takes in a column ``width`` wide in the current font: broken
    between words, and inside a word (an email address) only when the word alone is
    too wide."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if pdf.get_string_width(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            while len(word) > 1 and pdf.get_string_width(word) > width:
                cut = len(word) - 1
                while cut > 1 and pdf.get_string_width(word[:cut]) > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


#: Letters the standard fonts lack, and the Latin letter a reader would write instead.
_NEAREST = {
    "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i", "Ŧ": "T",
    "ŧ": "t", "ĸ": "k", "Ŋ": "N", "ŋ": "n", "ƒ": "f", "\u2010": "-", "\u2011": "-",
    "\u2212": "-", "\u2032": "'", "\u2033": '"',
}  # fmt: skip


def _drawable(char: str) -> bool:
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def pdf_text(value: object) -> str:
    """Text the standard PDF fonts can draw: Windows-1252 characters as they are, others
    by their nearest Latin letter (Ł → L, ğ → g) or else a question mark; control and
    direction marks are dropped."""
    text = unicodedata.normalize("NFC", str(value)).replace("\r\n", "\n").replace("\t", " ")
    out = []
    for char in text:
        if char == "\n":
            out.append(char)
        elif unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        elif _drawable(char):
            out.append(char)
        elif char in _NEAREST:
            out.append(_NEAREST[char])
        else:
            plain = "".join(
                c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
            )
            out.append(plain if plain and all(_drawable(c) for c in plain) else "?")
    return "".join(out)
