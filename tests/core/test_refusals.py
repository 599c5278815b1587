"""The transaction rule: views never commit or roll back, and each face's one handler
shows a refused action at its field (see ``app.core.errors``)."""

import re
from pathlib import Path

from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant, User
from tests.factories import login, make_clerk, make_staffed_station, post_form

ROOT = Path(__file__).resolve().parents[2]
FACES = ("app/planning", "app/portal", "app/public", "app/api")
#: What only a service (or the one handler in app.core) may do with the session.
FORBIDDEN = re.compile(r"\.(commit|rollback)\(|reload_identity\(")


def test_it_finds_no_commit_or_rollback_in_a_view() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for face in FACES
        for path in sorted((ROOT / face).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if FORBIDDEN.search(line)
    ]
    assert offenders == []


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
