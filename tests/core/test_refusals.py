"""The transaction rule: views never commit or roll back, and each face's one handler
shows a refused action at its field (see ``app.core.errors``)."""

import ast
import re
from pathlib import Path

from quart import Quart
from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.error_pages import answer_refusal
from app.core.errors import DomainError
from app.core.models import Tenant, User
from tests.factories import login, make_clerk, make_staffed_station, post_form

ROOT = Path(__file__).resolve().parents[2]
FACES = ("app/planning", "app/portal", "app/public", "app/api")
#: What only a service (or the one handler in app.core) may do with the session.
FORBIDDEN = re.compile(r"\.(commit|rollback)\(|reload_identity\(")
#: The faces that answer in HTML, each with one refusal handler, and their blueprints.
HTML_FACES = {
    "app/planning": ("planning",),
    "app/portal": ("portal",),
    "app/public": ("public", "accounts"),
}
#: The only excepts an HTML face's view may keep: (file, function, what it catches),
#: each with the reason it is not a refused action answered by ``on_refusal``.
KEPT_EXCEPTS = {
    ("app/planning/dispatches.py", "_send_at", "ValueError"): (
        "parsing the form's time; a bad one is the dispatch's own refusal at its field"
    ),
    ("app/planning/course_reports.py", "_day", "ValueError"): (
        "parsing a day from the query string; a bad one is no filter"
    ),
    ("app/planning/staffing.py", "_filters", "ValueError"): (
        "parsing a day from the query string; a bad one is no filter"
    ),
    ("app/planning/elections.py", "template_apply", "ValueError"): (
        "parsing the form's day and template before any service is called"
    ),
    ("app/planning/elections.py", "opening_delete", "ValueError"): (
        "parsing the day of the opening to remove; a bad one is a 404"
    ),
    ("app/planning/courses.py", "_book_many_page", "(CourseError, NotFound)"): (
        "a read (the bulk booking's preview) drawn as a part of the page: its refusal "
        "is shown in its place and the rest of the page is drawn all the same"
    ),
    ("app/planning/courses.py", "_result_form", "NotFound"): (
        "a read: a person id in the form that no longer exists is dropped from it"
    ),
    **{
        ("app/public/accounts.py", view, "RateLimited"): (
            "RateLimited is not a DomainError: a 429 with Retry-After, not a refusal"
        )
        for view in ("login", "forgot_password", "login_link", "login_code", "enter_login_code")
    },
    **{
        ("app/public/second_factor.py", view, "RateLimited"): (
            "RateLimited is not a DomainError: a 429 with Retry-After, not a refusal"
        )
        for view in ("second_step", "enrol_second_factor")
    },
    **{
        ("app/public/site.py", view, "RateLimited"): (
            "RateLimited is not a DomainError: a 429 on the form, not a refusal"
        )
        for view in ("apply", "application_link", "contact_form")
    },
}


def test_it_finds_no_commit_or_rollback_in_a_view() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for face in FACES
        for path in sorted((ROOT / face).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if FORBIDDEN.search(line)
    ]
    assert offenders == []


def _excepts(path: Path) -> list[tuple[str, str, int]]:
    """(enclosing function, what is caught, line) for each except in a module."""
    found: list[tuple[str, str, int]] = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        if isinstance(node, ast.ExceptHandler):
            caught = ast.unparse(node.type) if node.type is not None else "(bare)"
            found.append((function, caught, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(ast.parse(path.read_text()), "(module)")
    return found


def test_no_html_view_catches_a_refusal_itself() -> None:
    """A view says what a refusal shows with ``on_refusal`` before the service call;
    a try/except around it would bypass the face's one handler. Other excepts are
    listed in KEPT_EXCEPTS with their reason."""
    seen = set()
    offenders = []
    for face in HTML_FACES:
        for path in sorted((ROOT / face).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            for function, caught, line in _excepts(path):
                key = (relative, function, caught)
                if key in KEPT_EXCEPTS:
                    seen.add(key)
                else:
                    offenders.append(f"{relative}:{line}: {function}: except {caught}")
    assert offenders == [], "use on_refusal(answer) instead, or list the except with a reason"
    assert set(KEPT_EXCEPTS) - seen == set(), "listed excepts no longer in the code"


def test_each_html_face_has_its_one_refusal_handler(app: Quart) -> None:
    for blueprints in HTML_FACES.values():
        for name in blueprints:
            assert app.error_handler_spec[name][None][DomainError] is answer_refusal, name


async def test_it_shows_a_refusal_at_its_field_on_a_plain_form(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    election_id, district_id = s["election"].id, s["district"].id
    await login(client, planner)
    url = f"/lund/planning/elections/{election_id}/districts/{district_id}"
    refused = await post_form(client, url, {"code": "", "name": "Norr"})
    body = await refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="field-code-error"' in body and 'aria-invalid="true"' in body
    assert 'value="Norr"' in body  # what was typed is kept


async def test_it_shows_a_refusal_in_the_fragment_for_htmx(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    away = await make_clerk(db, tenant, s["election"], kinds=())
    await login(client, planner)
    refused = await post_form(
        client,
        f"/lund/planning/elections/{s['election'].id}/staffing/assign",
        {
            "shift_id": str(s["early"].id),
            "role_type_id": str(s["roles"]["clerk"].id),
            "person_id": str(away.id),
        },
        headers={"HX-Request": "true"},
    )
    body = await refused.get_data(as_text=True)
    assert refused.status_code == 409
    # Only the station's card, with the refusal where the place is drawn.
    assert "<html" not in body and 'class="conflict" role="alert"' in body
