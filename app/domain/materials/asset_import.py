"""Importing equipment from a file: one row per item, with its asset tag.

The columns are ``tag`` (the asset tag), ``article`` (an equipment article's name in
the catalogue), and optionally ``serial``, ``depot`` (a depot's name) and ``state``.
The whole file is checked first; every row is written, or none.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.documents.spreadsheets import SpreadsheetError, in_worker_thread, read_fields
from app.core.errors import DomainError
from app.core.i18n import _
from app.core.tenancy import require_tenant_id
from app.domain.materials.catalogue import ASSET_STATE_LABELS
from app.domain.models import ASSET_STATES, MaterialArticle, MaterialAsset, MaterialDepot

#: Accepted column names (English, Swedish, Danish) for each field.
COLUMNS: dict[str, tuple[str, ...]] = {
    "tag": ("tag", "asset tag", "inventarienummer", "inventarienr", "inventarnummer"),
    "article": ("article", "artikel", "vare"),
    "serial": ("serial", "serial number", "serienummer", "serienr"),
    "depot": ("depot", "förråd", "lager"),
    "state": ("state", "status", "tillstånd"),
}
BATCH = 500


class AssetImportError(DomainError):
    """The file cannot be imported; ``problems`` holds one translated line per problem
    ("Row 3: no equipment article “Skärm”"), in file order."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems[0], "file")
        self.problems = problems


def _read_file(filename: str, content: bytes) -> list[dict[str, str]]:
    try:
        table = read_fields(filename, content, COLUMNS)
    except SpreadsheetError as error:
        raise AssetImportError([error.message]) from None
    present = set().union(*(row.keys() for row in table))
    problems = [
        _("The file needs a column “%(name)s”.", name=name)
        for name in ("tag", "article")
        if name not in present
    ]
    if problems:
        raise AssetImportError(problems)
    return table


def _states() -> dict[str, str]:
    """Each state by its code and by its name in the reader's language, lower-cased."""
    found = {state: state for state in ASSET_STATES}
    found |= {str(label).lower(): state for state, label in ASSET_STATE_LABELS.items()}
    return found


async def _names(session: AsyncSession, model: type, *where: object) -> dict[str, int]:
    statement = select(func.lower(model.name), model.id)  # type: ignore[attr-defined]
    for condition in where:
        statement = statement.where(condition)  # type: ignore[arg-type]
    return {name: found_id for name, found_id in await session.execute(statement)}


def _row_problems(
    row: Mapping[str, str],
    articles: dict[str, int],
    depots: dict[str, int],
    states: dict[str, str],
    taken: dict[str, str],
) -> list[str]:
    problems = []
    tag = row.get("tag", "")
    if not tag:
        problems.append(_("the asset tag is missing."))
    elif len(tag) > 64:
        problems.append(_("At most %(count)s characters.", count=64))
    elif tag.lower() in taken:
        problems.append(_("the asset tag “%(tag)s” is taken (%(where)s).", tag=tag,
                          where=taken[tag.lower()]))  # fmt: skip
    if row.get("article", "").lower() not in articles:
        problems.append(
            _("no equipment article “%(name)s” in the catalogue.", name=row.get("article", ""))
        )
    if row.get("depot") and row["depot"].lower() not in depots:
        problems.append(_("no depot “%(name)s”.", name=row["depot"]))
    if row.get("state") and row["state"].lower() not in states:
        problems.append(_("unknown state “%(name)s”.", name=row["state"]))
    if len(row.get("serial", "")) > 100:
        problems.append(_("At most %(count)s characters.", count=100))
    return problems


async def import_assets(session: AsyncSession, actor: Actor, filename: str, content: bytes) -> int:
    """Register every item of the file; all or nothing. Raises AssetImportError with
    every problem, row by row. Returns how many items were registered."""
    table = await in_worker_thread(_read_file, filename, content)
    articles = await _names(session, MaterialArticle, MaterialArticle.kind == "equipment")
    depots = await _names(session, MaterialDepot)
    states = _states()
    taken = {
        tag.lower(): _("already registered")
        for tag in await session.scalars(select(MaterialAsset.tag))
    }
    problems: list[str] = []
    rows = []
    for index, row in enumerate(table):
        number = index + 2  # row 1 is the header
        row_problems = _row_problems(row, articles, depots, states, taken)
        if row.get("tag"):
            taken.setdefault(row["tag"].lower(), _("row %(row)s", row=number))
        problems.extend(
            _("Row %(row)s: %(problem)s", row=number, problem=problem) for problem in row_problems
        )
        if not row_problems:
            rows.append(
                {
                    "tenant_id": require_tenant_id(),
                    "tag": row["tag"],
                    "article_id": articles[row["article"].lower()],
                    "serial": row.get("serial", ""),
                    "depot_id": depots.get(row.get("depot", "").lower()),
                    "state": states.get(row.get("state", "").lower(), "in_stock"),
                    "note": "",
                }
            )
    if problems:
        raise AssetImportError(problems)
    for start in range(0, len(rows), BATCH):
        await session.execute(insert(MaterialAsset), rows[start : start + BATCH])
    await record(
        session, actor, "materials.asset.imported", data={"file": filename, "items": len(rows)}
    )
    await session.commit()
    return len(rows)
