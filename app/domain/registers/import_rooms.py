"""Importing buildings and rooms: a row meets the register by its building's and room's
names, and adds the room (and its building) or changes what the file says of them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.i18n import _
from app.core.validation import FieldErrors
from app.domain.models import Building, Room
from app.domain.registers.import_preview import (
    WRITE_BATCH,
    FieldChange,
    ImportPreview,
    RowChange,
    add_problems,
    write_in_batches,
)
from app.domain.registers.premises import clean_building, clean_room

#: What a row may change of a building, and of a room, already in the register.
BUILDING_FIELDS = ("street_address", "postal_code", "city")
ROOM_FIELDS = ("capacity",)


@dataclass
class KnownPremises:
    """The register's buildings by lower-case name and rooms by (building, room), each
    as its id and the values a file may change."""

    buildings: dict[str, dict[str, Any]]
    rooms: dict[tuple[str, str], dict[str, Any]]


@dataclass
class PremisesRows:
    """A file's rows, sorted: new buildings and rooms, and changes by id."""

    new_buildings: dict[str, dict[str, Any]] = field(default_factory=dict)
    new_rooms: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    building_updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    room_updates: dict[int, dict[str, Any]] = field(default_factory=dict)


async def known_premises(session: AsyncSession) -> KnownPremises:
    buildings = {
        building.name.lower(): {
            "id": building.id,
            "name": building.name,
            **{name: getattr(building, name) for name in BUILDING_FIELDS},
        }
        for building in await session.scalars(select(Building))
    }
    rooms = {
        (building_name.lower(), room.name.lower()): {
            "id": room.id,
            **{name: getattr(room, name) for name in ROOM_FIELDS},
        }
        for room, building_name in await session.execute(
            select(Room, Building.name).join(Building, Room.building_id == Building.id)
        )
    }
    return KnownPremises(buildings, rooms)


def sort_rows(
    rows: list[dict[str, Any]], known: KnownPremises, preview: ImportPreview
) -> PremisesRows:
    """Check each row and sort it into a new room, a change or nothing to do; a bad
    row's problems go to the preview. Only filled cells change the register. Pure work,
    for a worker thread."""
    sorted_rows = PremisesRows()
    seen: dict[tuple[str, str], int] = {}
    for number, row in enumerate(rows, start=2):
        try:
            building_values = clean_building({**row, "name": row.get("building", "")})
            room_values = clean_room({**row, "name": row.get("room", ""), "has_power": "1"})
        except FieldErrors as error:
            renamed = {("building" if k == "name" else k): v for k, v in error.errors.items()}
            add_problems(preview, number, FieldErrors(renamed))
            continue
        key = (building_values["name"].lower(), room_values["name"].lower())
        if key in seen:
            preview.problems.append((number, "room", _("Same as row %(row)s.", row=seen[key])))
            continue
        seen[key] = number
        changes = _building_changes(row, building_values, known, sorted_rows)
        room = known.rooms.get(key)
        if room is None:
            preview.added += 1
            if key[0] not in known.buildings:
                sorted_rows.new_buildings.setdefault(key[0], building_values)
            sorted_rows.new_rooms.append((key[0], room_values))
        else:
            room_changes = _filled_changes(row, room_values, room, ROOM_FIELDS)
            if room_changes:
                sorted_rows.room_updates[room["id"]] = room_changes
            changes += [(name, room[name], value) for name, value in room_changes.items()]
        if changes:
            label = f"{building_values['name']}, {room_values['name']}"
            preview.changed.append(
                RowChange(
                    number, label, [FieldChange(n, _shown(o), _shown(v)) for n, o, v in changes]
                )
            )
        elif room is not None:
            preview.unchanged += 1
    return sorted_rows


def _building_changes(
    row: dict[str, Any],
    values: dict[str, Any],
    known: KnownPremises,
    sorted_rows: PremisesRows,
) -> list[tuple[str, Any, Any]]:
    """What the row changes of its building, shown on the first row that says it."""
    building = known.buildings.get(values["name"].lower())
    if building is None or building["id"] in sorted_rows.building_updates:
        return []
    changes = _filled_changes(row, values, building, BUILDING_FIELDS)
    if not changes:
        return []
    sorted_rows.building_updates[building["id"]] = changes
    return [(name, building[name], value) for name, value in changes.items()]


def _filled_changes(
    row: dict[str, Any], values: dict[str, Any], current: dict[str, Any], names: tuple[str, ...]
) -> dict[str, Any]:
    return {
        name: values[name]
        for name in names
        if str(row.get(name) or "").strip() and values[name] != current[name]
    }


def _shown(value: Any) -> str:
    return "–" if value is None or value == "" else str(value)


async def write_premises(
    session: AsyncSession, actor: Actor, batch_id: int, sorted_rows: PremisesRows
) -> list[str]:
    """Add the new buildings and rooms and change the others, auditing each change by
    its fields' names. Returns the fields changed; nothing is committed."""
    made = await write_in_batches(
        session, list(sorted_rows.new_buildings.values()), lambda values: Building(**values)
    )
    building_ids = {building.name.lower(): building.id for building in made}
    building_ids.update(
        (name.lower(), building_id)
        for building_id, name in await session.execute(select(Building.id, Building.name))
    )
    await write_in_batches(
        session,
        [{"building_id": building_ids[name], **values} for name, values in sorted_rows.new_rooms],
        lambda values: Room(**values),
    )
    fields = await _change(session, actor, batch_id, Building, sorted_rows.building_updates)
    fields |= await _change(session, actor, batch_id, Room, sorted_rows.room_updates)
    return sorted(fields)


async def _change[Premises: (Building, Room)](
    session: AsyncSession,
    actor: Actor,
    batch_id: int,
    model: type[Premises],
    updates: dict[int, dict[str, Any]],
) -> set[str]:
    """Set each row's new values, with an audit entry naming the fields."""
    code = "premises.building.updated" if model is Building else "premises.room.updated"
    fields: set[str] = set()
    ids = sorted(updates)
    for start in range(0, len(ids), WRITE_BATCH):
        chunk = ids[start : start + WRITE_BATCH]
        for row in await session.scalars(select(model).where(model.id.in_(chunk))):
            for name, value in updates[row.id].items():
                setattr(row, name, value)
            fields.update(updates[row.id])
            data = {"fields": sorted(updates[row.id]), "import": batch_id}
            await record(session, actor, code, row, data=data)
        await session.flush()
        await asyncio.sleep(0)
    return fields
