from quart.testing import QuartClient

from app.core.models import User
from tests.factories import login


async def test_it_shows_a_clerk_their_portal(client: QuartClient, clerk: User) -> None:
    await login(client, clerk)
    response = await client.get("/lund/portal/")
    body = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Mina uppdrag" in body
    assert 'name="viewport"' in body


async def test_it_keeps_a_clerk_out_of_the_back_office(client: QuartClient, clerk: User) -> None:
    await login(client, clerk)
    response = await client.get("/lund/planning/")
    assert response.status_code == 403
    # The error page uses the public layout: a clerk sees no back-office navigation.
    assert 'class="app-nav"' not in await response.get_data(as_text=True)


async def test_it_gives_an_outsider_404(client: QuartClient, clerk: User, outsider: User) -> None:
    await login(client, outsider)
    assert (await client.get("/lund/portal/")).status_code == 404
