"""Each person's pay computed from what happened: accepted places, check-ins (or the
hours the office settled), training attended and manual adjustments.

A place is *worked* from its check-ins: arrived to left, as often as the person came
and went. A place with no check-in is an *estimate* (the planned hours) while its
shift has not ended, and a *no-show* (no fee) after. Arrived but never left, left
without arriving, and a check-in without an accepted place are *conflicts*: shown,
computed as far as they can be, and refused at approval until the office settles them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property, lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import utcnow
from app.domain.elections.elections import get_election
from app.domain.models import PayRule, PaySettlement
from app.domain.ops.access import at, local_zone
from app.domain.pay import sources
from app.domain.pay.hours import EVENING, WEEKDAY, WEEKEND, split_seconds
from app.domain.pay.rules import rules_by_role
from app.domain.pay.sources import Place, Stamp

CENT = Decimal("0.01")
ZERO = Decimal("0")
#: Polls close at 20:00 in Sweden and Denmark: a shift of election day that ends later
#: runs into the count and earns the counting supplement.
COUNT_STARTS = dt.time(20, 0)
#: Leaving this little before the planned end is not leaving early.
EARLY_LEAVE_GRACE = dt.timedelta(minutes=15)

Interval = tuple[dt.datetime, dt.datetime]


@dataclass(frozen=True)
class PayLine:
    """One line of a person's pay, as it goes to payroll."""

    person_id: int
    role_type_id: int | None
    district_id: int | None
    kind: str
    day: dt.date
    quantity: Decimal
    rate: Decimal
    amount: Decimal
    text: str = ""
    #: From the plan, not from check-ins: the shift has not been worked yet.
    estimate: bool = False


@dataclass(frozen=True)
class Conflict:
    """A check-in pay cannot be computed from until the office settles it."""

    person_id: int
    shift_id: int
    station_id: int
    district_id: int | None
    day: dt.date
    #: ``never_left``, ``never_arrived`` or ``no_place``.
    problem: str
    arrived: dt.datetime | None = None


@dataclass
class ElectionPay:
    """Everyone's computed pay in an election (or the people asked about)."""

    lines: list[PayLine] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    #: Accepted places whose shift ended with no check-in: (person id, place).
    no_shows: list[tuple[int, Place]] = field(default_factory=list)
    #: Each person's district and role: those of their first accepted place.
    home: dict[int, tuple[int | None, int | None]] = field(default_factory=dict)

    def lines_of(self, person_id: int) -> list[PayLine]:
        return [line for line in self.lines if line.person_id == person_id]


@dataclass
class _Worked:
    place: Place
    intervals: list[Interval]
    estimate: bool

    @cached_property
    def seconds(self) -> int:
        return int(sum((end - start).total_seconds() for start, end in self.intervals))


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@lru_cache(maxsize=4096)
def _utc(day: dt.date, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    # Worked time is kept in UTC: differences of times in a ZoneInfo zone ask the zone
    # for its offset each time, which thousands of places feel. Thousands of places
    # share a few hundred shifts' times: each is converted once (a pure function).
    return at(day, time, zone).astimezone(dt.UTC)


def _planned(place: Place, zone: ZoneInfo) -> Interval:
    return _utc(place.day, place.starts_at, zone), _utc(place.day, place.ends_at, zone)


def _settled(place: Place, settlement: PaySettlement, zone: ZoneInfo) -> list[Interval]:
    if settlement.worked_from is None or settlement.worked_until is None:
        return []
    start = _utc(place.day, settlement.worked_from, zone)
    end = _utc(place.day, settlement.worked_until, zone)
    if end <= start:
        end = _utc(place.day + dt.timedelta(days=1), settlement.worked_until, zone)
    return [(start, end)]


def _pair(stamps: list[Stamp]) -> tuple[list[Interval], dt.datetime | None, bool]:
    """Arrived-to-left intervals, an arrival still open, and whether a "left" came
    without an arrival before it."""
    intervals: list[Interval] = []
    open_at: dt.datetime | None = None
    orphan_left = False
    for stamp in stamps:
        if stamp.kind == "arrived":
            open_at = open_at or stamp.at
        elif open_at is None:
            orphan_left = True
        else:
            intervals.append((open_at, stamp.at))
            open_at = None
    return intervals, open_at, orphan_left


class _Reader:
    """Turns places, check-ins and settlements into worked time and conflicts."""

    def __init__(
        self,
        zone: ZoneInfo,
        now: dt.datetime,
        stamps: dict[tuple[int, int], list[Stamp]],
        settled: dict[tuple[int, int], PaySettlement],
    ) -> None:
        self.zone, self.now, self.stamps, self.settled = zone, now, stamps, settled
        self.result = ElectionPay()

    def read(self, place: Place) -> _Worked:
        key = (place.shift_id, place.person_id)
        start, end = _planned(place, self.zone)
        if key in self.settled:
            intervals = _settled(place, self.settled[key], self.zone)
            return _Worked(place, intervals, False)
        found = self.stamps.get(key, [])
        if not found:
            if self.now < end:
                return _Worked(place, [(start, end)], True)
            self.result.no_shows.append((place.person_id, place))
            # Kept, with no time worked: a fee per day is shared by the day's places.
            return _Worked(place, [], False)
        intervals, open_at, orphan_left = _pair(found)
        if orphan_left:
            self._conflict(place, "never_arrived")
        if open_at is not None:
            if self.now < end:
                intervals.append((open_at, max(open_at, end)))
                return _Worked(place, intervals, True)
            self._conflict(place, "never_left", open_at)
            intervals.append((open_at, max(open_at, end)))
        return _Worked(place, intervals, False)

    def _conflict(self, place: Place, problem: str, arrived: dt.datetime | None = None) -> None:
        self.result.conflicts.append(
            Conflict(
                place.person_id,
                place.shift_id,
                place.station_id,
                place.district_id,
                place.day,
                problem,
                arrived,
            )
        )

    def unplaced(self, places: Iterable[Place]) -> None:
        """Check-ins on a shift where the person holds no accepted place."""
        held = {(p.shift_id, p.person_id) for p in places}
        for (shift_id, person_id), found in self.stamps.items():
            if (shift_id, person_id) in held or (shift_id, person_id) in self.settled:
                continue
            first = found[0]
            self.result.conflicts.append(
                Conflict(
                    person_id, shift_id, first.station_id, first.district_id, first.day, "no_place"
                )
            )


def _factor(worked: list[_Worked], zone: ZoneInfo, rule: PayRule) -> Decimal:
    """The share of a fixed fee earned: all of it, or (leaving early) the share of the
    planned time worked."""
    planned = sum(
        (_planned(w.place, zone)[1] - _planned(w.place, zone)[0]).total_seconds() for w in worked
    )
    done = sum(w.seconds for w in worked)
    if done <= 0:
        return Decimal("0")
    if not rule.prorate_early_leave or planned <= 0:
        return Decimal("1")
    if done >= planned - EARLY_LEAVE_GRACE.total_seconds():
        return Decimal("1")
    return (Decimal(done) / Decimal(int(planned))).quantize(CENT, rounding=ROUND_HALF_UP)


def _place_text(place: Place) -> str:
    """ "Station, shift 07:30–14:00": the line's text in the payroll file."""
    return f"{place.station}, {place.shift} {place.starts_at:%H:%M}–{place.ends_at:%H:%M}"


class _Lines:
    """Writes the pay lines of one person's worked places by their role's rule."""

    def __init__(self, rules: dict[int, PayRule], zone: ZoneInfo, election_day: dt.date) -> None:
        self.rules, self.zone, self.election_day = rules, zone, election_day
        self.lines: list[PayLine] = []
        # Thousands of places share a few hundred shifts: each text is made once.
        self.texts: dict[int, str] = {}

    def text(self, place: Place) -> str:
        found = self.texts.get(place.shift_id)
        if found is None:
            found = self.texts[place.shift_id] = _place_text(place)
        return found

    def add(
        self,
        place: Place,
        kind: str,
        day: dt.date,
        quantity: Decimal,
        rate: Decimal,
        text: str,
        estimate: bool,
    ) -> None:
        amount = money(quantity * rate)
        if amount == ZERO:
            return
        self.lines.append(
            PayLine(
                place.person_id,
                place.role_type_id,
                place.district_id,
                kind,
                day,
                quantity,
                rate,
                amount,
                text,
                estimate,
            )
        )

    def fees(self, worked: list[_Worked]) -> None:
        """Fees, hours and supplements of one person's worked places of one role."""
        days: dict[dt.date, list[_Worked]] = {}
        for w in worked:
            days.setdefault(w.place.day, []).append(w)
        for day, same_day in days.items():
            rule = self.rules.get(same_day[0].place.role_type_id)
            present = [w for w in same_day if w.seconds > 0]
            if rule is None or not present:
                continue
            estimate = any(w.estimate for w in same_day)
            if rule.basis == "hour":
                self._hours(rule, same_day)
            elif rule.basis == "shift":
                for w in same_day:
                    factor = _factor([w], self.zone, rule)
                    self.add(
                        w.place, "fee", day, factor, rule.amount, self.text(w.place), w.estimate
                    )
            else:
                factor = _factor(same_day, self.zone, rule)
                text = "; ".join(self.text(w.place) for w in present)
                self.add(present[0].place, "fee", day, factor, rule.amount, text, estimate)
            first = present[0].place
            one = Decimal("1")
            self.add(first, "supplement", day, one, rule.day_supplement, "", estimate)
            for w in present:
                if w.place.day == self.election_day and w.place.ends_at > COUNT_STARTS:
                    self.add(
                        w.place,
                        "counting",
                        day,
                        one,
                        rule.counting_supplement,
                        self.text(w.place),
                        w.estimate,
                    )

    def _hours(self, rule: PayRule, worked: list[_Worked]) -> None:
        seconds = {WEEKDAY: 0, EVENING: 0, WEEKEND: 0}
        for w in worked:
            for start, end in w.intervals:
                for kind, count in split_seconds(start, end, rule.evening_from, self.zone).items():
                    seconds[kind] += count
        rates = {
            WEEKDAY: rule.amount,
            EVENING: rule.evening_rate if rule.evening_rate is not None else rule.amount,
            WEEKEND: rule.weekend_rate if rule.weekend_rate is not None else rule.amount,
        }
        text = "; ".join(self.text(w.place) for w in worked)
        estimate = any(w.estimate for w in worked)
        for kind, count in seconds.items():
            if count:
                hours = (Decimal(count) / 3600).quantize(CENT, rounding=ROUND_HALF_UP)
                self.add(
                    worked[0].place, kind, worked[0].place.day, hours, rates[kind], text, estimate
                )


async def compute_pay(
    session: AsyncSession,
    election_id: int,
    people: sources.People = None,
    now: dt.datetime | None = None,
) -> ElectionPay:
    """Everyone's pay in an election, or that of ``people`` (a selection of person ids)."""
    election = await get_election(session, election_id)
    zone = await local_zone(session)
    rules = await rules_by_role(session, election.id)
    places = await sources.accepted_places(session, election.id, people)
    reader = _Reader(
        zone,
        (now or utcnow()).astimezone(dt.UTC),
        await sources.stamps(session, election.id, people),
        await sources.settlements(session, election.id, people),
    )
    writer = _Lines(rules, zone, election.election_day)
    by_person: dict[int, list[_Worked]] = {}
    result = reader.result
    for place in places:
        result.home.setdefault(place.person_id, (place.district_id, place.role_type_id))
        by_person.setdefault(place.person_id, []).append(reader.read(place))
    reader.unplaced(places)
    for person_worked in by_person.values():
        by_role: dict[int, list[_Worked]] = {}
        for w in person_worked:
            by_role.setdefault(w.place.role_type_id, []).append(w)
        for same_role in by_role.values():
            writer.fees(same_role)
        _travel(writer, person_worked)
    trained = await sources.training_days(session, election, people)
    _training(writer, result, trained, by_person)
    for adjustment in await sources.adjustments(session, election.id, people):
        district_id, role_type_id = result.home.get(adjustment.person_id, (None, None))
        writer.lines.append(
            PayLine(
                adjustment.person_id,
                role_type_id,
                district_id,
                "adjustment",
                adjustment.created_at.astimezone(zone).date(),
                Decimal("1"),
                adjustment.amount,
                adjustment.amount,
                adjustment.reason[:300],
            )
        )
    result.lines = writer.lines
    return result


def _travel(writer: _Lines, worked: list[_Worked]) -> None:
    """The travel allowance once per day worked: the highest of that day's roles."""
    days: dict[dt.date, tuple[Decimal, _Worked]] = {}
    for w in worked:
        if w.seconds <= 0:
            continue
        rule = writer.rules.get(w.place.role_type_id)
        allowance = rule.travel_allowance if rule else ZERO
        if w.place.day not in days or allowance > days[w.place.day][0]:
            days[w.place.day] = (allowance, w)
    for day, (allowance, w) in days.items():
        writer.add(w.place, "travel", day, Decimal("1"), allowance, "", w.estimate)


def _training(
    writer: _Lines,
    result: ElectionPay,
    trained: dict[int, dt.date],
    by_person: dict[int, list[_Worked]],
) -> None:
    """The training fee of each person's first role, once; where the rule says so only
    to those who then worked (an estimate while their shifts are still to come)."""
    for person_id, day in trained.items():
        if person_id not in result.home:
            continue
        district_id, role_type_id = result.home[person_id]
        rule = writer.rules.get(role_type_id) if role_type_id is not None else None
        if rule is None or rule.training_fee <= ZERO:
            continue
        worked = [w for w in by_person.get(person_id, []) if w.seconds > 0]
        if rule.training_only_if_served and not worked:
            continue
        estimate = rule.training_only_if_served and all(w.estimate for w in worked)
        writer.lines.append(
            PayLine(
                person_id,
                role_type_id,
                district_id,
                "training",
                day,
                Decimal("1"),
                rule.training_fee,
                rule.training_fee,
                "",
                estimate,
            )
        )
