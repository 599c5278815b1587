"""Tagged PDF on fpdf2: a structure tree in reading order, so a screen reader reads a
letter as headings, paragraphs and tables rather than loose glyphs (PDF 1.7 §14.8,
the part of PDF/UA a document without forms needs).

fpdf2 writes the structure tree, its parent tree and ``/MarkInfo`` when its builder
holds elements, but only ever makes flat ``/Figure`` elements for images. This class
fills the same builder with nested elements of any standard role: every text drawn is
marked content of a leaf element (``P`` unless the caller names another: ``H1``,
``TH``, ``TD``, ``Figure``), leaves hang under the open grouping elements (``Table``,
``TR``, ``Sect``), and lines, fills and the running footer are marked as artifacts, so
nothing on a page is left outside the tree.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from fpdf import FPDF
from fpdf.prefs import ViewerPreferences
from fpdf.structure_tree import StructElem, StructureTreeBuilder
from fpdf.syntax import PDFObject, PDFString


class TaggedElement(StructElem):
    """A structure element that may carry its own language (a letter in the reader's)."""

    __slots__ = ("lang",)

    def __init__(self, role: str, parent: PDFObject, page_number: int, **kwargs: Any) -> None:
        lang = kwargs.pop("lang", None)
        super().__init__(f"/{role}", parent, kids=[], page_number=page_number, **kwargs)
        self.lang = PDFString(lang) if lang else None


class NestedTreeBuilder(StructureTreeBuilder):
    """fpdf2's builder writes the root's children only; this one writes every element."""

    def __iter__(self) -> Iterator[PDFObject]:
        yield self.struct_tree_root
        yield self.doc_struct_elem
        yield self.struct_tree_root.parent_tree
        pending = list(self.doc_struct_elem.k)
        while pending:
            element = pending.pop(0)
            yield element
            pending[0:0] = [kid for kid in element.k if isinstance(kid, StructElem)]


class _Leaf:
    """The leaf element content is drawn into: one element per page it reaches."""

    def __init__(self, role: str, alt: str | None = None) -> None:
        self.role = role
        self.alt = alt
        self.element: TaggedElement | None = None


class TaggedPDF(FPDF):
    """FPDF that tags what it draws: ``structure`` opens a grouping element, ``leaf`` names
    the role of the text drawn inside it, and anything drawn outside a leaf is a
    paragraph (text) or an artifact (lines and fills)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.struct_builder = NestedTreeBuilder()
        self.viewer_preferences = ViewerPreferences(display_doc_title=True)
        self._open: list[StructElem] = [self.struct_builder.doc_struct_elem]
        self._leaf: _Leaf | None = None
        self._marking = False  # inside a BDC/EMC or an artifact: draw as is

    # --- the tree -------------------------------------------------------------------------

    def _element(self, role: str, **kwargs: Any) -> TaggedElement:
        page = self.page or 1
        parent = self._open[-1]
        element = TaggedElement(role, parent, page, **kwargs)
        if page in self.pages:
            # fpdf2 sets /Pg at output only on the root's children, and types it None.
            element.pg = self.pages[page]  # type: ignore[assignment]
        parent.k.append(element)
        return element

    @contextmanager
    def structure(self, role: str, lang: str | None = None) -> Iterator[None]:
        """A grouping element (``Table``, ``TR``, ``Sect``, ``L``) around what is drawn
        inside; none inside an artifact (a table's headings repeated on a new page)."""
        if self._marking:
            yield
            return
        element = self._element(role, lang=lang)
        self._open.append(element)
        try:
            yield
        finally:
            self._open.pop()

    @contextmanager
    def leaf(self, role: str, alt: str | None = None) -> Iterator[None]:
        """What is drawn inside is one element ``role`` (``H1``, ``TD``, ``Figure`` with
        its ``alt`` text), continued on the next page if it breaks."""
        outer, self._leaf = self._leaf, _Leaf(role, alt)
        try:
            yield
        finally:
            self._leaf = outer

    @contextmanager
    def _marked(self, role: str = "P") -> Iterator[None]:
        """Marked content of the current leaf (or of a new ``role`` element) on this page."""
        leaf = self._leaf or _Leaf(role)
        element = leaf.element
        if element is None or element.page_number() != self.page:
            element = self._element(leaf.role, alt=leaf.alt)
            leaf.element = element
        builder = self.struct_builder
        parents = builder.spid_per_page_number.setdefault(
            self.page, len(builder.spid_per_page_number)
        )
        self.pages[self.page].struct_parents = parents
        owners = builder.struct_tree_root.parent_tree.nums[parents]
        mcid = len(owners)
        owners.append(element)
        element.k.append(mcid)
        self._out(f"/{leaf.role} <</MCID {mcid}>> BDC")
        self._marking = True
        try:
            yield
        finally:
            self._marking = False
            self._out("EMC")

    @contextmanager
    def figure(self, alt: str) -> Iterator[None]:
        """A picture drawn with lines and fills (a QR code), read aloud as ``alt``."""
        with self.leaf("Figure", alt=alt), self._marked():
            yield

    @contextmanager
    def artifact(self) -> Iterator[None]:
        """Drawn for the eye only (rules, fills, the running footer): not read aloud."""
        if self._marking:
            yield
            return
        self._out("/Artifact BMC")
        self._marking = True
        try:
            yield
        finally:
            self._marking = False
            self._out("EMC")

    def _break_before(self, height: float) -> None:
        """Break the page before marked content starts, never inside it."""
        if self.will_page_break(height):
            x = self.x
            self.add_page(same=True)
            self.x = x

    # --- drawing, tagged --------------------------------------------------------------------

    def cell(self, w: Any = None, h: Any = None, *args: Any, **kwargs: Any) -> Any:
        if self._marking or self.in_footer:
            return super().cell(w, h, *args, **kwargs)
        self._break_before(h if h is not None else self.font_size)
        with self._marked():
            return super().cell(w, h, *args, **kwargs)

    def multi_cell(self, w: Any, h: Any = None, *args: Any, **kwargs: Any) -> Any:
        if self._marking or self.in_footer or kwargs.get("dry_run"):
            return super().multi_cell(w, h, *args, **kwargs)
        text = kwargs.get("text", args[0] if args else "")
        # fpdf2 measures by drawing with writing disabled: let that call through.
        self._marking = True
        try:
            lines = cast(list[str], super().multi_cell(w, h, text, dry_run=True, output="LINES"))
        finally:
            self._marking = False
        self._break_before((h if h is not None else self.font_size) * len(lines))
        with self._marked():
            return super().multi_cell(w, h, *args, **kwargs)

    def text(self, x: float, y: float, text: str = "") -> None:
        if self._marking or self.in_footer:
            super().text(x, y, text)
            return
        with self._marked():
            super().text(x, y, text)

    def line(self, *args: Any, **kwargs: Any) -> None:
        with self.artifact():
            super().line(*args, **kwargs)

    def rect(self, *args: Any, **kwargs: Any) -> None:
        with self.artifact():
            super().rect(*args, **kwargs)

    def footer(self) -> None:
        """Subclasses draw their running footer in ``running_footer``, as an artifact."""
        with self.artifact():
            self.running_footer()

    def running_footer(self) -> None:
        """The running text at the foot of each page (nothing by default)."""
