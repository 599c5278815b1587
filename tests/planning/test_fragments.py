"""Every HTMX fragment route of the back office, rendered with the demo's real data.

A fragment is the part of a page HTMX swaps in (``render(..., block=...)``, a ``_*.html``
template, a view that asks ``is_htmx()``). Rendered alone, a block does not see what the
template's top defines, so a name a macro import brings in can be undefined there while
the full page works: the staffing board's place panel answered 500 to every typed name
that way. The routes come from the app's url_map (``tests.support.routes``): a view is a
fragment route when its source, or a helper of its module it calls, renders a block or a
fragment or asks ``is_htmx()``. Each is asked as HTMX with a search term that matches
the demo's data and with an empty one; nothing may answer 5xx, log an ERROR (the
conftest's guard) or leave a name undefined (templates use ``StrictUndefined``).

The demo is made once for the whole module (one test): it is the costly part.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from jinja2 import StrictUndefined
from quart import Quart
from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.accounts.municipalities import get_tenant_by_slug
from app.core.models import User
from app.core.tenancy import outside_tenants, tenant_scope
from app.demo import DEMO_PASSWORD, DEMO_SLUG
from app.domain.models import (
    Assignment,
    Building,
    Election,
    Incident,
    Person,
    Shift,
    Station,
)
from app.domain.staffing.board import BoardFilters, staffing_board
from tests.factories import csrf_token, login
from tests.support.routes import FaceRoute, face_routes

HTMX = {"HX-Request": "true"}
#: What marks a view (or a helper it calls) as answering fragments.
FRAGMENT_MARK = re.compile(r"is_htmx\(\)|block=|render(?:_template)?\(\s*\"[^\"]*/_")
_CALLED = re.compile(r"\b(_\w+)\(")
_VARIABLE = re.compile(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>")
#: POST fragment routes that end what the sweep stands on go last.
LAST = ("planning.staffing_withdraw",)


def _source(function: Callable[..., Any]) -> str:
    return inspect.getsource(inspect.unwrap(function))


def answers_fragments(app: Quart, route: FaceRoute) -> bool:
    """Whether the route's view renders a fragment: in its own source, or in a helper of
    its module that it calls (``_station_card`` draws the board's station card)."""
    view = inspect.unwrap(app.view_functions[route.endpoint])
    source = _source(view)
    if FRAGMENT_MARK.search(source):
        return True
    module = inspect.getmodule(view)
    for name in set(_CALLED.findall(source)):
        helper = getattr(module, name, None)
        if inspect.isfunction(helper) and FRAGMENT_MARK.search(_source(helper)):
            return True
    return False


def fragment_routes(app: Quart) -> list[FaceRoute]:
    routes = [r for r in face_routes(app) if r.face == "planning" and answers_fragments(app, r)]
    return sorted(routes, key=lambda r: (r.method != "GET", r.endpoint in LAST))


async def _demo_ids(
    session_factory: async_sessionmaker[AsyncSession],
) -> tuple[dict[str, Any], dict[str, str]]:
    """Ids of the demo's staffed election to fill the routes' variables and queries, and
    search terms that match its data."""
    async with session_factory() as session:
        with outside_tenants():
            tenant = await get_tenant_by_slug(session, DEMO_SLUG)
        assert tenant is not None
        with tenant_scope(tenant.id):
            election = await session.scalar(
                select(Election)
                .join(Station, Station.election_id == Election.id)
                .join(Assignment, Assignment.election_id == Election.id)
                .order_by(Election.election_day.desc())
                .limit(1)
            )
            assert election is not None
            board = await staffing_board(session, election.id, BoardFilters())
            row, cell = next(
                (row, cell)
                for row in board.stations
                for shift_row in row.shifts
                for cell in shift_row.cells
                if cell.filled < cell.target
            )
            assignment = await session.scalar(
                select(Assignment).where(Assignment.election_id == election.id).limit(1)
            )
            person = await session.scalar(
                select(Person).where(Person.status == "active").order_by(Person.id).limit(1)
            )
            building = await session.scalar(select(Building).order_by(Building.id).limit(1))
            assert assignment is not None and person is not None and building is not None
            shift = await session.get(Shift, cell.shift_id)
            assert shift is not None
            # The demo's coming election has no incident yet: one for the live routes.
            incident = Incident(
                election_id=election.id,
                station_id=row.station.id,
                category="queue",
                severity="low",
                text="Lång kö",
            )
            session.add(incident)
            await session.commit()
            ids = {
                "tenant_id": tenant.id,
                "election_id": election.id,
                "station_id": row.station.id,
                "district_id": row.station.district_id,
                "shift_id": shift.id,
                "role_type_id": cell.role_type_id,
                "person_id": person.id,
                "assignment_id": assignment.id,
                "incident_id": incident.id,
                "action": "acknowledge",
                "day": shift.day.isoformat(),
                # A message template's text: the offer's SMS in Swedish.
                "key": "staffing_offer",
                "channel": "sms",
                # A document's text: the appointment letter in Swedish.
                "document": "appointment_letter",
                "locale": "sv",
            }
            terms = {"person": person.last_name, "building": building.name.split()[0]}
    return ids, terms


def _path(route: FaceRoute, ids: dict[str, Any]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in ids, f"{route.rule.rule}: no demo id for <{name}>: add it to _demo_ids"
        return str(ids[name])

    return _VARIABLE.sub(fill, route.rule.rule.replace("<tenant>", DEMO_SLUG))


def _queries(ids: dict[str, Any], terms: dict[str, str]) -> list[dict[str, str]]:
    """The query strings every GET fragment route is asked with: the ids a view may read
    (extra ones are ignored), each search term, and an empty one."""
    common = {
        "election": str(ids["election_id"]),
        "district": str(ids["district_id"] or ""),
        "station": str(ids["station_id"]),
        "shift": str(ids["shift_id"]),
        "role": str(ids["role_type_id"]),
        "day": ids["day"],
        "results": "1",
    }
    return [{**common, "q": term} for term in ["", *terms.values()]]


async def test_every_fragment_route_renders_with_the_demo(
    demo_made: None,
    app: Quart,
    client: QuartClient,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    # Undefined names are loud: an error (a 500 here), never an empty string.
    assert app.jinja_env.undefined is StrictUndefined
    ids, terms = await _demo_ids(session_factory)
    routes = fragment_routes(app)
    endpoints = {r.endpoint for r in routes}
    # The sweep finds the fragment routes (and the one that answered 500 among them).
    assert {"planning.staffing_place", "planning.staffing_board"} <= endpoints, endpoints
    async with session_factory() as session:
        with outside_tenants():
            admin = await session.scalar(select(User).where(User.email == "admin@demo.stemma.test"))
    assert admin is not None
    await login(client, admin, DEMO_PASSWORD)
    token = await csrf_token(client, f"/{DEMO_SLUG}/planning/")
    failures: list[str] = []
    bodies: dict[tuple[str, str], str] = {}
    asked = 0
    for route in routes:
        path = _path(route, ids)
        if route.method == "GET":
            for query in _queries(ids, terms):
                response = await client.get(f"{path}?{urlencode(query)}", headers=HTMX)
                asked += 1
                if response.status_code >= 500:
                    failures.append(f"GET {path} q={query['q']!r}: {response.status_code}")
                bodies[(route.endpoint, query["q"])] = await response.get_data(as_text=True)
            continue
        form = {
            "csrf_token": token,
            "shift_id": str(ids["shift_id"]),
            "role_type_id": str(ids["role_type_id"]),
            "person_id": str(ids["person_id"]),
            "override": "1",
        }
        response = await client.post(path, form=form, headers=HTMX)
        asked += 1
        if response.status_code >= 500 or response.status_code == 400:
            # 400 would be a refused CSRF token: the fragment never drawn.
            failures.append(f"POST {path}: {response.status_code}")
    assert not failures, failures
    # The searches drew rows (the place panel failed only when it had people to list).
    for endpoint in ("planning.staffing_place", "planning.people_list"):
        assert terms["person"] in bodies[(endpoint, terms["person"])], endpoint
    assert asked >= 3 * len([r for r in routes if r.method == "GET"])
