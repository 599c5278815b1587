"""The back office's start page: what needs attention now for the election in focus,
each figure a link to the page where it is put right, and only the figures the user
may open; and the list of offers past their answer-by time that one of them leads to.
"""

from __future__ import annotations

from dataclasses import dataclass

from quart import redirect, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import can, requires
from app.core.i18n import ngettext
from app.core.routes import Routes
from app.core.web import db, render
from app.domain import attention
from app.domain.elections.elections import get_election

routes = Routes()

#: How a figure is drawn, the most urgent first: "danger" and "warning" need doing,
#: "done" counts nothing (shown calm, so the user sees it was looked at).
LEVELS = ("danger", "warning", "done")


@dataclass(frozen=True)
class Figure:
    count: int
    text: str
    href: str
    level: str
    detail: str = ""


def _figure(count: int, text: str, href: str, level: str, detail: str = "") -> Figure:
    return Figure(count, text, href, level if count else "done", detail if count else "")


async def _day_figures(focus: attention.Focus) -> list[Figure]:
    found = await attention.day_figures(db(), focus.election.id)
    live = "planning.ops_dashboard"
    election_id = focus.election.id
    return [
        _figure(
            found.stations_not_open,
            ngettext(
                "station not open after its opening time",
                "stations not open after their opening time",
                found.stations_not_open,
            ),
            url_for(live, election_id=election_id, state="not_opened"),
            "danger",
        ),
        _figure(
            found.not_arrived,
            ngettext(
                "person not arrived 20 minutes into their shift",
                "people not arrived 20 minutes into their shift",
                found.not_arrived,
            ),
            url_for(live, election_id=election_id, alerts="1"),
            "warning",
        ),
        _figure(
            found.open_incidents,
            ngettext("open incident", "open incidents", found.open_incidents),
            url_for(live, election_id=election_id),
            "danger" if found.high_incidents else "warning",
            ngettext("%(num)s of high severity", "%(num)s of high severity", found.high_incidents),
        ),
    ]


async def _staffing_figures(focus: attention.Focus) -> list[Figure]:
    election_id = focus.election.id
    figures: list[Figure] = []
    if can("staffing.view") or can("registers.view"):
        found = await attention.staffing_figures(db(), election_id)
    if can("staffing.view"):
        board = "planning.staffing_board"
        figures += [
            _figure(
                found.places_below_minimum,
                ngettext(
                    "place open below the minimum",
                    "places open below the minimum",
                    found.places_below_minimum,
                ),
                url_for(board, election_id=election_id, show="below_minimum"),
                "danger",
                ngettext("at %(num)s station", "at %(num)s stations", found.stations_below_minimum),
            ),
            _figure(
                found.places_missing,
                ngettext(
                    "place open up to the target",
                    "places open up to the target",
                    found.places_missing,
                ),
                url_for(board, election_id=election_id, show="open"),
                "warning",
            ),
            _figure(
                found.offers_overdue,
                ngettext(
                    "offer unanswered past its answer-by date",
                    "offers unanswered past their answer-by date",
                    found.offers_overdue,
                ),
                url_for("planning.overdue_offers", election_id=election_id),
                "warning",
            ),
        ]
    if can("registers.view"):
        figures.append(
            _figure(
                found.stations_without_room,
                ngettext(
                    "station without a room",
                    "stations without a room",
                    found.stations_without_room,
                ),
                url_for("planning.election_detail", election_id=election_id),
                "warning",
            )
        )
    # On a day the stations work, the courses are behind them: nothing left to book.
    if can("reports.view") and not focus.working_today:
        lacking = await attention.leads_lacking_course(db(), election_id)
        figures.append(
            _figure(
                lacking,
                ngettext(
                    "chair or vice chair without a required course",
                    "chairs and vice chairs without a required course",
                    lacking,
                ),
                url_for("planning.course_reports", election_id=election_id),
                "warning",
            )
        )
    return figures


async def _inbox_figures() -> list[Figure]:
    if not can("applications.review"):
        return []
    found = await attention.inbox_figures(db())
    return [
        _figure(
            found.applications_new,
            ngettext(
                "application waiting for review",
                "applications waiting for review",
                found.applications_new,
            ),
            url_for("planning.applications_list", status="new"),
            "warning",
        ),
        _figure(
            found.messages_unread,
            ngettext("unread contact message", "unread contact messages", found.messages_unread),
            url_for("planning.messages_list", state="unread"),
            "warning",
        ),
    ]


def _ordered(figures: list[Figure]) -> list[Figure]:
    """The most urgent first; the order given within a level."""
    return sorted(figures, key=lambda figure: LEVELS.index(figure.level))


@routes.get("/")
@requires("materials.view")
async def home() -> str | WerkzeugResponse:
    if not can("planning.view"):
        # The logistics role: its work is the materials, its home the catalogue.
        return redirect(url_for("planning.materials_catalogue"))
    focus = await attention.focus(db())
    day: list[Figure] = []
    ahead: list[Figure] = []
    if focus is not None and focus.working_today and can("ops.view"):
        day = _ordered(await _day_figures(focus))
    if focus is not None and focus.ahead:
        ahead = _ordered(await _staffing_figures(focus))
    inbox = _ordered(await _inbox_figures())
    return await render(
        "planning/home.html",
        focus=focus,
        day_figures=day,
        ahead_figures=ahead,
        inbox_figures=inbox,
        all_done=all(f.level == "done" for f in (*day, *ahead, *inbox)),
    )


@routes.get("/elections/<int:election_id>/staffing/overdue-offers")
@requires("staffing.view")
async def overdue_offers(election_id: int) -> str:
    """The offers whose answer-by time has passed, the longest overdue first: whom to
    call, or whose place to give to someone else on the board."""
    election = await get_election(db(), election_id)  # an unknown election is a 404
    offers = await attention.overdue_offers(db(), election.id)
    return await render("planning/staffing/overdue_offers.html", election=election, offers=offers)
