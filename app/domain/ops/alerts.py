"""The dashboard's alerts: worked out on every read from the clock and the facts, never
stored, so they raise and clear themselves."""

from __future__ import annotations

import datetime as dt

from app.core.i18n import _, named, ngettext
from app.domain.models import StaffingNorm
from app.domain.ops.station_rows import Alert, ShiftFocus, StationRow

#: How long into a shift someone may still be on their way before it raises an alert.
LATE_ARRIVAL = dt.timedelta(minutes=20)


def station_alerts(
    row: StationRow,
    focus: list[ShiftFocus],
    norms_of: dict[int, list[StaffingNorm]],
    places_of: dict[int, list[tuple[int, int, str]]],
    last_check_in: dict[tuple[int, int], str],
    now: dt.datetime,
) -> list[Alert]:
    """A station not open at its opening time, fewer than the minimum checked in,
    someone not arrived 20 minutes into their shift, a high-severity incident open,
    something reported short and not yet delivered."""
    alerts: list[Alert] = []
    if row.state == "not_opened" and row.opens_at is not None and now >= row.opens_at:
        alerts.append(
            Alert(
                "not_open",
                "danger",
                _(
                    "Not open: it should have opened at %(time)s.",
                    time=row.opens_at.strftime("%H:%M"),
                ),
            )
        )
    for item in focus:
        if not item.starts <= now < item.ends:
            continue
        minimum = sum(norm.minimum for norm in norms_of[item.shift.id])
        people = places_of[item.shift.id]
        here = sum(last_check_in.get((item.shift.id, pid)) == "arrived" for pid, _r, _p in people)
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
                )
            )
        if now >= item.starts + LATE_ARRIVAL:
            absent = [name for pid, _r, name in people if (item.shift.id, pid) not in last_check_in]
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
                    )
                )
    high = sum(incident.severity == "high" for incident in row.open_incidents)
    if high:
        alerts.append(
            Alert(
                "high_incident",
                "danger",
                ngettext(
                    "%(num)s open incident of high severity.",
                    "%(num)s open incidents of high severity.",
                    high,
                ),
            )
        )
    alerts.extend(shortage_alerts(row))
    return alerts


def shortage_alerts(row: StationRow) -> list[Alert]:
    """One alert per open shortage: reported ones as danger, those on their way as a
    warning (they clear when marked delivered)."""
    found: list[Alert] = []
    for shortage in row.open_shortages:
        if shortage.state == "sent":
            found.append(
                Alert("shortage", "warning", _("On its way: %(what)s.", what=shortage.what))
            )
        else:
            found.append(Alert("shortage", "danger", _("Short of: %(what)s.", what=shortage.what)))
    return found
