"""A station's row on the coordinators' dashboard: its state, the shifts in focus, who
is there per role against the norm, its open incidents, its turnout and its alerts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from app.domain.materials.shortages import ShownShortage
from app.domain.models import INCIDENT_SEVERITIES, District, Incident, Station
from app.domain.ops.sent_places import SentPerson
from app.domain.ops.turnout_figures import StationTurnout

_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(INCIDENT_SEVERITIES)}


@dataclass(frozen=True)
class RoleCount:
    """One role on the station's shifts in focus: checked in against the norm."""

    role_type_id: int
    code: str
    name: str
    leads_station: bool
    present: int
    minimum: int
    target: int
    holding: int

    @property
    def status(self) -> str:
        """ "missing" below the minimum, "below" the target, else "full"."""
        if self.present < self.minimum:
            return "missing"
        if self.present < self.target:
            return "below"
        return "full"


@dataclass(frozen=True)
class Alert:
    #: "not_open", "understaffed", "not_arrived", "high_incident", "short" (people) or
    #: "shortage" (materials) (``alerts.ALERT_KINDS``).
    kind: str
    #: "danger" or "warning": how it is drawn.
    level: str
    message: str
    #: Since when it holds (None: a shortage of people ahead, not yet a fact of the day).
    since: dt.datetime | None = None


class ShiftLine(NamedTuple):
    """A shift as the dashboard reads it: its columns, not an object (``named`` reads
    its name)."""

    id: int
    station_id: int
    day: dt.date
    name: str
    names: dict[str, Any]
    starts_at: dt.time
    ends_at: dt.time


@dataclass(frozen=True)
class ShiftFocus:
    shift: ShiftLine
    starts: dt.datetime
    ends: dt.datetime


@dataclass
class StationRow:
    station: Station
    district: District | None
    state: str
    state_version: int
    state_changed_at: dt.datetime | None
    shifts: list[ShiftFocus]
    roles: list[RoleCount]
    open_incidents: list[Incident]
    last_change: dt.datetime | None
    alerts: list[Alert] = field(default_factory=list)
    opens_at: dt.datetime | None = None
    #: The turnout its chair reported (None: nothing yet).
    turnout: StationTurnout | None = None
    #: People sent here today by a coordinator: "sent" until they confirm, then confirmed.
    sent: list[SentPerson] = field(default_factory=list)
    #: What the station reported short and is not yet delivered (oldest first).
    open_shortages: list[ShownShortage] = field(default_factory=list)
    #: Placed on the shifts in focus but kept off the election (``staffing.kept_off``):
    #: shown, marked, and counted in no role.
    kept_off: list[str] = field(default_factory=list)

    @property
    def present(self) -> int:
        return sum(role.present for role in self.roles)

    @property
    def expected(self) -> int:
        return sum(role.holding for role in self.roles)

    @property
    def top_severity(self) -> str | None:
        if not self.open_incidents:
            return None
        return max((i.severity for i in self.open_incidents), key=_SEVERITY_RANK.__getitem__)

    @property
    def alert_level(self) -> str | None:
        levels = {alert.level for alert in self.alerts}
        return "danger" if "danger" in levels else ("warning" if levels else None)
