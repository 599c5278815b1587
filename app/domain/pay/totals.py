"""Pay per role and district, for the statistics page and the office's budget.

Summed in the database for the people whose pay is plain, the great many on an election
day: one accepted place, paid by the day or the shift, and no check-in or one arrival
followed by one leaving (or none at all), on a day with no clock change, and no hours
settled by the office. Everyone else (two places, hourly pay, a conflict, settled
hours) is computed person by person by ``app.domain.pay.compute``, as payroll is. The
two give the same sums: the tests hold them side by side on a varied election.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Date,
    Integer,
    Select,
    Time,
    and_,
    bindparam,
    case,
    cast,
    false,
    func,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import utcnow
from app.domain.elections.elections import get_election
from app.domain.models import (
    Assignment,
    CheckIn,
    Course,
    CourseBooking,
    CourseSession,
    Election,
    PayAdjustment,
    PayRule,
    PaySettlement,
    Person,
    RoleType,
    Shift,
    Station,
)
from app.domain.ops.access import local_zone
from app.domain.pay.clock_sql import seconds_of_day, whole_seconds_between
from app.domain.pay.compute import COUNT_STARTS, EARLY_LEAVE_GRACE, compute_pay
from app.domain.pay.sources import TRAINING_REACH


@dataclass(frozen=True)
class PayTotal:
    """What one role costs in one district (``district_id`` None: advance voting)."""

    role_type_id: int
    district_id: int | None
    amount: Decimal
    #: People with a pay line of this role here (a person in two districts counts in both).
    people: int


def _cents(amount: Any) -> Any:
    """An amount of money (two decimals) as whole cents."""
    return cast(func.round(amount * 100), Integer)


def _parameters(
    election: Election, now: dt.datetime, zone: Any, clock_days: list[dt.date]
) -> dict[str, Any]:
    """The values of the statements' parameters for an election at a moment."""
    local = now.astimezone(zone)
    return {
        "election_id": election.id,
        "election_day": election.election_day,
        "trained_since": election.election_day - TRAINING_REACH,
        "today": local.date(),
        "clock": local.time().replace(tzinfo=None),
        "clock_days": clock_days,
    }


ELECTION_ID = bindparam("election_id", type_=Integer)
ELECTION_DAY = bindparam("election_day", type_=Date)


def _per_person() -> tuple[Any, Any, Any, Any]:
    """Per person (and shift) what the places are joined with: the check-ins as a count
    and the last arrival and leaving, the number of places, training attended for the
    election, and the adjustments in cents."""
    election_id, election_day = ELECTION_ID, ELECTION_DAY
    stamps = (
        select(
            CheckIn.shift_id,
            CheckIn.person_id,
            func.count().label("stamps"),
            func.sum(case((CheckIn.kind == "arrived", 1), else_=0)).label("arrivals"),
            func.max(case((CheckIn.kind == "arrived", CheckIn.checked_at))).label("arrived"),
            func.max(case((CheckIn.kind == "left", CheckIn.checked_at))).label("left"),
        )
        .where(CheckIn.election_id == election_id)
        .group_by(CheckIn.shift_id, CheckIn.person_id)
        .subquery()
    )
    held = (
        select(Assignment.person_id, func.count().label("places"))
        .where(Assignment.election_id == election_id, Assignment.state == "accepted")
        .group_by(Assignment.person_id)
        .subquery()
    )
    trained = (
        select(CourseBooking.person_id)
        .join(CourseSession, CourseSession.id == CourseBooking.session_id)
        .join(Course, Course.id == CourseBooking.course_id)
        .where(
            CourseBooking.state == "attended",
            or_(
                Course.election_id == election_id,
                and_(
                    Course.election_id.is_(None),
                    CourseSession.day <= election_day,
                    CourseSession.day >= bindparam("trained_since", type_=Date),
                ),
            ),
        )
        .group_by(CourseBooking.person_id)
        .subquery()
    )
    adjusted = (
        select(
            PayAdjustment.person_id,
            func.sum(_cents(PayAdjustment.amount)).label("cents"),
            func.count().label("lines"),
        )
        .where(PayAdjustment.election_id == election_id)
        .group_by(PayAdjustment.person_id)
        .subquery()
    )
    return stamps, held, trained, adjusted


@cache
def _places() -> Select[Any]:
    """Each accepted place with what its pay is summed from and whether it is plain.

    Built once, with parameters (``_parameters``): building a statement this size takes
    longer than the database takes to run it."""
    election_id, election_day = ELECTION_ID, ELECTION_DAY
    stamps, held, trained, adjusted = _per_person()
    settled = select(PaySettlement.person_id).where(PaySettlement.election_id == election_id)
    today = bindparam("today", type_=Date)
    ended = or_(
        Shift.day < today,
        and_(Shift.day == today, Shift.ends_at <= bindparam("clock", type_=Time)),
    )
    planned = seconds_of_day(Shift.ends_at) - seconds_of_day(Shift.starts_at)
    seconds = case(
        (stamps.c.stamps.is_not(None), whole_seconds_between(stamps.c.arrived, stamps.c.left)),
        (ended, 0),
        else_=planned,
    )
    basis = func.coalesce(PayRule.basis, case((RoleType.pay_unit == "hour", "hour"), else_="day"))
    plain = and_(
        held.c.places == 1,
        Assignment.person_id.not_in(settled),
        basis != "hour",
        Shift.ends_at > Shift.starts_at,
        Shift.day.not_in(bindparam("clock_days", expanding=True, type_=Date)),
        or_(
            stamps.c.stamps.is_(None),
            and_(
                stamps.c.stamps == 2,
                stamps.c.arrivals == 1,
                stamps.c.arrived < stamps.c.left,
            ),
        ),
    )
    counts = and_(Shift.day == election_day, Shift.ends_at > COUNT_STARTS)

    def joined(statement: Select[Any]) -> Select[Any]:
        return (
            statement.join(Shift, Shift.id == Assignment.shift_id)
            .join(Station, Station.id == Assignment.station_id)
            .join(RoleType, RoleType.id == Assignment.role_type_id)
            .join(held, held.c.person_id == Assignment.person_id)
            .outerjoin(
                PayRule,
                and_(PayRule.election_id == election_id, PayRule.role_type_id == RoleType.id),
            )
            .outerjoin(
                stamps,
                and_(
                    stamps.c.shift_id == Assignment.shift_id,
                    stamps.c.person_id == Assignment.person_id,
                ),
            )
        )

    full = select(
        Assignment.person_id,
        Assignment.role_type_id,
        Station.district_id,
        plain.label("plain"),
        seconds.label("seconds"),
        planned.label("planned"),
        _cents(func.coalesce(PayRule.amount, RoleType.pay_amount)).label("fee"),
        (PayRule.prorate_early_leave == false()).label("whole_fee"),
        func.coalesce(_cents(PayRule.day_supplement), 0).label("supplement"),
        case((counts, func.coalesce(_cents(PayRule.counting_supplement), 0)), else_=0).label(
            "counting"
        ),
        func.coalesce(_cents(PayRule.travel_allowance), 0).label("travel"),
        case(
            (trained.c.person_id.is_not(None), func.coalesce(_cents(PayRule.training_fee), 0)),
            else_=0,
        ).label("training"),
        (PayRule.training_only_if_served == false()).label("training_always"),
        func.coalesce(adjusted.c.cents, 0).label("adjusted"),
        func.coalesce(adjusted.c.lines, 0).label("adjustments"),
    )
    return (
        joined(full)
        .outerjoin(trained, trained.c.person_id == Assignment.person_id)
        .outerjoin(adjusted, adjusted.c.person_id == Assignment.person_id)
        .where(Assignment.election_id == election_id, Assignment.state == "accepted")
    )


@cache
def _sums() -> CompoundSelect[Any]:
    """Pay in cents and people per role and district, of the plain places (one each),
    followed by the people with a place that is not plain (``person_id`` set, the sums
    null), to be computed person by person.

    One statement over the places read once (a common table expression read twice,
    which PostgreSQL materialises): the people not plain were a second statement that
    joined and worked out every place again.

    The others count as nothing here rather than being left out by a condition: the
    planner then knows every place goes through and joins by hashing, where a guess
    of a few rows had it look each person's training and adjustments up one by one."""
    grace = int(EARLY_LEAVE_GRACE.total_seconds())
    row = _places().cte("placed")
    present = row.c.seconds > 0
    factor = case(
        (~present, 0),
        (
            or_(row.c.whole_fee, row.c.planned <= 0, row.c.seconds >= row.c.planned - grace),
            100,
        ),
        # The share of the planned time worked, in hundredths, rounded half up.
        else_=(200 * row.c.seconds + row.c.planned) // (2 * row.c.planned),
    )
    fee = (factor * row.c.fee + 50) // 100
    paid = [
        fee,
        case((present, row.c.supplement), else_=0),
        case((present, row.c.counting), else_=0),
        case((present, row.c.travel), else_=0),
        case((or_(present, row.c.training_always), row.c.training), else_=0),
    ]
    per_place = select(
        row.c.role_type_id,
        row.c.district_id,
        case(
            (row.c.plain, paid[0] + paid[1] + paid[2] + paid[3] + paid[4] + row.c.adjusted),
            else_=0,
        ).label("cents"),
        case(
            (and_(row.c.plain, or_(*(part != 0 for part in paid), row.c.adjustments > 0)), 1),
            else_=0,
        ).label("paid"),
    ).subquery()
    sums = select(
        per_place.c.role_type_id,
        per_place.c.district_id,
        func.sum(per_place.c.cents).label("cents"),
        func.sum(per_place.c.paid).label("paid"),
        cast(null(), Integer).label("person_id"),
    ).group_by(per_place.c.role_type_id, per_place.c.district_id)
    # Not ``~row.c.plain`` as a filter of its own: the same words as the sums' ``case``
    # (a place whose plainness is unknown is neither summed nor computed, as before).
    nothing = cast(null(), Integer)
    irregular = (
        select(nothing, nothing, nothing, nothing, row.c.person_id).where(~row.c.plain).distinct()
    )
    return union_all(sums, irregular)


async def _clock_days(session: AsyncSession, election_id: int, zone: Any) -> list[dt.date]:
    """The election's shift days on which the clocks change (summer time begins or ends):
    a day not 24 hours long, whose places are computed person by person."""
    days = await session.scalars(
        select(Shift.day)
        .join(Assignment, Assignment.shift_id == Shift.id)
        .where(Assignment.election_id == election_id)
        .distinct()
    )
    found = []
    for day in days:
        midnight = dt.datetime.combine(day, dt.time.min, zone)
        following = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, zone)
        if midnight.utcoffset() != following.utcoffset():
            found.append(day)
    return found


async def pay_by_role_and_district(
    session: AsyncSession, election_id: int, now: dt.datetime | None = None
) -> list[PayTotal]:
    """Pay per role and district: computed from check-ins where shifts were worked, the
    estimate from the rules for shifts still to come. No-shows cost nothing; training,
    travel and adjustments count in the person's first district and role.

    Sorted by district (advance voting last) and role id. Raises ``NotFound`` for an
    election of another municipality.
    """
    election = await get_election(session, election_id)
    now = (now or utcnow()).astimezone(dt.UTC)
    zone = await local_zone(session)
    parameters = _parameters(election, now, zone, await _clock_days(session, election.id, zone))
    amounts: dict[tuple[int, int | None], Decimal] = {}
    people: dict[tuple[int, int | None], int] = {}
    irregular: list[int] = []
    rows = await session.execute(_sums(), parameters)
    for role_type_id, district_id, cents, paid, person_id in rows:
        if person_id is not None:
            irregular.append(person_id)
        elif paid:
            amounts[(role_type_id, district_id)] = Decimal(int(cents)).scaleb(-2)
            people[(role_type_id, district_id)] = int(paid)
    # The people not plain came as ids (a handful on an election day): the five reads of
    # the pay computation look them up instead of repeating the places' query.
    if irregular:
        pay = await compute_pay(
            session, election.id, people=select(Person.id).where(Person.id.in_(irregular)), now=now
        )
        seen: dict[tuple[int, int | None], set[int]] = {}
        for line in pay.lines:
            if line.role_type_id is None:
                continue
            key = (line.role_type_id, line.district_id)
            amounts[key] = amounts.get(key, Decimal("0")) + line.amount
            seen.setdefault(key, set()).add(line.person_id)
        for key, found in seen.items():
            people[key] = people.get(key, 0) + len(found)
    totals = [
        PayTotal(role_type_id, district_id, amount, people[(role_type_id, district_id)])
        for (role_type_id, district_id), amount in amounts.items()
    ]
    totals.sort(key=lambda t: (t.district_id is None, t.district_id or 0, t.role_type_id))
    return totals
