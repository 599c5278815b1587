"""The public site's footer offers each visitor the way in that fits who they are."""

import re

from quart.testing import QuartClient

from app.core.models import Tenant, User
from tests.factories import login


async def _footer_links(client: QuartClient) -> dict[str, str]:
    body = await (await client.get("/lund/")).get_data(as_text=True)
    footer = body.split('<footer class="public-footer', 1)[1].split("</footer>", 1)[0]
    return {
        " ".join(re.sub(r"<[^>]+>", "", text).split()): href
        for href, text in re.findall(r'<a href="([^"]+)"[^>]*>(.*?)</a>', footer, re.S)
    }


async def test_a_visitor_is_offered_to_sign_in(client: QuartClient, tenant: Tenant) -> None:
    links = await _footer_links(client)
    assert links.get("Logga in") == "/login"
    assert "Min sida" not in links


async def test_someone_signed_in_is_offered_their_own_pages_not_to_sign_in(
    client: QuartClient, clerk: User, planner: User, outsider: User
) -> None:
    for user, home in (
        (clerk, "/lund/portal/"),
        (planner, "/lund/planning/"),
        (outsider, "/account/municipalities"),  # a member of another municipality
    ):
        await login(client, user)
        links = await _footer_links(client)
        assert "Logga in" not in links, user.email
        assert links.get("Min sida") == home, (user.email, links)
        body = await (await client.get("/lund/")).get_data(as_text=True)
        assert "Logga ut" in body.split("<footer", 1)[1]
        client.cookie_jar.clear()
