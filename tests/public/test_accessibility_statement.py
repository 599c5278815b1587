"""The accessibility statement: the office's text, then what every statement must say
(how to report a problem, the country's supervisory authority, the dates), linked from
the footer of every public and portal page."""

import html
import re

from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.site import webparts
from tests.factories import csrf_token, login

ACTOR = Actor(label="planner@lund.test")


async def _read(client: QuartClient, locale: str, path: str = "/lund/accessibility") -> str:
    token = await csrf_token(client, "/lund/")
    await client.post("/lang", form={"lang": locale, "next": path}, headers={"X-CSRF-Token": token})
    response = await client.get(path)
    assert response.status_code == 200
    return await response.get_data(as_text=True)


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


async def test_the_built_in_statement_names_digg_and_the_feedback_route_in_each_language(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    with tenant_scope(tenant.id):
        await webparts.save_site_settings(
            db, ACTOR, {"office_email": "val@lund.se", "office_phone": "046 35 50 00"}
        )
    swedish = await _read(client, "sv")
    text = _text(swedish)
    assert "<h1>Tillgänglighetsredogörelse</h1>" in swedish
    for fact in (
        "delvis förenlig",
        "Innehåll som inte är tillgängligt",
        "Meddela brister eller be om innehåll i tillgänglig form",
        "E-post: val@lund.se",
        "Telefon: 046 35 50 00",
        "Myndigheten för digital förvaltning (Digg) har tillsyn över lagen (2018:1937)",
        "Ansvarig Lunds kommun",
        "Kansliet har ännu inte granskat och publicerat redogörelsen",
    ):
        assert fact in text, fact
    assert 'href="mailto:val@lund.se"' in swedish
    assert 'href="/lund/contact"' in swedish
    assert 'href="https://www.digg.se/tdosanmalan"' in swedish
    # In Swedish the authority's Swedish name needs no language of its own.
    assert 'lang="sv"' not in swedish.split("<main", 1)[1]

    english = await _read(client, "en")
    text = _text(english)
    assert "<h1>Accessibility statement</h1>" in english
    assert "partially compliant" in text and "Report a problem or ask for content" in text
    assert "Myndigheten för digital förvaltning (Digg) supervises lagen (2018:1937)" in text
    assert '<span lang="sv">Myndigheten för digital förvaltning (Digg)</span>' in english

    danish = await _read(client, "da")
    text = _text(danish)
    assert "<h1>Tilgængelighedserklæring</h1>" in danish
    assert "overholder delvist" in text and "Meld et problem" in text
    assert "fører tilsyn med" in text and "Digitaliseringsstyrelsen" not in text


async def test_a_danish_municipality_names_digitaliseringsstyrelsen(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    tenant.locale = "da"
    await db.commit()
    page = await _read(client, "da")
    text = _text(page)
    assert "Digitaliseringsstyrelsen fører tilsyn med lov om tilgængelighed" in text
    assert "10 arbejdsdage" in text
    assert "digst.dk/digital-inklusion/webtilgaengelighed" in page
    assert "Digg" not in text and "2018:1937" not in text
    english = _text(await _read(client, "en"))
    assert "Digitaliseringsstyrelsen supervises" in english and "10 working days" in english


async def test_the_office_publishes_its_statement_and_the_page_shows_its_dates(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    with tenant_scope(tenant.id):
        await webparts.publish(
            db,
            ACTOR,
            "accessibility",
            "sv",
            {"title": "Tillgänglighet", "body": "Kartan saknar textversion."},
        )
    text = _text(await _read(client, "sv"))
    assert "Kartan saknar textversion." in text
    assert "Redogörelsen publicerad" in text and "Senast granskad" in text
    assert "ännu inte granskat" not in text
    # The fixed facts stay under the office's text.
    assert "Myndigheten för digital förvaltning (Digg)" in text


async def test_every_public_page_links_the_statement_from_its_footer(
    client: QuartClient, tenant: Tenant
) -> None:
    for path in ("/lund/", "/lund/work", "/lund/privacy", "/lund/contact", "/lund/apply"):
        page = await _read(client, "da", path)
        footer = page.split('<footer class="public-footer', 1)[1]
        assert '<a href="/lund/accessibility">Tilgængelighedserklæring</a>' in footer, path
        # The statement is in the footer, not the site menu.
        assert "/lund/accessibility" not in page.split("<main", 1)[0], path


async def test_the_portal_links_the_statement_from_its_footer(
    client: QuartClient, clerk: User
) -> None:
    await login(client, clerk)
    page = await (await client.get("/lund/portal/")).get_data(as_text=True)
    footer = page.split('<footer class="portal-footer">', 1)[1]
    assert '<a href="/lund/accessibility">Tillgänglighetsredogörelse</a>' in footer


async def test_the_office_edits_the_statement_like_the_other_pages(
    client: QuartClient, planner: User
) -> None:
    await login(client, planner)
    response = await client.get("/lund/planning/site/accessibility/sv")
    assert response.status_code == 200
    assert "Tillgänglighetsredogörelse" in await response.get_data(as_text=True)
