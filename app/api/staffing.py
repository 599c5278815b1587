"""Staffing over the JSON API: assignments and the staffing status of each station."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field, StrictBool
from quart_schema import tag, validate_querystring, validate_request, validate_response
from sqlalchemy import select

from app.api.registers import api_actor
from app.api.schema import Id, QueryId, problems
from app.core.problems import ApiError
from app.core.routes import Routes
from app.core.web import db
from app.domain.elections.elections import get_election
from app.domain.models import Assignment
from app.domain.staffing import assignments, board
from app.domain.staffing.assignments import StaffingError

routes = Routes()


class AssignmentOut(BaseModel):
    id: int
    election_id: int
    station_id: int
    shift_id: int
    role_type_id: int
    person_id: int
    state: str
    source: str
    overrides: list[str]
    created_at: dt.datetime

    @classmethod
    def of(cls, a: Assignment) -> AssignmentOut:
        return cls(
            id=a.id,
            election_id=a.election_id,
            station_id=a.station_id,
            shift_id=a.shift_id,
            role_type_id=a.role_type_id,
            person_id=a.person_id,
            state=a.state,
            source=a.source,
            overrides=list(a.overrides or []),
            created_at=a.created_at,
        )


class AssignmentList(BaseModel):
    items: list[AssignmentOut]


#: An assignment's state (``ASSIGNMENT_STATES``).
AssignmentState = Literal["proposed", "offered", "accepted", "declined", "withdrawn"]


class AssignmentQuery(BaseModel):
    state: AssignmentState | None = None
    station_id: QueryId | None = None


class AssignmentIn(BaseModel):
    shift_id: Id
    role_type_id: Id
    person_id: Id
    override: StrictBool = Field(False, description="Accept broken soft rules (audited)")


class CellOut(BaseModel):
    shift_id: int
    role: str
    minimum: int = Field(
        description=(
            "The norm's minimum as the legal minimum of a station counts it: 0 for a role "
            "that does not count toward it (a host), whose places have a target only"
        )
    )
    target: int
    filled: int
    status: str = Field(description="missing (below minimum), below (below target) or full")


class StationStaffingOut(BaseModel):
    station_id: int
    name: str
    district_id: int | None
    status: str
    lacks_lead: list[int] = Field(description="Shifts with no chair or vice chair")
    cells: list[CellOut]


class StaffingOut(BaseModel):
    items: list[StationStaffingOut]


@routes.get("/elections/<id:election_id>/assignments")
@tag(["staffing"])
@validate_querystring(AssignmentQuery)
@validate_response(AssignmentList)
async def api_assignments(election_id: int, query_args: AssignmentQuery) -> AssignmentList:
    """The election's assignments in every state (withdrawn and declined included)."""
    await get_election(db(), election_id)
    statement = select(Assignment).where(Assignment.election_id == election_id)
    if query_args.state is not None:
        statement = statement.where(Assignment.state == query_args.state)
    if query_args.station_id is not None:
        statement = statement.where(Assignment.station_id == query_args.station_id)
    rows = await db().scalars(statement.order_by(Assignment.id))
    return AssignmentList(items=[AssignmentOut.of(a) for a in rows])


@routes.get("/elections/<id:election_id>/staffing")
@tag(["staffing"])
@validate_response(StaffingOut)
async def api_staffing(election_id: int) -> StaffingOut:
    """Each station's staffing against its norms."""
    result = await board.staffing_board(db(), election_id, board.BoardFilters())
    return StaffingOut(
        items=[
            StationStaffingOut(
                station_id=row.station.id,
                name=row.station.name,
                district_id=row.station.district_id,
                status=row.status,
                lacks_lead=[s.shift.id for s in row.shifts if s.lacks_lead],
                cells=[
                    CellOut(
                        shift_id=cell.shift_id,
                        role=cell.role_code,
                        minimum=cell.minimum,
                        target=cell.target,
                        filled=cell.filled,
                        status=cell.status,
                    )
                    for s in row.shifts
                    for cell in s.cells
                ],
            )
            for row in result.stations
        ]
    )


@routes.post("/assignments")
@tag(["staffing"])
@problems(404, 409)
@validate_request(AssignmentIn)
@validate_response(AssignmentOut, 201)
async def api_create_assignment(data: AssignmentIn) -> tuple[AssignmentOut, int]:
    """Propose a person for a place; broken rules answer 409 with each rule."""
    try:
        assignment = await assignments.assign_person(
            db(),
            api_actor(),
            data.shift_id,
            data.role_type_id,
            data.person_id,
            override=data.override,
        )
    except StaffingError as error:
        raise ApiError(
            409,
            error.message,
            broken=[{"rule": b.rule, "hard": b.hard, "message": b.message} for b in error.broken],
        ) from None
    return AssignmentOut.of(assignment), 201


@routes.post("/assignments/<id:assignment_id>/withdraw")
@tag(["staffing"])
@problems(409)
@validate_response(AssignmentOut)
async def api_withdraw_assignment(assignment_id: int) -> AssignmentOut:
    try:
        assignment = await assignments.withdraw_assignment(db(), api_actor(), assignment_id)
    except StaffingError as error:
        raise ApiError(409, error.message) from None
    return AssignmentOut.of(assignment)
