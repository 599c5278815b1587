"""The demo's register extract (static/demo/registerutdrag-demo.csv, linked from the
population register's page of the demo municipality) fits the demo's people: it marks
one person who holds a place as protected, one as dead and one as moved out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.audit import Actor
from app.domain.models import Assignment, Person
from app.domain.registers.population import refresh as population
from tests.demo.coming import demo_coming_election

EXTRACT = Path(__file__).parents[2] / "static" / "demo" / "registerutdrag-demo.csv"


async def test_the_demo_extract_marks_a_placed_person_protected(
    demo_made: None,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with demo_coming_election(session_factory) as (session, coming):
        staged = await population.stage_extract(
            session, Actor.system("test"), EXTRACT.name, EXTRACT.read_bytes(), "SE",
            coming.election_day - dt.timedelta(days=60),
        )  # fmt: skip
        assert staged.ok, staged.reading.problems
        assert staged.refresh is not None and staged.refresh.found == 8
        assert [
            staged.refresh.count(name) for name in ("protected", "died", "moved_out", "name")
        ] == [1, 1, 1, 1]
        done = await population.commit_extract(
            session, Actor.system("test"), staged.batch.id, "SE",
            coming.election_day - dt.timedelta(days=60),
        )  # fmt: skip
        assert done.ok
        hidden = await session.scalar(select(Person).where(Person.address_protected.is_(True)))
        assert hidden is not None and hidden.street_address == ""
        assert await session.scalar(select(Assignment.id).where(Assignment.person_id == hidden.id))
