"""The dashboard's alerts: worked out on every read from the clock and the facts, never
stored, so they raise and clear themselves. Each says since when it holds (the alert
feed's order, newest first)."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from app.core.i18n import _, named, ngettext
from app.domain.ops.station_rows import Alert, ShiftFocus, StationRow

#: How long into a shift someone may still be on their way before it raises an alert.
LATE_ARRIVAL = dt.timedelta(minutes=20)
#: The kinds of alert, in the order the filter offers them.
ALERT_KINDS = ("not_open", "understaffed", "not_arrived", "high_incident", "short", "shortage")


class Norm(NamedTuple):
    """A shift's norm for one role: the numbers only (read as plain rows, not objects:
    an election of 660 stations has thousands)."""

    shift_id: int
    role_type_id: int
    #: The minimum as the legal minimum counts it (``counted_minimum``: 0 for a host).
    minimum: int
    target: int


class AlertFacts(NamedTuple):
    """What the alerts of a station are worked out from, beside its row."""

    norms_of: dict[int, list[Norm]]
    #: Per shift: (person id, role type id, name) of those holding a place.
    places_of: dict[int, list[tuple[int, int, str]]]
    last_check_in: dict[tuple[int, int], str]
    #: The role types that count toward the legal minimum (not a host).
    counting: frozenset[int]


def station_alerts(
    row: StationRow, focus: list[ShiftFocus], facts: AlertFacts, now: dt.datetime
) -> list[Alert]:
    """A station not open at its opening time, fewer than the minimum checked in,
    someone not arrived 20 minutes into their shift (or after they were sent there
    during it), a high-severity incident open, a shift still to come with fewer people
    placed than its minimum, or something reported short and not yet delivered. Only
    people in a role that counts toward the legal minimum count toward it."""
    norms_of, places_of, last_check_in = facts.norms_of, facts.places_of, facts.last_check_in
    alerts: list[Alert] = []
    sent_at = {(sent.shift_id, sent.person_id): sent.sent_at for sent in row.sent}
    if row.state == "not_opened" and row.opens_at is not None and now >= row.opens_at:
        alerts.append(
            Alert(
                "not_open",
                "danger",
                _(
                    "Not open: it should have opened at %(time)s.",
                    time=row.opens_at.strftime("%H:%M"),
                ),
                since=row.opens_at,
            )
        )
    for item in focus:
        minimum = sum(norm.minimum for norm in norms_of[item.shift.id])
        people = places_of[item.shift.id]
        counted = [pid for pid, role_id, _p in people if role_id in facts.counting]
        if item.starts > now:
            if len(counted) < minimum:
                alerts.append(_short(item, len(counted), minimum))
            continue
        if now >= item.ends:
            continue
        here = sum(last_check_in.get((item.shift.id, pid)) == "arrived" for pid in counted)
        if here < minimum:
            alerts.append(
                Alert(
                    "understaffed",
                    "warning",
                    _(
                        "%(shift)s: %(present)s of at least %(minimum)s checked in.",
                        shift=named(item.shift),
                        present=here,
                        minimum=minimum,
                    ),
                    since=item.starts,
                )
            )
        if now >= item.starts + LATE_ARRIVAL:
            # Someone sent during the shift is late 20 minutes after they were sent.
            absent = [
                name
                for pid, _r, name in people
                if (item.shift.id, pid) not in last_check_in
                and now >= sent_at.get((item.shift.id, pid), item.starts) + LATE_ARRIVAL
            ]
            if absent:
                alerts.append(
                    Alert(
                        "not_arrived",
                        "warning",
                        _(
                            "Not arrived %(minutes)s minutes into the shift: %(names)s.",
                            minutes=int((now - item.starts).total_seconds() // 60),
                            names=", ".join(absent),
                        ),
                        since=item.starts + LATE_ARRIVAL,
                    )
                )
    high = [incident for incident in row.open_incidents if incident.severity == "high"]
    if high:
        alerts.append(
            Alert(
                "high_incident",
                "danger",
                ngettext(
                    "%(num)s open incident of high severity.",
                    "%(num)s open incidents of high severity.",
                    len(high),
                ),
                since=max(incident.created_at for incident in high),
            )
        )
    alerts.extend(shortage_alerts(row))
    return alerts


def _short(item: ShiftFocus, placed: int, minimum: int) -> Alert:
    """A shift to come with fewer people placed than its minimum: a reserve is needed
    even if everyone comes. Holds until the shift starts (then "understaffed" says it)."""
    return Alert(
        "short",
        "warning",
        _(
            "%(shift)s at %(time)s: %(placed)s placed for a minimum of %(minimum)s.",
            shift=named(item.shift),
            time=item.starts.strftime("%H:%M"),
            placed=placed,
            minimum=minimum,
        ),
    )


def shortage_alerts(row: StationRow) -> list[Alert]:
    """One alert per open shortage: reported ones as danger, those on their way as a
    warning (they clear when marked delivered)."""
    found: list[Alert] = []
    for shortage in row.open_shortages:
        if shortage.state == "sent":
            found.append(
                Alert(
                    "shortage",
                    "warning",
                    _("On its way: %(what)s.", what=shortage.what),
                    since=shortage.sent_at,
                )
            )
        else:
            found.append(
                Alert(
                    "shortage",
                    "danger",
                    _("Short of: %(what)s.", what=shortage.what),
                    since=shortage.reported_at,
                )
            )
    return found
