"""Equipment handed out one item at a time and taken back at the depot.

An asset (scanned or typed by its tag) goes to a station, with the station's delivery
when it has one, or to a person, with who handed it, when, and when it is due back. It
is out to one holder at a time: handing out an item that is out is refused with where
it is. Taking it back records who, when and its condition (ok, damaged, missing), and
the asset's state follows. Every step is audited; only ``materials.edit`` may do them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.audit import Actor, record
from app.core.errors import DomainError, NotFound
from app.core.i18n import _, lazy_gettext
from app.core.models import utcnow
from app.core.validation import Cleaner
from app.domain.models import (
    HOLDING_STATES,
    RETURN_CONDITIONS,
    Assignment,
    District,
    Election,
    MaterialAsset,
    MaterialDelivery,
    MaterialHandout,
    Person,
    RoleType,
    Station,
)
from app.domain.ops.access import actor_may

CONDITION_LABELS = {
    "ok": lazy_gettext("In order"),
    "damaged": lazy_gettext("Damaged"),
    "missing": lazy_gettext("Missing"),
}
#: The asset's state after it is taken back in each condition.
STATE_AFTER_RETURN = {"ok": "in_stock", "damaged": "damaged", "missing": "missing"}
#: States an item cannot be handed out from.
NOT_HANDED_OUT = ("missing", "retired")
HOLDER_FILTERS = ("station", "person", "none")


class HandoutError(DomainError):
    """A hand-out or a taking back that cannot be done, with the reason at its field."""


@dataclass
class Holding:
    """An open or closed hand-out with what the pages show of its holder."""

    handout: MaterialHandout
    holder_name: str
    station_name: str | None
    person_id: int | None


async def _may_edit(session: AsyncSession, actor: Actor) -> None:
    if not await actor_may(session, actor, "materials.edit"):
        raise HandoutError(_("You may not hand out or take back equipment."))


async def asset_by_tag(session: AsyncSession, tag: str) -> MaterialAsset:
    """The item of this tag in the municipality (the case of the letters aside)."""
    tag = tag.strip()
    asset = None
    if tag:
        asset = await session.scalar(
            select(MaterialAsset)
            .where(func.lower(MaterialAsset.tag) == tag.lower())
            .options(selectinload(MaterialAsset.article))
        )
    if asset is None:
        raise HandoutError(_("No item has the asset tag “%(tag)s”.", tag=tag), "tag")
    return asset


async def open_handout(session: AsyncSession, asset_id: int) -> MaterialHandout | None:
    return await session.scalar(
        select(MaterialHandout).where(
            MaterialHandout.asset_id == asset_id, MaterialHandout.returned_at.is_(None)
        )
    )


async def _holder_name(session: AsyncSession, handout: MaterialHandout) -> str:
    if handout.station_id is not None:
        return str(
            await session.scalar(select(Station.name).where(Station.id == handout.station_id))
        )
    person = await session.scalar(select(Person).where(Person.id == handout.person_id))
    return f"{person.first_name} {person.last_name}" if person else "–"


async def _out_refusal(session: AsyncSession, asset: MaterialAsset) -> HandoutError:
    current = await open_handout(session, asset.id)
    where = await _holder_name(session, current) if current else "–"
    return HandoutError(
        _(
            "%(tag)s is already out to %(holder)s. Take it back before handing it out again.",
            tag=asset.tag,
            holder=where,
        ),
        "tag",
    )


async def _clean_holder(
    session: AsyncSession, cleaner: Cleaner, data: Mapping[str, Any]
) -> dict[str, Any]:
    """The station or person the item goes to, checked against the municipality."""
    holder = cleaner.choice("holder", ("station", "person"), "station")
    station_id = cleaner.identifier("station_id") if holder == "station" else None
    person_id = cleaner.identifier("person_id") if holder == "person" else None
    election_id: int | None = None
    if holder == "station":
        station = (
            await session.scalar(select(Station).where(Station.id == station_id))
            if station_id
            else None
        )
        if station is None:
            cleaner.fail("station_id", _("Choose a station."))
        else:
            election_id = station.election_id
    else:
        person = (
            await session.scalar(select(Person).where(Person.id == person_id))
            if person_id
            else None
        )
        if person is None or person.status != "active":
            cleaner.fail("person_id", _("Choose a person."))
        election_id = cleaner.identifier("election_id")
        if election_id is not None and not await session.scalar(
            select(Election.id).where(Election.id == election_id)
        ):
            cleaner.fail("election_id", _("Choose one of the options."))
    return {"station_id": station_id, "person_id": person_id, "election_id": election_id}


async def hand_out(session: AsyncSession, actor: Actor, data: Mapping[str, Any]) -> MaterialHandout:
    """Hand the item of ``data["tag"]`` to a station (``holder=station``, ``station_id``)
    or a person (``holder=person``, ``person_id``, optionally ``election_id``), due back
    on ``due_back``. Refused, with nothing written, when the item is out already,
    missing or retired, or the holder is unknown."""
    await _may_edit(session, actor)
    cleaner = Cleaner(data)
    tag = cleaner.text("tag", 64, required=True)
    due_back = cleaner.date("due_back")
    note = cleaner.text("note", 500)
    holder = await _clean_holder(session, cleaner, data)
    cleaner.done()
    asset = await asset_by_tag(session, tag)
    if asset.state in NOT_HANDED_OUT:
        raise HandoutError(
            _("%(tag)s is marked missing or retired and cannot be handed out.", tag=asset.tag),
            "tag",
        )
    if await open_handout(session, asset.id) is not None:
        raise await _out_refusal(session, asset)
    delivery_id = None
    if holder["station_id"] is not None:
        delivery_id = await session.scalar(
            select(MaterialDelivery.id).where(MaterialDelivery.station_id == holder["station_id"])
        )
    handout = MaterialHandout(
        asset_id=asset.id,
        delivery_id=delivery_id,
        handed_by_user_id=actor.user_id,
        handed_by_label=actor.label,
        handed_at=utcnow(),
        due_back=due_back,
        note=note,
        **holder,
    )
    session.add(handout)
    asset.state = "out"
    try:
        await session.flush()
    except IntegrityError:
        # Another hand-out of the same item won the race: the open one is unique.
        await session.rollback()
        asset = await asset_by_tag(session, tag)
        raise await _out_refusal(session, asset) from None
    await record(
        session,
        actor,
        "materials.asset.handed_out",
        asset,
        data={"tag": asset.tag, "handout": handout.id, **holder},
    )
    await session.commit()
    return handout


async def take_back(
    session: AsyncSession, actor: Actor, data: Mapping[str, Any]
) -> MaterialHandout:
    """Take the item of ``data["tag"]`` back at the depot in ``condition`` (ok, damaged,
    missing); the asset's state follows. Refused when the item is not out."""
    await _may_edit(session, actor)
    cleaner = Cleaner(data)
    tag = cleaner.text("tag", 64, required=True)
    condition = cleaner.choice("condition", RETURN_CONDITIONS, "ok")
    note = cleaner.text("note", 500)
    cleaner.done()
    asset = await asset_by_tag(session, tag)
    handout = await open_handout(session, asset.id)
    if handout is None:
        raise HandoutError(_("%(tag)s is not out: there is nothing to take back.", tag=asset.tag),
                           "tag")  # fmt: skip
    handout.returned_at = utcnow()
    handout.returned_by_user_id = actor.user_id
    handout.returned_by_label = actor.label
    handout.condition = condition
    handout.return_note = note
    asset.state = STATE_AFTER_RETURN[condition]
    await record(
        session,
        actor,
        "materials.asset.taken_back",
        asset,
        data={"tag": asset.tag, "handout": handout.id, "condition": condition},
    )
    await session.commit()
    return handout


async def holdings(session: AsyncSession, handouts: Sequence[MaterialHandout]) -> list[Holding]:
    """Each hand-out with its holder's name, read in two statements."""
    station_ids = {h.station_id for h in handouts if h.station_id is not None}
    person_ids = {h.person_id for h in handouts if h.person_id is not None}
    stations: dict[int, str] = {}
    people: dict[int, str] = {}
    if station_ids:
        found = await session.execute(
            select(Station.id, Station.name).where(Station.id.in_(station_ids))
        )
        stations = {row.id: row.name for row in found}
    if person_ids:
        found = await session.execute(
            select(Person.id, Person.first_name, Person.last_name).where(Person.id.in_(person_ids))
        )
        people = {row.id: f"{row.first_name} {row.last_name}" for row in found}
    return [
        Holding(
            handout=h,
            holder_name=stations.get(h.station_id, "–")
            if h.station_id is not None
            else people.get(h.person_id or 0, "–"),
            station_name=stations.get(h.station_id) if h.station_id is not None else None,
            person_id=h.person_id,
        )
        for h in handouts
    ]


async def asset_history(session: AsyncSession, asset_id: int) -> list[Holding]:
    """Every hand-out of an item, the latest first."""
    found = await session.scalars(
        select(MaterialHandout)
        .where(MaterialHandout.asset_id == asset_id)
        .order_by(MaterialHandout.handed_at.desc(), MaterialHandout.id.desc())
    )
    return await holdings(session, list(found))


async def held_by_person(session: AsyncSession, person_id: int) -> list[Holding]:
    """The items a person holds now, the oldest hand-out first."""
    found = await session.scalars(
        select(MaterialHandout)
        .where(MaterialHandout.person_id == person_id, MaterialHandout.returned_at.is_(None))
        .options(selectinload(MaterialHandout.asset).selectinload(MaterialAsset.article))
        .order_by(MaterialHandout.handed_at)
    )
    return await holdings(session, list(found))


@dataclass
class AssetRow:
    asset: MaterialAsset
    holding: Holding | None
    overdue: bool


def _filtered[S: Select[Any, Any]](statement: S, filters: Mapping[str, Any], today: dt.date) -> S:
    if filters.get("article_id"):
        statement = statement.where(MaterialAsset.article_id == filters["article_id"])
    if filters.get("state"):
        statement = statement.where(MaterialAsset.state == filters["state"])
    query = str(filters.get("q") or "").strip().lower()
    if query:
        pattern = f"%{query}%"
        statement = statement.where(
            or_(MaterialAsset.tag.ilike(pattern), MaterialAsset.serial.ilike(pattern))
        )
    holder = filters.get("holder")
    if holder == "station":
        statement = statement.where(MaterialHandout.station_id.is_not(None))
    elif holder == "person":
        statement = statement.where(MaterialHandout.person_id.is_not(None))
    elif holder == "none":
        statement = statement.where(MaterialHandout.id.is_(None))
    if filters.get("overdue"):
        statement = statement.where(MaterialHandout.due_back < today)
    return statement


async def list_assets(
    session: AsyncSession, filters: Mapping[str, Any], today: dt.date, limit: int = 1000
) -> list[AssetRow]:
    """The items with their open hand-out, by ``filters``: ``article_id``, ``state``,
    ``holder`` (station, person, none), ``overdue`` (due back before ``today``), ``q``
    (part of a tag or serial number)."""
    statement = (
        select(MaterialAsset, MaterialHandout)
        .outerjoin(
            MaterialHandout,
            (MaterialHandout.asset_id == MaterialAsset.id) & MaterialHandout.returned_at.is_(None),
        )
        .options(selectinload(MaterialAsset.article), selectinload(MaterialAsset.depot))
    )
    statement = _filtered(statement, filters, today).order_by(MaterialAsset.tag).limit(limit)
    rows: list[tuple[MaterialAsset, MaterialHandout | None]] = [
        (asset, handout) for asset, handout in await session.execute(statement)
    ]
    found = await holdings(session, [handout for _asset, handout in rows if handout is not None])
    by_id = {holding.handout.id: holding for holding in found}
    return [
        AssetRow(
            asset=asset,
            holding=by_id.get(handout.id) if handout is not None else None,
            overdue=handout is not None
            and handout.due_back is not None
            and handout.due_back < today,
        )
        for asset, handout in rows
    ]


async def election_leads(session: AsyncSession, election_id: int) -> list[tuple[int, str]]:
    """The people leading a station of the election (chairs and vice chairs): whom a
    logistics user may hand an item to, by name only."""
    found = await session.execute(
        select(Person.id, Person.first_name, Person.last_name)
        .join(Assignment, Assignment.person_id == Person.id)
        .join(RoleType, RoleType.id == Assignment.role_type_id)
        .join(Station, Station.id == Assignment.station_id)
        .where(
            Station.election_id == election_id,
            Assignment.state.in_(HOLDING_STATES),
            RoleType.leads_station.is_(True),
        )
        .distinct()
        .order_by(Person.last_name, Person.first_name)
    )
    return [(row.id, f"{row.first_name} {row.last_name}") for row in found]


@dataclass(frozen=True)
class StationGroup:
    """A district's stations among the hand-out form's choices."""

    district: str | None
    stations: list[tuple[int, str]]


@dataclass(frozen=True)
class StationMatches:
    groups: list[StationGroup]
    #: Stations that match beyond those shown: the reader types more of the name.
    more: int


async def find_stations(
    session: AsyncSession,
    election_id: int,
    query: str = "",
    *,
    chosen: int | None = None,
    limit: int = 50,
) -> StationMatches:
    """The election's stations whose name, or whose district's name or code, holds
    ``query`` (all for none), by district, as the hand-out form's choices: at most
    ``limit`` (a city has hundreds). ``chosen`` alone when it is given without a query
    (the form shown again after a refusal keeps its choice)."""
    statement = (
        select(Station.id, Station.name, District.code, District.name)
        .outerjoin(District, District.id == Station.district_id)
        .where(Station.election_id == election_id)
    )
    text = " ".join(query.split())[:100]
    if text:
        statement = statement.where(
            or_(
                Station.name.icontains(text, autoescape=True),
                District.name.icontains(text, autoescape=True),
                District.code.icontains(text, autoescape=True),
            )
        )
    elif chosen is not None:
        statement = statement.where(Station.id == chosen)
    total = await session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = await session.execute(
        statement.order_by(
            District.code.is_(None), District.code, District.name, Station.name, Station.id
        ).limit(limit)
    )
    groups: list[StationGroup] = []
    for station_id, name, code, district in rows:
        label = f"{code} {district}" if district is not None else None
        if not groups or groups[-1].district != label:
            groups.append(StationGroup(label, []))
        groups[-1].stations.append((station_id, name))
    return StationMatches(groups, max(0, total - limit))


async def person_choice(session: AsyncSession, person_id: int) -> tuple[int, str] | None:
    """A person of the municipality as a choice of the hand-out form (id and name)."""
    found = (
        await session.execute(
            select(Person.id, Person.first_name, Person.last_name).where(
                Person.id == person_id, Person.status == "active"
            )
        )
    ).first()
    return (found.id, f"{found.first_name} {found.last_name}") if found else None


async def get_asset(session: AsyncSession, asset_id: int) -> MaterialAsset:
    asset = await session.scalar(
        select(MaterialAsset)
        .where(MaterialAsset.id == asset_id)
        .options(selectinload(MaterialAsset.article), selectinload(MaterialAsset.depot))
    )
    if asset is None:
        raise NotFound(_("Not found."))
    return asset
