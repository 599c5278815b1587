"""Password reset by a mailed, single-use, expiring link."""

import re
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from pathlib import Path

from quart import Quart
from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import AuthSession, OutboxMessage, PasswordResetToken, User
from app.jobs.outbox import deliver_due
from tests.factories import login, post_form, shift_back

NEW_PASSWORD = "a brand new passphrase"


async def _deliver_mail(app: Quart) -> list[Message]:
    runtime = app.extensions["stemma"]
    await deliver_due(runtime.session_factory, runtime.mail)
    folder: Path = runtime.settings.outbox_dir / "mail"
    return [
        message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted(folder.glob("*.eml"))
    ]


def _link_in(mail: Message) -> str:
    assert isinstance(mail, EmailMessage)
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    match = re.search(r"http://localhost(/password/reset\?token=\S+)", text)
    assert match, text
    return match.group(1)


async def _request_reset(app: Quart, client: QuartClient, email: str) -> str:
    response = await post_form(client, "/password/forgot", {"email": email})
    assert response.status_code == 200
    mails = await _deliver_mail(app)
    assert mails, "no reset mail was delivered"
    return _link_in(mails[-1])


async def test_it_mails_a_link_that_sets_a_new_password(
    app: Quart, client: QuartClient, planner: User
) -> None:
    link = await _request_reset(app, client, planner.email)
    redirect = await client.get(link)
    # The token leaves the address bar at once.
    assert redirect.status_code == 302
    assert redirect.headers["Location"] == "/password/reset"
    form_page = await client.get("/password/reset")
    assert form_page.status_code == 200
    response = await post_form(
        client, "/password/reset", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status_code == 302
    await login(client, planner, NEW_PASSWORD)


async def test_it_mails_in_swedish_by_default(
    app: Quart, client: QuartClient, planner: User
) -> None:
    await post_form(client, "/password/forgot", {"email": planner.email})
    mail = (await _deliver_mail(app))[-1]
    assert mail["Subject"] == "Välj ett nytt lösenord för Stemma"
    assert mail["To"] == planner.email


async def test_it_works_only_once(app: Quart, client: QuartClient, planner: User) -> None:
    link = await _request_reset(app, client, planner.email)
    await client.get(link)
    await post_form(client, "/password/reset", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    await client.get(link)
    again = await client.get("/password/reset")
    assert again.status_code == 410
    assert "Länken har gått ut eller har redan använts." in await again.get_data(as_text=True)


async def test_it_expires(app: Quart, client: QuartClient, db: AsyncSession, planner: User) -> None:
    link = await _request_reset(app, client, planner.email)
    await shift_back(db, PasswordResetToken, "expires_at", timedelta(hours=2))
    await client.get(link)
    expired = await client.get("/password/reset")
    assert expired.status_code == 410


async def test_it_ends_every_session_when_the_password_changes(
    app: Quart, client: QuartClient, db: AsyncSession, planner: User
) -> None:
    other_device = app.test_client()
    await login(other_device, planner)
    link = await _request_reset(app, client, planner.email)
    await client.get(link)
    await post_form(client, "/password/reset", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert (await db.scalars(select(AuthSession))).all() == []
    assert (await other_device.get("/lund/planning/")).status_code == 302


async def test_it_says_the_same_for_an_unknown_address_and_sends_nothing(
    app: Quart, client: QuartClient, db: AsyncSession, planner: User, owner_db: AsyncSession
) -> None:
    known = await post_form(client, "/password/forgot", {"email": planner.email})
    unknown = await post_form(client, "/password/forgot", {"email": "nobody@lund.test"})
    assert (await known.get_data(as_text=True)).count("Om adressen hör till ett konto") == 1
    assert (await unknown.get_data(as_text=True)).count("Om adressen hör till ett konto") == 1
    recipients = (await owner_db.scalars(select(OutboxMessage.recipient))).all()
    assert recipients == [planner.email]


async def test_it_refuses_a_weak_or_mismatched_password(
    app: Quart, client: QuartClient, planner: User
) -> None:
    link = await _request_reset(app, client, planner.email)
    await client.get(link)
    short = await post_form(client, "/password/reset", {"password": "short", "confirm": "short"})
    assert short.status_code == 200
    assert "aria-invalid" in await short.get_data(as_text=True)
    mismatch = await post_form(
        client, "/password/reset", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"}
    )
    assert "Lösenorden är inte lika." in await mismatch.get_data(as_text=True)
    # The token is still good after refused attempts.
    ok = await post_form(
        client, "/password/reset", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert ok.status_code == 302


async def test_it_limits_reset_mails_per_account(
    app: Quart, client: QuartClient, db: AsyncSession, planner: User, owner_db: AsyncSession
) -> None:
    for _attempt in range(5):
        await post_form(client, "/password/forgot", {"email": planner.email})
    assert len((await owner_db.scalars(select(OutboxMessage))).all()) == 3


async def test_it_retires_every_other_link_when_one_is_used(
    app: Quart, client: QuartClient, db: AsyncSession, planner: User
) -> None:
    first = await _request_reset(app, client, planner.email)
    second = await _request_reset(app, client, planner.email)
    await client.get(second)
    await post_form(client, "/password/reset", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    await client.get(first)
    assert (await client.get("/password/reset")).status_code == 410


async def test_it_keeps_no_working_link_in_the_outbox(
    app: Quart, client: QuartClient, db: AsyncSession, planner: User, owner_db: AsyncSession
) -> None:
    await _request_reset(app, client, planner.email)
    row = (
        await owner_db.scalars(select(OutboxMessage).execution_options(populate_existing=True))
    ).one()
    assert "token=" not in row.body_text and row.body_html is None


async def test_it_refuses_the_link_of_an_account_closed_meanwhile_above_the_form(
    app: Quart, client: QuartClient, db: AsyncSession, planner: User
) -> None:
    link = await _request_reset(app, client, planner.email)
    await client.get(link)
    assert (await client.get("/password/reset")).status_code == 200
    planner.is_active = False
    await db.commit()
    refused = await post_form(
        client, "/password/reset", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert refused.status_code == 200
    assert "Länken har gått ut eller har redan använts." in await refused.get_data(as_text=True)
    token = (await db.scalars(select(PasswordResetToken))).one()
    await db.refresh(token)
    assert token.used_at is None


async def test_the_link_opens_in_the_accounts_language(
    app: Quart, client: QuartClient, db: AsyncSession, planner: User
) -> None:
    """An English-speaking clerk's invitation or reset link opens an English page (the
    mail was English), and so does the sign-in after it, unless a language was chosen."""
    planner.locale = "en"
    await db.commit()
    link = await _request_reset(app, client, planner.email)
    await client.get(link)
    page = await (await client.get("/password/reset")).get_data(as_text=True)
    assert "Choose a new password" in page and "Välj ett nytt lösenord" not in page
    sign_in = await (await client.get("/login")).get_data(as_text=True)
    assert '<html lang="en"' in sign_in

    other = app.test_client()
    await post_form(other, "/lang", {"lang": "da"})
    await other.get(await _request_reset(app, other, planner.email))
    page = await (await other.get("/password/reset")).get_data(as_text=True)
    assert '<html lang="da"' in page
