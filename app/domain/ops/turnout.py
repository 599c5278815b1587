"""Turnout on election day: how many had voted at a station by each reporting time.

One report per station and time; sending another for the same time corrects it (the
count it replaced stays in the audit log).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.i18n import _
from app.core.models import utcnow
from app.core.validation import FieldErrors
from app.domain.models import TURNOUT_SLOTS, District, TurnoutReport
from app.domain.ops.access import lock_station, station_to_lead
from app.domain.ops.news import announce

MAX_VOTERS = 1_000_000


async def report_turnout(
    session: AsyncSession, actor: Actor, station_id: int, slot: str, count: int
) -> TurnoutReport:
    """Report (or correct) how many had voted at the station by ``slot`` ("11:00"...).

    The station's lead or a coordinator may; the count cannot pass the district's
    eligible voters when those are known.
    """
    station = await station_to_lead(session, actor, station_id)
    if slot not in TURNOUT_SLOTS:
        raise FieldErrors({"slot": _("Choose one of the options.")})
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_VOTERS:
        raise FieldErrors(
            {"count": _("Enter a number from %(min)s to %(max)s.", min=0, max=MAX_VOTERS)}
        )
    if station.district_id is not None:
        eligible = await session.scalar(
            select(District.eligible_voters).where(District.id == station.district_id)
        )
        if eligible and count > eligible:
            raise FieldErrors(
                {
                    "count": _(
                        "More than the district's %(eligible)s eligible voters.",
                        eligible=eligible,
                    )
                }
            )
    station_id, election_id = station.id, station.election_id
    # Serialise reports for the station, so two at once become a report and a correction.
    await lock_station(session, station_id)
    report = await session.scalar(
        select(TurnoutReport)
        .where(TurnoutReport.station_id == station_id, TurnoutReport.slot == slot)
        .execution_options(populate_existing=True)
    )
    previous = report.voters if report else None
    if report is None:
        report = TurnoutReport(election_id=election_id, station_id=station_id, slot=slot)
        session.add(report)
    report.voters = count
    report.reported_by_user_id = actor.user_id
    report.reported_by_label = actor.label
    report.updated_at = utcnow()
    await session.flush()
    await record(
        session,
        actor,
        "ops.turnout.corrected" if previous is not None else "ops.turnout.reported",
        report,
        data={"station": station_id, "slot": slot, "voters": count, "previous": previous},
    )
    await announce(
        session,
        election_id,
        station_id,
        "turnout.reported",
        {
            "station_id": station_id,
            "slot": slot,
            "voters": count,
            "corrected": previous is not None,
        },
    )
    await session.commit()
    return report
