"""Reading a produced PDF as a screen reader's software does: the catalogue's language,
title and tags, the structure tree in order, and every drawn thing either marked
content of an element or an artifact."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ContentStream, DictionaryObject

#: Operators that put something on the page (text, paths, images).
_DRAWING = {"Tj", "TJ", "'", '"', "f", "F", "f*", "S", "s", "B", "B*", "b", "b*", "Do"}


@dataclass
class Tagged:
    lang: str
    title: str
    pages: int
    #: The leaf elements in the tree's order: (role, text, its language).
    leaves: list[tuple[str, str, str]] = field(default_factory=list)
    #: Every role in the tree, in order.
    roles: list[str] = field(default_factory=list)

    def texts(self, role: str) -> list[str]:
        return [text for leaf_role, text, _lang in self.leaves if leaf_role == role]


def _decoded(part: Any) -> str:
    """The standard fonts' text as drawn (Windows-1252), not as PDFDocEncoding reads it."""
    raw = part.get_original_bytes() if hasattr(part, "get_original_bytes") else None
    return raw.decode("cp1252") if raw is not None else str(part)


def _marked_text(reader: PdfReader) -> dict[tuple[int, int], str]:
    """The text of each marked-content sequence by (page index, MCID); fails on anything
    drawn outside both a tagged sequence and an artifact."""
    texts: dict[tuple[int, int], str] = {}
    for index, page in enumerate(reader.pages):
        stack: list[int | None] = []  # MCID, or None for an artifact
        content = ContentStream(page.get_contents(), reader)
        for operands, operator in content.operations:
            op = operator.decode()
            if op == "BDC":
                stack.append(int(operands[1]["/MCID"]))
            elif op == "BMC":
                assert operands[0] == "/Artifact", operands
                stack.append(None)
            elif op == "EMC":
                stack.pop()
            elif op in _DRAWING:
                assert stack, f"{op} drawn outside the tags on page {index + 1}"
                if stack[-1] is not None and op in ("Tj", "TJ"):
                    value = operands[0]
                    parts = value if op == "TJ" else [value]
                    words = "".join(_decoded(part) for part in parts if isinstance(part, str))
                    key = (index, stack[-1])
                    texts[key] = (texts.get(key, "") + " " + words).strip()
        assert not stack, f"unbalanced marked content on page {index + 1}"
    return texts


def read_tagged(body: bytes) -> Tagged:
    """The document's tags, asserting what every tagged PDF needs."""
    reader = PdfReader(io.BytesIO(body))
    root = reader.trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"])
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])
    title = str(reader.metadata.title if reader.metadata else "")
    assert title
    tagged = Tagged(lang=str(root["/Lang"]), title=title, pages=len(reader.pages))
    page_index = {page.indirect_reference.idnum: n for n, page in enumerate(reader.pages)}
    texts = _marked_text(reader)
    seen: set[tuple[int, int]] = set()

    def walk(element: Any, page: int | None, lang: str) -> None:
        element = element.get_object()
        if not isinstance(element, DictionaryObject):
            return
        lang = str(element.get("/Lang", lang))
        if "/Pg" in element:
            page = page_index[element.raw_get("/Pg").idnum]
        role = str(element.get("/S", ""))[1:]
        if role:
            tagged.roles.append(role)
        kids = element.get("/K", [])
        kids = kids if isinstance(kids, list) else [kids]
        mcids = [kid for kid in kids if isinstance(kid, int)]
        if mcids:
            assert page is not None
            seen.update((page, mcid) for mcid in mcids)
            text = " ".join(texts.get((page, mcid), "") for mcid in mcids).strip()
            if role == "Figure":
                text = str(element.get("/Alt", ""))
            tagged.leaves.append((role, text, lang))
        for kid in kids:
            if not isinstance(kid, int):
                walk(kid, page, lang)

    walk(root["/StructTreeRoot"], None, tagged.lang)
    assert seen >= set(texts), "marked content that no element owns"
    return tagged
