"""The archive's ids to this instance's: each row's own, its references, and the ids
the audit log names its objects by."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table

from app.core.i18n import _
from app.core.models.base import Base
from app.domain.archive.export import ArchiveError
from app.domain.archive.policy import LOOSE_REFERENCES, references

TENANTS = "tenants"


def _tables_by_class() -> dict[str, str]:
    """An audit entry's ``object_type`` (a model's class name) -> its table."""
    return {
        mapper.class_.__name__: mapper.local_table.name
        for mapper in Base.registry.mappers
        if mapper.local_table is not None and hasattr(mapper.local_table, "name")
    }


class Remapper:
    def __init__(self, tenant_id: int, old_tenant_id: int) -> None:
        self._ids: dict[str, dict[int, int]] = {TENANTS: {old_tenant_id: tenant_id}}
        self._classes = _tables_by_class()

    def add(self, table: str, old: int, new: int) -> None:
        self._ids.setdefault(table, {})[old] = new

    def new_id(self, table: str, old: int) -> int | None:
        return self._ids.get(table, {}).get(old)

    def row(self, table: Table, source: dict[str, Any]) -> dict[str, Any]:
        """``source`` with its id and every reference in this instance's ids."""
        row = dict(source)
        row["id"] = self._ids[table.name][source["id"]]
        for column, target in references(table).items():
            old = source.get(column)
            if old is None:
                continue
            new = self.new_id(target, old)
            if new is None and (table.name, column) not in LOOSE_REFERENCES:
                raise ArchiveError(
                    _(
                        "The archive is damaged: %(table)s names a row of %(target)s"
                        " it does not hold.",
                        table=table.name,
                        target=target,
                    )
                )
            row[column] = new
        if table.name == "audit_entries":
            row["object_id"] = self._audit_object(source.get("object_type"), source["object_id"])
        return row

    def _audit_object(self, kind: str | None, object_id: str | None) -> str | None:
        """The object's new id when the archive holds it; else the id as it was (a row
        since deleted, or one that stayed behind)."""
        target = self._classes.get(kind or "")
        if target is None or object_id is None or not object_id.isdigit():
            return object_id
        new = self.new_id(target, int(object_id))
        return object_id if new is None else str(new)
