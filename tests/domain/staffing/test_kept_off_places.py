"""A person placed and then found a candidate in the election (issue 25) stays listed on
the board, marked, but their place needs someone else: it counts as open everywhere
places are counted (the board, the overview, the district lines, the dashboard's
figures, the optimiser's open places), and the planner may put someone else in it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.i18n import locale_scope
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain import attention, autostaff
from app.domain.registers import candidates
from app.domain.staffing import assignments, board, overview
from tests.factories import make_clerk, make_staffed_station

ACTOR = Actor(label="planner@lund.test")


async def _counts(db: AsyncSession, s: dict) -> dict[str, object]:
    election_id, chair = s["election"].id, s["roles"]["chair"].id
    the_board = await board.staffing_board(db, election_id, board.BoardFilters())
    (early,) = [row for row in the_board.stations[0].shifts if row.shift.id == s["early"].id]
    (cell,) = [c for c in early.cells if c.role_type_id == chair]
    lines = await overview.staffing_overview(db, election_id, overview.OverviewFilters())
    (district,) = [
        d
        for d in await overview.district_summaries(db, election_id)
        if d.district_id == s["district"].id
    ]
    figures = await attention.staffing_figures(db, election_id)
    problem = await autostaff.load_problem(db, election_id)
    open_chair = [
        p.open for p in problem.places if (p.shift_id, p.role_type_id) == (s["early"].id, chair)
    ]
    return {
        "cell": (cell.filled, cell.blocked, cell.status, len(cell.holders)),
        "lacks_lead": early.lacks_lead,
        "board_missing": the_board.totals["missing_minimum"],
        "overview": (lines.stations[0].tally.filled, lines.stations[0].tally.below_minimum),
        "district": (district.filled, district.missing_minimum),
        "dashboard": figures.places_below_minimum,
        "optimiser_open_chair": open_chair,
    }


async def test_it_counts_a_candidate_found_after_placing_as_an_open_place(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    karin = await make_clerk(db, tenant, s["election"], first_name="Karin", last_name="Kandidat")
    other = await make_clerk(db, tenant, s["election"], first_name="Olle", last_name="Ordf")
    chair = s["roles"]["chair"].id
    with tenant_scope(tenant.id), locale_scope("en"):
        await assignments.assign_person(db, ACTOR, s["early"].id, chair, karin.id, override=True)
        before = await _counts(db, s)
        assert before["cell"] == (1, 0, "full", 1)
        assert not before["lacks_lead"]
        assert before["optimiser_open_chair"] == []

        content = (
            "förnamn;efternamn;personnummer;födelsedatum;parti;lista\n"
            f"Karin;Kandidat;{karin.national_id};;Gröna partiet;\n"
        ).encode()
        staged = await candidates.stage_candidates(
            db, ACTOR, s["election"].id, "kandidater.csv", content
        )
        assert staged.ok, staged.problems
        await candidates.commit_candidates(db, ACTOR, staged.batch.id)

        after = await _counts(db, s)
        # Still listed (marked), but the place is open and below its minimum.
        assert after["cell"] == (0, 1, "missing", 1)
        assert after["lacks_lead"]
        assert after["board_missing"] == before["board_missing"] + 1
        filled, below = before["overview"]  # type: ignore[misc]
        assert after["overview"] == (filled - 1, below + 1)
        filled, missing = before["district"]  # type: ignore[misc]
        assert after["district"] == (filled - 1, missing + 1)
        assert after["dashboard"] == before["dashboard"] + 1  # type: ignore[operator]
        assert after["optimiser_open_chair"] == [1]

        # The planner puts someone else in the place (the norm's maximum is not reached).
        await assignments.assign_person(db, ACTOR, s["early"].id, chair, other.id, override=True)
        again = await _counts(db, s)
        assert again["cell"] == (1, 1, "full", 2)
        assert again["board_missing"] == before["board_missing"]
