"""The restore drill's judgement (deploy/cluster/restore_drill.py): a table's figures change
when one value of one row does, not when its rows were written in another order, and
every kind of difference between the original and the restore is named. (The drill
itself needs the cluster: `make restore-drill`.)"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

import asyncpg
import pytest

from tests.conftest import TEST_DATABASE_URL

DRILL = Path(__file__).resolve().parents[1] / "deploy" / "cluster" / "restore_drill.py"


def _drill() -> ModuleType:
    spec = importlib.util.spec_from_file_location("restore_drill", DRILL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


restore_drill = _drill()


def test_the_same_tables_match() -> None:
    sums = {"public.a": (3, "x"), "public.b": (0, "")}
    assert restore_drill.compare(sums, dict(sums)) == []


def test_every_difference_is_named() -> None:
    original = {"public.a": (3, "x"), "public.b": (2, "y"), "public.c": (1, "z")}
    restored = {"public.a": (2, "w"), "public.b": (2, "v"), "public.d": (0, "")}
    assert restore_drill.compare(original, restored) == [
        "public.a: 3 rows, 2 restored",
        "public.b: 2 rows, but their contents differ",
        "public.c: missing from the restore",
        "public.d: not in the original",
    ]


@pytest.mark.skipif(
    not (TEST_DATABASE_URL or "").startswith("postgresql"), reason="the figures are PostgreSQL's"
)
async def test_the_figures_see_one_changed_value_but_not_the_order_of_rows() -> None:
    assert TEST_DATABASE_URL is not None
    # The server's own database: temporary tables need no migrated one.
    server = urlsplit(TEST_DATABASE_URL)._replace(scheme="postgresql", path="/postgres")
    connection = await asyncpg.connect(server.geturl())
    try:
        await connection.execute(
            "CREATE TEMP TABLE drill_one (id int, name text, at timestamptz);"
            "CREATE TEMP TABLE drill_two (id int, name text, at timestamptz);"
            "CREATE TEMP TABLE drill_empty (id int);"
            "INSERT INTO drill_one VALUES (1, 'Åsa', '2026-09-13 07:00Z'), (2, NULL, NULL);"
            "INSERT INTO drill_two VALUES (2, NULL, NULL), (1, 'Åsa', '2026-09-13 07:00Z');"
        )
        tables = ["drill_one", "drill_two", "drill_empty"]

        async def figures() -> dict[str, tuple[int, str]]:
            rows = await connection.fetch(restore_drill.sums_sql(tables))
            return {row[0]: (row[1], row[2]) for row in rows}

        sums = await figures()
        assert sums["drill_one"] == sums["drill_two"]
        assert sums["drill_one"][0] == 2 and len(sums["drill_one"][1]) == 32
        assert sums["drill_empty"] == (0, "")

        await connection.execute("UPDATE drill_two SET name = 'Asa' WHERE id = 1")
        changed = await figures()
        assert changed["drill_two"][0] == 2
        assert changed["drill_two"][1] != sums["drill_one"][1]
        assert restore_drill.compare({"t": sums["drill_one"]}, {"t": changed["drill_two"]}) == [
            "t: 2 rows, but their contents differ"
        ]
    finally:
        await connection.close()
