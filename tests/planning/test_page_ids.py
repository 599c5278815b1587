"""Every page of the back office, drawn with the demo's data, has unique ids and no label
that names nothing.

Two forms on one page whose fields share an id leave one field without its label: the
label's ``for`` finds the other form's field first (the station page's "Day" and "Name"
did so). Each GET page of the planning face is asked with the demo's ids (as the
fragment sweep fills them) and parsed: an id twice, a ``for`` with no element or with an
element a label cannot name, or an ``aria-describedby``/``aria-labelledby`` naming a
missing id fails.

The demo is made once for the whole module (one test): it is the costly part.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from html.parser import HTMLParser

from quart import Quart
from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from werkzeug.datastructures import FileStorage

from app.core.models import Tenant, User
from app.core.tenancy import outside_tenants
from app.demo import DEMO_PASSWORD
from tests.factories import csrf_token, login, make_staffed_station, post_form
from tests.planning.test_fragments import _VARIABLE, _demo_ids, _path
from tests.support.routes import face_routes

#: Elements a label's ``for`` may name (HTML's labelable elements).
LABELABLE = {"button", "input", "meter", "output", "progress", "select", "textarea"}
#: Pages that send a file or leave the page rather than draw one.
NOT_PAGES = ("_csv", "_xlsx", "_pdf", "poster", "export", "download", "letters", "feed", "logout")


class _IdChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: Counter[str] = Counter()
        self.labelable: set[str] = set()
        self.label_fors: list[str] = []
        self.references: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if "id" in values:
            self.ids[values["id"]] += 1
            hidden = tag == "input" and values.get("type") == "hidden"
            if tag in LABELABLE and not hidden:
                self.labelable.add(values["id"])
        if tag == "label" and values.get("for"):
            self.label_fors.append(values["for"])
        for name in ("aria-describedby", "aria-labelledby"):
            self.references.extend(values.get(name, "").split())

    def problems(self) -> list[str]:
        found = [f"id {name!r} {count} times" for name, count in self.ids.items() if count > 1]
        for target in self.label_fors:
            if target not in self.ids:
                found.append(f"label for {target!r}: no element")
            elif target not in self.labelable:
                found.append(f"label for {target!r}: not a field")
        found += [
            f"aria reference {ref!r}: no element" for ref in self.references if ref not in self.ids
        ]
        return found


def id_problems(html: str) -> list[str]:
    checker = _IdChecker()
    checker.feed(html)
    return checker.problems()


def test_the_checker_finds_what_it_looks_for() -> None:
    page = (
        '<form><label for="field-day">Day</label><input id="field-day"></form>'
        '<form><label for="field-day">Day</label><input id="field-day"></form>'
        '<label for="nothing">x</label><label for="list">y</label><ul id="list"></ul>'
        '<input id="a" aria-describedby="a-error">'
    )
    assert id_problems(page) == [
        "id 'field-day' 2 times",
        "label for 'nothing': no element",
        "label for 'list': not a field",
        "aria reference 'a-error': no element",
    ]


async def test_no_page_of_the_back_office_has_duplicate_ids_or_empty_labels(
    demo_made: None,
    app: Quart,
    client: QuartClient,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    ids, _terms = await _demo_ids(session_factory)
    async with session_factory() as session:
        with outside_tenants():
            admin = await session.scalar(select(User).where(User.email == "admin@demo.stemma.test"))
    assert admin is not None
    await login(client, admin, DEMO_PASSWORD)
    routes = [
        route
        for route in face_routes(app)
        if route.face == "planning"
        and route.method == "GET"
        and not any(part in route.endpoint for part in NOT_PAGES)
        # A page needing an id the demo sweep does not pick (a course, a token) is left out.
        and all(name in ids for name in _VARIABLE.findall(route.rule.rule) if name != "tenant")
    ]
    failures: list[str] = []
    checked: set[str] = set()
    for route in routes:
        path = _path(route, ids)
        response = await client.get(path)
        if response.status_code != 200 or not response.content_type.startswith("text/html"):
            continue
        checked.add(route.endpoint)
        html = await response.get_data(as_text=True)
        failures += [f"{path}: {problem}" for problem in id_problems(html)]
    # The sweep drew the pages that had the fault and the main ones around them.
    assert {
        "planning.station_detail",
        "planning.election_detail",
        "planning.staffing_board",
        "planning.api_tokens",
    } <= checked, sorted(checked)
    assert not failures, "\n".join(failures)


async def test_each_station_form_links_its_errors_to_its_own_named_fields(
    client: QuartClient, db: AsyncSession, tenant: Tenant, admin: User
) -> None:
    s = await make_staffed_station(db, tenant)
    await login(client, admin)
    station = f"/{tenant.slug}/planning/elections/{s['election'].id}/stations/{s['station'].id}"
    early = s["early"].id
    cases = {
        f"{station}/openings": ({"day": "", "opens_at": "", "closes_at": ""}, "Dag: "),
        f"{station}/shifts": ({"name": "", "day": "", "starts_at": "", "ends_at": ""}, "Dag: "),
        f"{station}/shifts/{early}": (
            {"name": "", "day": "", "starts_at": "", "ends_at": ""},
            "Dag: ",
        ),
        f"{station}/shifts/{early}/norms": ({"min_clerk": "-1", "target_clerk": "x"}, "Minimum "),
        station: ({"name": "", "kind": "polling"}, "Namn: "),
    }
    for path, (form, named) in cases.items():
        response = await post_form(client, path, form)
        html = await response.get_data(as_text=True)
        assert response.status_code == 422, path
        summary = html.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
        links = re.findall(r'<a href="#([^"]+)">([^<]*)</a>', summary)
        assert links, path
        for target, text in links:
            # The link leads to a field of this form, and says which one.
            assert f'id="{target}"' in html, (path, target)
            assert ": " in text, (path, text)
        assert any(text.startswith(named) for _target, text in links), (path, links)
        assert not id_problems(html), (path, id_problems(html))


async def test_the_back_offices_summaries_name_their_fields(
    client: QuartClient, db: AsyncSession, tenant: Tenant, admin: User
) -> None:
    s = await make_staffed_station(db, tenant)
    await login(client, admin)
    election = f"/{tenant.slug}/planning/elections/{s['election'].id}"
    cases = {
        f"/{tenant.slug}/planning/people/new": (
            {
                "first_name": "",
                "last_name": "Berg",
                "status": "active",
                "national_id_country": "SE",
            },
            "Förnamn: ",
        ),
        f"{election}/districts": ({"code": "", "name": ""}, "Kod: "),
    }
    for path, (form, named) in cases.items():
        response = await post_form(client, path, form)
        html = await response.get_data(as_text=True)
        assert 'id="error-summary"' in html, path
        summary = html.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
        texts = [text for _target, text in re.findall(r'<a href="#([^"]+)">([^<]*)</a>', summary)]
        assert any(text.startswith(named) for text in texts), (path, texts)


async def test_the_imports_kind_error_reaches_each_radio_button(
    client: QuartClient, admin: User
) -> None:
    await login(client, admin)
    token = await csrf_token(client, "/lund/planning/import")
    response = await client.post(
        "/lund/planning/import",
        form={"kind": "", "csrf_token": token},
        files={"file": FileStorage(io.BytesIO(b"a;b\n"), filename="x.csv")},
    )
    html = await response.get_data(as_text=True)
    summary = html.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    assert re.search(r'<a href="#field-kind">Filen innehåller: ', summary), summary
    radios = re.findall(r'<input type="radio"[^>]*name="kind"[^>]*>', html)
    assert len(radios) == 3 and 'id="field-kind"' in radios[0]
    for radio in radios:
        assert 'aria-invalid="true" aria-describedby="field-kind-error"' in radio
    assert not id_problems(html)
