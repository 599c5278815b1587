"""The registers and the election structure over the JSON API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field, StrictBool
from quart import g
from quart_schema import tag, validate_querystring, validate_request, validate_response

from app.api.openapi import no_content
from app.api.schema import Count, Day, Id, LocalTime, Number, PageNumber, PerPage, Words
from app.core.audit import Actor
from app.core.routes import Routes
from app.core.web import db
from app.domain.elections import elections
from app.domain.elections.districts import districts_of, save_district
from app.domain.elections.shifts import delete_shift, save_shift
from app.domain.elections.stations import delete_station, get_station, save_station, structure
from app.domain.models import Building, District, Election, Person, Room, Shift, Station
from app.domain.registers import people, premises
from app.domain.registers.identity import mask_national_id
from app.domain.registers.protection import PostalAddress, postal_address
from app.domain.staffing.shift_changes import edit_shift

routes = Routes()


def api_actor() -> Actor:
    return Actor(label=f"api:{g.api_token.name}")


def _country() -> str:
    return {"da": "DK"}.get(g.tenant.locale, "SE")


# --- people -------------------------------------------------------------------------------


class PersonIn(BaseModel):
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    national_id: str | None = Field(
        None, max_length=20, description="Written only; never returned in full."
    )
    national_id_country: str | None = Field(None, max_length=2, description="SE, DK or NO")
    email: str | None = Field(None, max_length=254)
    mobile: str | None = Field(None, max_length=30)
    street_address: str = Field("", max_length=200)
    postal_code: str = Field("", max_length=10)
    city: str = Field("", max_length=100)
    preferred_language: str = Field("sv", max_length=8)
    spoken_languages: Words = []
    tags: Words = []
    notes: str = Field("", max_length=5000)
    status: str = Field("active", max_length=16)


class PersonPatch(BaseModel):
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    national_id: str | None = Field(None, max_length=20)
    national_id_country: str | None = Field(None, max_length=2)
    email: str | None = Field(None, max_length=254)
    mobile: str | None = Field(None, max_length=30)
    street_address: str | None = Field(None, max_length=200)
    postal_code: str | None = Field(None, max_length=10)
    city: str | None = Field(None, max_length=100)
    preferred_language: str | None = Field(None, max_length=8)
    spoken_languages: Words | None = None
    tags: Words | None = None
    notes: str | None = Field(None, max_length=5000)
    status: str | None = Field(None, max_length=16)


class PersonOut(BaseModel):
    id: int
    first_name: str
    last_name: str
    national_id_masked: str
    birth_date: dt.date | None
    email: str | None
    mobile: str | None
    #: Empty when the address is protected (skyddad identitet): it is never given out.
    street_address: str
    postal_code: str
    city: str
    address_protected: bool
    preferred_language: str
    spoken_languages: list[str]
    tags: list[str]
    status: str

    @classmethod
    def of(cls, person: Person) -> PersonOut:
        address = postal_address(person) or PostalAddress("", "", "")
        return cls(
            id=person.id,
            first_name=person.first_name,
            last_name=person.last_name,
            national_id_masked=mask_national_id(person.national_id_country, person.national_id),
            birth_date=person.birth_date,
            email=person.email,
            mobile=person.mobile,
            street_address=address.street_address,
            postal_code=address.postal_code,
            city=address.city,
            address_protected=person.address_protected,
            preferred_language=person.preferred_language,
            spoken_languages=person.spoken_languages,
            tags=person.tags,
            status=person.status,
        )


class PeopleQuery(BaseModel):
    q: str = Field("", max_length=200)
    status: str | None = Field(None, max_length=16)
    page: PageNumber = 1
    per_page: PerPage = 100


class PeoplePage(BaseModel):
    items: list[PersonOut]
    total: int
    page: int
    pages: int


@routes.get("/people")
@tag(["people"])
@validate_querystring(PeopleQuery)
@validate_response(PeoplePage)
async def api_people(query_args: PeopleQuery) -> PeoplePage:
    """Search the person register (name prefix, id number, mobile)."""
    page = await people.search_people(
        db(),
        query_args.q,
        query_args.status,
        page=query_args.page,
        per_page=query_args.per_page,
        actor=api_actor(),
    )
    return PeoplePage(
        items=[PersonOut.of(p) for p in page.people],
        total=page.total,
        page=page.page,
        pages=page.pages,
    )


@routes.post("/people")
@tag(["people"])
@validate_request(PersonIn)
@validate_response(PersonOut, 201)
async def api_create_person(data: PersonIn) -> tuple[PersonOut, int]:
    """Register a person; duplicates (id number, email) are refused with 422."""
    person = await people.create_person(db(), api_actor(), data.model_dump(), _country())
    return PersonOut.of(person), 201


@routes.get("/people/<id:person_id>")
@tag(["people"])
@validate_response(PersonOut)
async def api_person(person_id: int) -> PersonOut:
    return PersonOut.of(await people.get_person(db(), person_id))


@routes.patch("/people/<id:person_id>")
@tag(["people"])
@validate_request(PersonPatch)
@validate_response(PersonOut)
async def api_update_person(person_id: int, data: PersonPatch) -> PersonOut:
    """Change some fields; an omitted id number keeps the stored one."""
    person = await people.get_person(db(), person_id)
    current: dict[str, Any] = {key: getattr(person, key) for key in people.PERSON_FIELDS}
    current["national_id"] = None
    current.update(data.model_dump(exclude_unset=True))
    return PersonOut.of(
        await people.update_person(db(), api_actor(), person_id, current, _country())
    )


# --- buildings and rooms ---------------------------------------------------------------------


class RoomIn(BaseModel):
    name: str = Field(max_length=200)
    capacity: Count = 0
    has_power: StrictBool = True
    has_network: StrictBool = False
    tables: Count = 0
    booths: Count = 0
    notes: str = Field("", max_length=5000)


class RoomOut(RoomIn):
    id: Id
    building_id: Id

    @classmethod
    def of(cls, room: Room) -> RoomOut:
        return cls(
            id=room.id,
            building_id=room.building_id,
            name=room.name,
            capacity=room.capacity,
            has_power=room.has_power,
            has_network=room.has_network,
            tables=room.tables,
            booths=room.booths,
            notes=room.notes,
        )


class BuildingIn(BaseModel):
    name: str = Field(max_length=200)
    street_address: str = Field("", max_length=200)
    postal_code: str = Field("", max_length=10)
    city: str = Field("", max_length=100)
    latitude: Number | None = Field(None, ge=-90, le=90)
    longitude: Number | None = Field(None, ge=-180, le=180)
    step_free_access: StrictBool = False
    accessible_toilet: StrictBool = False
    parking: StrictBool = False
    contact_name: str = Field("", max_length=200)
    contact_phone: str = Field("", max_length=20)
    access_notes: str = Field("", max_length=5000)


class BuildingOut(BuildingIn):
    id: Id
    rooms: list[RoomOut]

    @classmethod
    def of(cls, building: Building) -> BuildingOut:
        fields = {key: getattr(building, key) for key in BuildingIn.model_fields}
        return cls(id=building.id, rooms=[RoomOut.of(r) for r in building.rooms], **fields)


class BuildingList(BaseModel):
    items: list[BuildingOut]


@routes.get("/buildings")
@tag(["premises"])
@validate_response(BuildingList)
async def api_buildings() -> BuildingList:
    return BuildingList(items=[BuildingOut.of(b) for b in await premises.list_buildings(db())])


@routes.post("/buildings")
@tag(["premises"])
@validate_request(BuildingIn)
@validate_response(BuildingOut, 201)
async def api_create_building(data: BuildingIn) -> tuple[BuildingOut, int]:
    building = await premises.save_building(db(), api_actor(), data.model_dump())
    return BuildingOut.of(await premises.get_building(db(), building.id)), 201


@routes.get("/buildings/<id:building_id>")
@tag(["premises"])
@validate_response(BuildingOut)
async def api_building(building_id: int) -> BuildingOut:
    return BuildingOut.of(await premises.get_building(db(), building_id))


@routes.put("/buildings/<id:building_id>")
@tag(["premises"])
@validate_request(BuildingIn)
@validate_response(BuildingOut)
async def api_update_building(building_id: int, data: BuildingIn) -> BuildingOut:
    await premises.save_building(db(), api_actor(), data.model_dump(), building_id)
    return BuildingOut.of(await premises.get_building(db(), building_id))


@routes.post("/buildings/<id:building_id>/rooms")
@tag(["premises"])
@validate_request(RoomIn)
@validate_response(RoomOut, 201)
async def api_create_room(building_id: int, data: RoomIn) -> tuple[RoomOut, int]:
    return RoomOut.of(
        await premises.save_room(db(), api_actor(), building_id, data.model_dump())
    ), 201


@routes.put("/buildings/<id:building_id>/rooms/<id:room_id>")
@tag(["premises"])
@validate_request(RoomIn)
@validate_response(RoomOut)
async def api_update_room(building_id: int, room_id: int, data: RoomIn) -> RoomOut:
    return RoomOut.of(
        await premises.save_room(db(), api_actor(), building_id, data.model_dump(), room_id)
    )


# --- elections and their structure -----------------------------------------------------


class ElectionIn(BaseModel):
    name: str = Field(max_length=200)
    kind: str = Field(
        max_length=16, description="parliament, region, municipal, eu, referendum, church, combined"
    )
    election_day: Day
    advance_start: Day | None = None
    advance_end: Day | None = None
    status: str = Field("planning", max_length=16)


class ElectionOut(ElectionIn):
    id: Id

    @classmethod
    def of(cls, election: Election) -> ElectionOut:
        return cls(
            id=election.id, **{key: getattr(election, key) for key in ElectionIn.model_fields}
        )


class ElectionList(BaseModel):
    items: list[ElectionOut]


class DistrictIn(BaseModel):
    code: str = Field(max_length=20)
    name: str = Field(max_length=200)
    eligible_voters: Count = 0


class DistrictOut(DistrictIn):
    id: Id

    @classmethod
    def of(cls, district: District) -> DistrictOut:
        return cls(
            id=district.id,
            code=district.code,
            name=district.name,
            eligible_voters=district.eligible_voters,
        )


class DistrictList(BaseModel):
    items: list[DistrictOut]


class ShiftIn(BaseModel):
    name: str = Field(max_length=100)
    day: Day
    starts_at: LocalTime
    ends_at: LocalTime


class NormOut(BaseModel):
    role: str
    minimum: int
    target: int


class ShiftOut(ShiftIn):
    id: Id
    names: dict[str, str] = Field(
        description="The name in the other languages than the municipality's, where the "
        "office gave one (by language code: sv, da, en); `name` is its own language's"
    )
    norms: list[NormOut]

    @classmethod
    def of(cls, shift: Shift) -> ShiftOut:
        return cls(
            id=shift.id,
            name=shift.name,
            names=dict(shift.names or {}),
            day=shift.day,
            starts_at=shift.starts_at,
            ends_at=shift.ends_at,
            norms=[
                NormOut(role=n.role_type.code, minimum=n.minimum, target=n.target)
                for n in shift.norms
            ],
        )


class StationIn(BaseModel):
    name: str = Field(max_length=200)
    kind: str = Field(max_length=16, description="polling or advance")
    district_id: Id | None = None
    room_id: Id | None = None


class StationOut(StationIn):
    id: Id
    shifts: list[ShiftOut]

    @classmethod
    def of(cls, station: Station) -> StationOut:
        return cls(
            id=station.id,
            name=station.name,
            kind=station.kind,
            district_id=station.district_id,
            room_id=station.room_id,
            shifts=[ShiftOut.of(s) for s in station.shifts],
        )


class StationList(BaseModel):
    items: list[StationOut]


def _form(model: BaseModel) -> dict[str, Any]:
    return {key: "" if value is None else value for key, value in model.model_dump().items()}


@routes.get("/elections")
@tag(["elections"])
@validate_response(ElectionList)
async def api_elections() -> ElectionList:
    return ElectionList(
        items=[ElectionOut.of(e) for e, _d, _s in await elections.list_elections(db())]
    )


@routes.post("/elections")
@tag(["elections"])
@validate_request(ElectionIn)
@validate_response(ElectionOut, 201)
async def api_create_election(data: ElectionIn) -> tuple[ElectionOut, int]:
    return ElectionOut.of(await elections.save_election(db(), api_actor(), _form(data))), 201


@routes.get("/elections/<id:election_id>")
@tag(["elections"])
@validate_response(ElectionOut)
async def api_election(election_id: int) -> ElectionOut:
    return ElectionOut.of(await elections.get_election(db(), election_id))


@routes.put("/elections/<id:election_id>")
@tag(["elections"])
@validate_request(ElectionIn)
@validate_response(ElectionOut)
async def api_update_election(election_id: int, data: ElectionIn) -> ElectionOut:
    return ElectionOut.of(
        await elections.save_election(db(), api_actor(), _form(data), election_id)
    )


@routes.get("/elections/<id:election_id>/districts")
@tag(["elections"])
@validate_response(DistrictList)
async def api_districts(election_id: int) -> DistrictList:
    await elections.get_election(db(), election_id)
    return DistrictList(items=[DistrictOut.of(d) for d in await districts_of(db(), election_id)])


@routes.post("/elections/<id:election_id>/districts")
@tag(["elections"])
@validate_request(DistrictIn)
@validate_response(DistrictOut, 201)
async def api_create_district(election_id: int, data: DistrictIn) -> tuple[DistrictOut, int]:
    district = await save_district(db(), api_actor(), election_id, data.model_dump())
    return DistrictOut.of(district), 201


@routes.get("/elections/<id:election_id>/stations")
@tag(["elections"])
@validate_response(StationList)
async def api_stations(election_id: int) -> StationList:
    _election, stations = await structure(db(), election_id)
    return StationList(items=[StationOut.of(s) for s in stations])


@routes.post("/elections/<id:election_id>/stations")
@tag(["elections"])
@validate_request(StationIn)
@validate_response(StationOut, 201)
async def api_create_station(election_id: int, data: StationIn) -> tuple[StationOut, int]:
    station = await save_station(db(), api_actor(), election_id, _form(data))
    return StationOut.of(await get_station(db(), station.id, election_id)), 201


@routes.get("/elections/<id:election_id>/stations/<id:station_id>")
@tag(["elections"])
@validate_response(StationOut)
async def api_station(election_id: int, station_id: int) -> StationOut:
    return StationOut.of(await get_station(db(), station_id, election_id))


@routes.post("/elections/<id:election_id>/stations/<id:station_id>/shifts")
@tag(["elections"])
@validate_request(ShiftIn)
@validate_response(ShiftOut, 201)
async def api_create_shift(
    election_id: int, station_id: int, data: ShiftIn
) -> tuple[ShiftOut, int]:
    shift = await save_shift(db(), api_actor(), election_id, station_id, data.model_dump())
    station = await get_station(db(), station_id, election_id)
    return ShiftOut.of(next(s for s in station.shifts if s.id == shift.id)), 201


@routes.put("/elections/<id:election_id>/districts/<id:district_id>")
@tag(["elections"])
@validate_request(DistrictIn)
@validate_response(DistrictOut)
async def api_update_district(election_id: int, district_id: int, data: DistrictIn) -> DistrictOut:
    district = await save_district(db(), api_actor(), election_id, data.model_dump(), district_id)
    return DistrictOut.of(district)


@routes.put("/elections/<id:election_id>/stations/<id:station_id>")
@tag(["elections"])
@validate_request(StationIn)
@validate_response(StationOut)
async def api_update_station(election_id: int, station_id: int, data: StationIn) -> StationOut:
    await save_station(db(), api_actor(), election_id, _form(data), station_id)
    return StationOut.of(await get_station(db(), station_id, election_id))


@routes.delete("/elections/<id:election_id>/stations/<id:station_id>")
@tag(["elections"])
@no_content
async def api_delete_station(election_id: int, station_id: int) -> tuple[str, int]:
    """Remove a station with its opening hours, shifts and norms."""
    await delete_station(db(), api_actor(), election_id, station_id)
    return "", 204


@routes.put("/elections/<id:election_id>/stations/<id:station_id>/shifts/<id:shift_id>")
@tag(["elections"])
@validate_request(ShiftIn)
@validate_response(ShiftOut)
async def api_update_shift(
    election_id: int, station_id: int, shift_id: int, data: ShiftIn
) -> ShiftOut:
    # As on the station page: the people on it stay, the rules hold, and they are told.
    await edit_shift(db(), api_actor(), election_id, station_id, shift_id, data.model_dump())
    station = await get_station(db(), station_id, election_id)
    return ShiftOut.of(next(s for s in station.shifts if s.id == shift_id))


@routes.delete("/elections/<id:election_id>/stations/<id:station_id>/shifts/<id:shift_id>")
@tag(["elections"])
@no_content
async def api_delete_shift(election_id: int, station_id: int, shift_id: int) -> tuple[str, int]:
    await delete_shift(db(), api_actor(), election_id, station_id, shift_id)
    return "", 204
