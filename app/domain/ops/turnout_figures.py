"""Turnout as the office reads it: each station's reported counts by reporting time,
the share of eligible voters they are, and the election's totals.

A station's share is of its district's eligible voters, when the district knows them
and the station is its district's only polling station (an advance voting station, or
one of several in a district, has no eligible voters of its own: its votes count in
the totals, not in the share). The totals per reporting time are the votes reported
for it, and their share of the eligible voters of the stations that reported it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.models import TURNOUT_SLOTS, District, Station, TurnoutReport


@dataclass(frozen=True)
class StationTurnout:
    """One station's reports: voters by reporting time, and its eligible voters (0 when
    unknown)."""

    counts: dict[str, int] = field(default_factory=dict)
    eligible: int = 0
    #: When the last report (or correction) came.
    reported_at: dt.datetime | None = None
    #: Who sent the last report: their user id, and the label the audit log keeps.
    reported_by_user_id: int | None = None
    reported_by: str = ""

    @property
    def latest_slot(self) -> str | None:
        """The last reporting time this station reported, in the day's order."""
        reported = [slot for slot in TURNOUT_SLOTS if slot in self.counts]
        return reported[-1] if reported else None

    @property
    def latest(self) -> int | None:
        slot = self.latest_slot
        return self.counts[slot] if slot is not None else None

    def share(self, slot: str | None = None) -> float | None:
        """The share of eligible voters who had voted by ``slot`` (default: the latest
        reported), or None when either is unknown."""
        slot = slot or self.latest_slot
        if slot is None or slot not in self.counts or not self.eligible:
            return None
        return self.counts[slot] / self.eligible


@dataclass(frozen=True)
class SlotTotal:
    """One reporting time over the election: how many stations reported it, the votes
    they reported, and their share of those stations' eligible voters (when known)."""

    slot: str
    stations: int
    voters: int
    #: Voters and eligible voters of the reporting stations whose eligible are known.
    counted_voters: int
    eligible: int

    @property
    def share(self) -> float | None:
        return self.counted_voters / self.eligible if self.eligible else None


@dataclass(frozen=True)
class TurnoutTotals:
    slots: list[SlotTotal]
    #: How many stations there are (what "reported" is out of).
    stations: int
    reported_at: dt.datetime | None

    @property
    def reported(self) -> list[SlotTotal]:
        """The reporting times at least one station reported."""
        return [total for total in self.slots if total.stations]

    @property
    def latest(self) -> SlotTotal | None:
        reported = self.reported
        return reported[-1] if reported else None


def total_turnout(turnouts: Iterable[StationTurnout | None], stations: int) -> TurnoutTotals:
    """The totals of these stations' turnout (``stations``: how many there are)."""
    known = [turnout for turnout in turnouts if turnout is not None]
    slots = []
    for slot in TURNOUT_SLOTS:
        reporting = [t for t in known if slot in t.counts]
        with_eligible = [t for t in reporting if t.eligible]
        slots.append(
            SlotTotal(
                slot=slot,
                stations=len(reporting),
                voters=sum(t.counts[slot] for t in reporting),
                counted_voters=sum(t.counts[slot] for t in with_eligible),
                eligible=sum(t.eligible for t in with_eligible),
            )
        )
    times = [t.reported_at for t in known if t.reported_at is not None]
    return TurnoutTotals(slots, stations, max(times) if times else None)


async def station_turnouts(
    session: AsyncSession, election_id: int, only: frozenset[int] | None = None
) -> dict[int, StationTurnout]:
    """The turnout of every station of the election that reported (or of those in
    ``only``), by station id, in two batched reads whatever the election's size."""
    reports = select(
        TurnoutReport.station_id,
        TurnoutReport.slot,
        TurnoutReport.voters,
        TurnoutReport.updated_at,
        TurnoutReport.reported_by_user_id,
        TurnoutReport.reported_by_label,
    ).where(TurnoutReport.election_id == election_id)
    if only is not None:
        reports = reports.where(TurnoutReport.station_id.in_(only))
    counts: dict[int, dict[str, int]] = {}
    latest: dict[int, tuple[dt.datetime, int | None, str]] = {}
    for station_id, slot, voters, updated_at, user_id, label in await session.execute(reports):
        counts.setdefault(station_id, {})[slot] = voters
        if station_id not in latest or updated_at > latest[station_id][0]:
            latest[station_id] = (updated_at, user_id, label)
    if not counts:
        return {}
    eligible = await station_eligible(session, election_id, only)
    return {
        station_id: StationTurnout(
            counts=by_slot,
            eligible=eligible.get(station_id, 0),
            reported_at=latest[station_id][0],
            reported_by_user_id=latest[station_id][1],
            reported_by=latest[station_id][2],
        )
        for station_id, by_slot in counts.items()
    }


async def station_eligible(
    session: AsyncSession, election_id: int, station_ids: frozenset[int] | None = None
) -> dict[int, int]:
    """The eligible voters of the election's stations (or of those in ``station_ids``)
    that are their district's only station, in one read: of every polling station, or
    of those in the given stations' districts (a live drawing of one station reads a
    row or two)."""
    statement = (
        select(Station.id, Station.district_id, District.eligible_voters)
        .join(District, District.id == Station.district_id)
        .where(Station.election_id == election_id)
    )
    if station_ids is not None:
        statement = statement.where(
            Station.district_id.in_(
                select(Station.district_id).where(
                    Station.election_id == election_id, Station.id.in_(station_ids)
                )
            )
        )
    rows = (await session.execute(statement)).all()
    stations_in = Counter(district_id for _id, district_id, _eligible in rows)
    return {
        station_id: eligible or 0
        for station_id, district_id, eligible in rows
        if (station_ids is None or station_id in station_ids) and stations_in[district_id] == 1
    }
