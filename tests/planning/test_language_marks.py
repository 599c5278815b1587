"""Data in the municipality's own language carries its ``lang`` on a page in another
language (an election's name, a role's name the office gave no translation), and the
staffing board says in words and a symbol, not by colour alone, which places are short."""

import re

from quart import Quart, g
from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import locale_scope
from app.core.models import Tenant, User
from app.core.templating import own_language
from app.core.tenancy import tenant_scope
from app.domain.models import RoleType
from tests.factories import login, make_staffed_station, post_form


async def _choose_language(client: QuartClient, code: str) -> None:
    response = await post_form(client, "/lang", {"lang": code, "next": "/"})
    assert response.status_code == 302


async def test_the_boards_swedish_data_is_marked_swedish_on_a_danish_page(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    election_name = s["election"].name
    with tenant_scope(tenant.id):
        # The office named the clerk in English only: on a Danish page it stays Swedish.
        clerk = await db.scalar(select(RoleType).where(RoleType.code == "clerk"))
        assert clerk is not None
        clerk.names = {"en": "Poll clerk"}
        await db.commit()
    await login(client, planner)
    board_url = f"/{tenant.slug}/planning/elections/{s['election'].id}/staffing"
    page = await (await client.get(board_url)).get_data(as_text=True)
    # On a Swedish page (the municipality's language) nothing needs its own lang.
    assert '<span lang="sv">' not in page
    await _choose_language(client, "da")
    page = await (await client.get(board_url)).get_data(as_text=True)
    assert f'<span lang="sv">{election_name}</span>' in page
    assert '<span lang="sv">Röstmottagare</span>' in page
    # The shift has no Danish name either: its fallback is marked too.
    assert '<span lang="sv">Förmiddag</span>' in page
    await _choose_language(client, "en")
    page = await (await client.get(board_url)).get_data(as_text=True)
    assert "Poll clerk" in page and '<span lang="sv">Poll clerk</span>' not in page
    assert f'<span lang="sv">{election_name}</span>' in page


async def test_short_cells_on_the_board_are_marked_in_words_not_colour_alone(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    await login(client, planner)
    board_url = f"/{tenant.slug}/planning/elections/{s['election'].id}/staffing"
    page = await (await client.get(f"{board_url}?station={s['station'].id}")).get_data(as_text=True)
    cells = re.findall(r'<div class="cell status-(\w+)">(.*?)</div>', page, re.S)
    assert cells, "no cells drawn"
    words = {"missing": "under miniminivån", "below": "under målet"}
    for status, head in cells:
        if status in words:
            assert f'<span class="visually-hidden">{words[status]}</span>' in head, head
            assert 'class="shortfall-marker' in head and 'aria-hidden="true"' in head
        else:
            assert "shortfall-marker" not in head
    assert any(status == "missing" for status, _head in cells)


async def test_own_language_marks_only_on_a_page_in_another_language(app: Quart) -> None:
    async with app.test_request_context("/"):
        g.tenant = Tenant(name="Lund", slug="lund", locale="sv")
        with locale_scope("en"):
            assert str(own_language("Val <2026>")) == '<span lang="sv">Val &lt;2026&gt;</span>'
            assert str(own_language("Election", translated=True)) == "Election"
        with locale_scope("sv"):
            assert str(own_language("Val")) == "Val"
