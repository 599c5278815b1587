"""The register of buildings and rooms where stations and courses are held."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.i18n import _, collation_key
from app.core.validation import Cleaner, FieldErrors
from app.domain.models import Building, Room
from app.domain.saving import has_name, is_taken, store


def clean_building(data: Mapping[str, Any]) -> dict[str, Any]:
    cleaner = Cleaner(data)
    values = {
        "name": cleaner.text("name", 200, required=True),
        "street_address": cleaner.text("street_address", 200),
        "postal_code": cleaner.text("postal_code", 10),
        "city": cleaner.text("city", 100),
        "latitude": cleaner.decimal_number("latitude", -90, 90),
        "longitude": cleaner.decimal_number("longitude", -180, 180),
        "step_free_access": cleaner.boolean("step_free_access"),
        "accessible_toilet": cleaner.boolean("accessible_toilet"),
        "parking": cleaner.boolean("parking"),
        "contact_name": cleaner.text("contact_name", 200),
        "contact_phone": cleaner.text("contact_phone", 20),
        "access_notes": cleaner.text("access_notes", 5000),
    }
    if (values["latitude"] is None) != (values["longitude"] is None):
        cleaner.fail("longitude", _("Give both latitude and longitude, or neither."))
    cleaner.done()
    return values


def clean_room(data: Mapping[str, Any]) -> dict[str, Any]:
    cleaner = Cleaner(data)
    values = {
        "name": cleaner.text("name", 200, required=True),
        "capacity": cleaner.integer("capacity", 0, 100000),
        "has_power": cleaner.boolean("has_power"),
        "has_network": cleaner.boolean("has_network"),
        "tables": cleaner.integer("tables", 0, 10000),
        "booths": cleaner.integer("booths", 0, 10000),
        "notes": cleaner.text("notes", 5000),
    }
    cleaner.done()
    return values


async def save_building(
    session: AsyncSession, actor: Actor, data: Mapping[str, Any], building_id: int | None = None
) -> Building:
    """Create a building, or change one when ``building_id`` is given."""
    values = clean_building(data)
    same_name = select(Building.id).where(has_name(Building.name, values["name"]))
    if await is_taken(session, same_name, Building.id, building_id):
        raise FieldErrors({"name": _("A building with this name already exists.")})
    building = Building() if building_id is None else await get_building(session, building_id)
    return await store(session, actor, building, values, "premises.building", building_id is None)


async def get_building(session: AsyncSession, building_id: int) -> Building:
    building = await session.scalar(
        select(Building).where(Building.id == building_id).options(selectinload(Building.rooms))
    )
    if building is None:
        raise NotFound(_("Not found."))
    return building


async def list_buildings(
    session: AsyncSession, query: str = "", locale: str = "sv"
) -> list[Building]:
    """Buildings in the reader's alphabetical order (Å, Ä, Ö last in Swedish)."""
    statement = select(Building).options(selectinload(Building.rooms)).order_by(Building.name)
    if query.strip():
        pattern = query.strip().lower()
        statement = statement.where(
            func.lower(Building.name).contains(pattern, autoescape=True)
            | func.lower(Building.city).startswith(pattern, autoescape=True)
        )
    buildings = list(await session.scalars(statement))
    return sorted(buildings, key=lambda building: collation_key(building.name, locale))


async def save_room(
    session: AsyncSession,
    actor: Actor,
    building_id: int,
    data: Mapping[str, Any],
    room_id: int | None = None,
) -> Room:
    building = await get_building(session, building_id)
    values = clean_room(data)
    same_name = select(Room.id).where(
        Room.building_id == building.id, has_name(Room.name, values["name"])
    )
    if await is_taken(session, same_name, Room.id, room_id):
        raise FieldErrors({"name": _("The building already has a room with this name.")})
    room = Room(building_id=building.id) if room_id is None else await get_room(session, room_id)
    if room.building_id != building.id:
        raise NotFound(_("Not found."))
    return await store(
        session, actor, room, values, "premises.room", room_id is None, {"building": building.name}
    )


async def get_room(session: AsyncSession, room_id: int) -> Room:
    room = await session.scalar(
        select(Room).where(Room.id == room_id).options(selectinload(Room.building))
    )
    if room is None:
        raise NotFound(_("Not found."))
    return room


async def room_choices(session: AsyncSession) -> list[tuple[int, str]]:
    """(room id, "Building – Room (capacity)") for select boxes."""
    rows = await session.execute(
        select(Room.id, Building.name, Room.name, Room.capacity)
        .join(Building, Room.building_id == Building.id)
        .order_by(Building.name, Room.name)
    )
    return [
        (room_id, f"{building} – {room} ({capacity})") for room_id, building, room, capacity in rows
    ]
