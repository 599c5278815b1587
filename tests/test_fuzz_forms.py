"""Every form and query of the HTML faces, fuzzed: no input is a server error.

Each POST route of the planning, portal, public and sign-in faces gets a handful of
hostile values in every field its page draws (NUL, a lone surrogate, 10 kB, a number
past int64, a negative past int32, empty, digits int() refuses, another municipality's
id) and a body that is not UTF-8, with a valid CSRF token, signed in with a role that
may use it; each GET route gets the hostile values in the query names the views read,
and in its path an id past int64 and one in range that names nothing. Nothing may
answer 5xx or log an ERROR (the conftest's guard). The routes come from the app's
url_map (``tests.support.routes``, shared with the isolation walker); the fields from
the forms the pages draw.

Bounded: 9 requests a POST route, 5 a GET route (7 with an id in its path) and one
page load a GET route to find the forms: about 1,700 requests in all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from quart import Quart
from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from tests.factories import (
    csrf_token,
    login,
    make_clerk,
    make_course,
    make_course_session,
    make_staffed_station,
    make_user,
)
from tests.support.routes import FaceRoute, face_routes, forms_on, post_endpoint, sample_path

#: A drill: some 1,700 requests, minutes of a worker (`make drills`).
pytestmark = pytest.mark.drill

#: What every field (and query name) is sent, one request each.
HOSTILE = {
    "nul": "a\x00b",
    "surrogate": "a\ud800b",
    "long": "x" * 10_000,
    "huge": "9" * 25,
    "negative": "-2147483649",
    "empty": "",
    "digit_like": "²³",  # digits to str.isdigit, not to int()
}
#: The query names the HTML views read (``request.args``).
QUERY_NAMES = (
    "page", "q", "election", "election_id", "district", "station", "shift", "role",
    "people", "kind", "state", "status", "tag", "sort", "day", "next", "token", "past",
    "results", "unfilled", "format", "endpoint",
)  # fmt: skip
#: Fields sent where a form's fields could not be found (a button posting with HTMX).
FALLBACK_FIELDS = ("id", "person_id", "election_id", "station_id", "shift_id", "name", "note")
#: Routes that end the session the sweep runs in.
SKIPPED_ENDPOINTS = frozenset({"accounts.logout"})
#: Routes that erase the sweep's own clerk (and with them the account the portal signs
#: in with): fuzzed after every other route.
ERASING_ENDPOINTS = frozenset({"planning.removal_approve", "planning.person_erase"})


@dataclass
class Sweep:
    app: Quart
    clients: dict[str, QuartClient]
    users: dict[str, User | None]
    tokens: dict[str, str]
    ids: dict[str, str]
    failures: list[str]

    def client_for(self, route: FaceRoute) -> str:
        if route.face == "planning":
            return "planning"
        return "portal" if route.face == "portal" else "anonymous"

    def path_of(self, route: FaceRoute) -> str:
        return _VARIABLE_SUB(route, self.ids)

    async def send(self, who: str, method: str, path: str, **kwargs: Any) -> int:
        client = self.clients[who]
        response = await client.open(path, method=method, **kwargs)
        status = response.status_code
        if status >= 500:
            self.failures.append(f"{status} {method} {path[:150]}")
        location = response.headers.get("Location", "")
        user = self.users[who]
        if user is not None and location.startswith("/login"):
            await login(client, user)  # a route that signs out: in again
            self.tokens[who] = await csrf_token(client)
        return status

    async def post(self, who: str, path: str, body: bytes) -> int:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return await self.send(who, "POST", path, data=body, headers=headers)


def _VARIABLE_SUB(route: FaceRoute, ids: dict[str, str]) -> str:
    path = route.rule.rule.replace("<tenant>", "lund")
    for argument in route.rule.arguments:
        if argument == "tenant":
            continue
        value = ids.get(argument, "1" if f"<int:{argument}>" in path else "x")
        path = path.replace(f"<int:{argument}>", value).replace(f"<{argument}>", value)
    return path


def _form_body(fields: list[str], value: str, token: str) -> bytes:
    pairs = [(name, value) for name in fields] + [("csrf_token", token)]
    # A lone surrogate travels as its UTF-8-like bytes, as a careless client sends it.
    return urlencode(pairs, encoding="utf-8", errors="surrogatepass").encode("ascii")


async def _seed(db: AsyncSession, tenant: Tenant, other_tenant: Tenant) -> dict[str, str]:
    s = await make_staffed_station(db, tenant)
    other = await make_staffed_station(db, other_tenant)
    clerk_user = await make_user(db, tenant, "clerk")
    person = await make_clerk(db, tenant, s["election"])
    course = await make_course(db, tenant)  # required everywhere: the board checks it
    course_session = await make_course_session(db, tenant, course)
    with tenant_scope(tenant.id):
        person.user_id = clerk_user.id
        await db.commit()
    return {
        "election_id": str(s["election"].id),
        "station_id": str(s["station"].id),
        "district_id": str(s["district"].id),
        "shift_id": str(s["early"].id),
        "role_type_id": str(s["roles"]["clerk"].id),
        "person_id": str(person.id),
        "course_id": str(course.id),
        "session_id": str(course_session.id),
        "format": "csv",
        "locale": "sv",
        "other_tenant": str(other["station"].id),
        "clerk_user": str(clerk_user.id),
    }


async def _forms_by_endpoint(sweep: Sweep, routes: list[FaceRoute]) -> dict[str, Any]:
    """(path, field names) per POST endpoint, from the forms the GET pages draw."""
    found: dict[str, tuple[str, set[str]]] = {}
    for route in routes:
        if route.method != "GET" or route.endpoint in SKIPPED_ENDPOINTS:
            continue
        who = sweep.client_for(route)
        path = sweep.path_of(route)
        response = await sweep.clients[who].get(path)
        if response.status_code >= 500:
            sweep.failures.append(f"{response.status_code} GET {path}")
        if not response.content_type.startswith("text/html"):
            continue
        for form in forms_on(path, await response.get_data(as_text=True)):
            match = post_endpoint(sweep.app, form.action)
            if match is None:
                continue
            endpoint, action_path = match
            entry = found.setdefault(endpoint, (action_path, set()))
            entry[1].update(form.names - {"csrf_token"})
    return found


async def _fuzz_get(sweep: Sweep, route: FaceRoute) -> None:
    who = sweep.client_for(route)
    path = sweep.path_of(route)
    for name in ("nul", "surrogate", "long", "huge", "negative"):  # not each of HOSTILE
        value = quote(HOSTILE[name], safe="", errors="surrogatepass")
        query = "&".join(f"{key}={value}" for key in QUERY_NAMES)
        await sweep.send(who, "GET", f"{path}?{query}")
    if route.has_int_variable:  # ids past int64, and one in range that names nothing
        await sweep.send(who, "GET", sample_path(route.rule, value="9" * 25))
        await sweep.send(who, "GET", sample_path(route.rule, value=str(2**31 - 1)))


async def _fuzz_post(sweep: Sweep, route: FaceRoute, forms: dict[str, Any]) -> None:
    who = sweep.client_for(route)
    path, names = forms.get(route.endpoint, (sweep.path_of(route), set()))
    fields = sorted(names) or list(FALLBACK_FIELDS)
    values = [*HOSTILE.values(), sweep.ids["other_tenant"]]
    for value in values:
        await sweep.post(who, path, _form_body(fields, value, sweep.tokens[who]))
    token = sweep.tokens[who]
    not_utf8 = b"&".join(name.encode() + b"=\xff\xfe" for name in fields)
    await sweep.post(who, path, not_utf8 + b"&csrf_token=" + token.encode())


async def test_no_form_or_query_of_the_html_faces_is_a_server_error(
    app: Quart,
    db: AsyncSession,
    tenant: Tenant,
    other_tenant: Tenant,
    admin: User,
) -> None:
    ids = await _seed(db, tenant, other_tenant)
    clerk_user = await db.get(User, int(ids["clerk_user"]))
    assert clerk_user is not None
    clients = {who: app.test_client() for who in ("planning", "portal", "anonymous")}
    users: dict[str, User | None] = {"planning": admin, "portal": clerk_user, "anonymous": None}
    for who, user in users.items():
        if user is not None:
            await login(clients[who], user)
    tokens = {who: await csrf_token(client) for who, client in clients.items()}
    sweep = Sweep(app, clients, users, tokens, ids, [])

    routes = [r for r in face_routes(app) if r.endpoint not in SKIPPED_ENDPOINTS]
    forms = await _forms_by_endpoint(sweep, routes)
    posts = sorted(
        (r for r in routes if r.method == "POST"), key=lambda r: r.endpoint in ERASING_ENDPOINTS
    )
    gets = [r for r in routes if r.method == "GET"]
    assert len(posts) >= 90 and len(gets) >= 100, (len(posts), len(gets))
    assert len(forms) >= 40, sorted(forms)  # the pages' forms were found
    for route in gets:
        await _fuzz_get(sweep, route)
    for route in posts:
        await _fuzz_post(sweep, route, forms)
    assert not sweep.failures, "\n".join(sweep.failures)
