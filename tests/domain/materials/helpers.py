"""A small election with materials: two polling stations and one advance station, a
catalogue with ballot papers per party, and the office's rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.elections.stations import save_station
from app.domain.materials.catalogue import save_article
from app.domain.materials.rules import save_rule
from app.domain.models import District, Room, Station
from tests.factories import make_room, make_staffed_station

OFFICE = Actor(label="logistik@lund.test", user_id=None)


@dataclass
class Materials:
    election_id: int
    stations: dict[str, int]
    districts: dict[str, int]
    articles: dict[str, int]
    rules: dict[str, int]


async def materials_election(db: AsyncSession, tenant: Tenant) -> Materials:
    """Hamnskolan (700 voters, a room with 4 booths, norm minimum 4), Byskolan (100
    voters, no room) and an advance station; screens 1 per 300 voters (at least 2),
    ballot papers of each party voters × 1.2 in packs of 100, 10 pens per station."""
    first = await make_staffed_station(db, tenant)
    election = first["election"]
    with tenant_scope(tenant.id):
        districts = list(
            await db.scalars(
                select(District).where(District.election_id == election.id).order_by(District.id)
            )
        )
        districts[0].eligible_voters = 700
        districts[1].eligible_voters = 100
        await db.commit()
    room = await make_room(db, tenant)
    with tenant_scope(tenant.id):
        station = await db.get(Station, first["station"].id)
        found = await db.get(Room, room.id)
        assert station is not None and found is not None
        found.booths = 4
        station.room_id = found.id
        await db.commit()
        village = await save_station(
            db, OFFICE, election.id,
            {"name": "Byskolan", "kind": "polling", "district_id": str(districts[1].id)},
        )  # fmt: skip
        advance = await save_station(
            db, OFFICE, election.id, {"name": "Stadshuset", "kind": "advance"}
        )
        articles: dict[str, Any] = {}
        for key, data in {
            "screen": {"name": "Valskärm", "kind": "equipment", "category": "voting_screen"},
            "s": {"name": "Valsedel S", "category": "ballot_paper", "party": "S",
                  "pack_size": "100", "election_id": str(election.id)},
            "m": {"name": "Valsedel M", "category": "ballot_paper", "party": "M",
                  "pack_size": "100", "election_id": str(election.id)},
            "pen": {"name": "Blyertspenna", "category": "pen", "pack_size": "50"},
        }.items():  # fmt: skip
            articles[key] = (await save_article(db, OFFICE, data)).id
        rules = {
            "screens": await save_rule(
                db, OFFICE,
                {"target": str(articles["screen"]), "station_kinds": ["polling", "advance"],
                 "formula": "voters / 300", "minimum": "2"},
            ),
            "ballots": await save_rule(
                db, OFFICE,
                {"target": "category:ballot_paper", "station_kinds": ["polling"],
                 "formula": "voters * 1.2", "round_to_pack": "on"},
            ),
            "pens": await save_rule(
                db, OFFICE,
                {"target": str(articles["pen"]), "station_kinds": "polling,advance",
                 "formula": "10"},
            ),
        }  # fmt: skip
    return Materials(
        election_id=election.id,
        stations={"hamn": first["station"].id, "by": village.id, "advance": advance.id},
        districts={"first": districts[0].id, "second": districts[1].id},
        articles=articles,
        rules={key: rule.id for key, rule in rules.items()},
    )
