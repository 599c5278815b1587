"""Queries several areas build on: a person's assignments with where and when they are."""

from __future__ import annotations

from sqlalchemy import Select, select

from app.domain.models import Assignment, Election, RoleType, Shift, Station


def assignments_of_person(person_id: int) -> Select[Assignment, Election, Station, Shift, RoleType]:
    """A person's assignments in every election and state, each with its election,
    station, shift and role, soonest shift first. Callers narrow it to the states and
    days they show, and may join more (the station's room) or load more."""
    return (
        select(Assignment, Election, Station, Shift, RoleType)
        .join(Election, Election.id == Assignment.election_id)
        .join(Station, Station.id == Assignment.station_id)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(RoleType, RoleType.id == Assignment.role_type_id)
        .where(Assignment.person_id == person_id)
        .order_by(Shift.day, Shift.starts_at, Assignment.id)
    )
