"""Signing in without a password: a mailed single-use link, or a single-use code by SMS."""

import hashlib
import json
import re
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.accounts import signin_links
from app.core.models import AuditEntry, OutboxMessage, Tenant, User
from app.core.models.signin import SignInToken
from app.core.ratelimit import Limit
from app.core.tenancy import tenant_scope
from app.domain.clerks import signin_codes
from app.jobs.outbox import deliver_due
from tests.factories import make_person, make_user, post_form, shift_back

MOBILE = "+46701112233"
NEUTRAL_LINK = "Om adressen hör till ett konto har vi skickat en länk"
NEUTRAL_CODE = "Om vi hittade ett konto med mobilnummer"


async def _deliver(app: Quart) -> None:
    runtime = app.extensions["stemma"]
    await deliver_due(runtime.session_factory, runtime.mail, sms=runtime.sms)


async def _mailed_links(app: Quart) -> list[str]:
    await _deliver(app)
    folder: Path = app.extensions["stemma"].settings.outbox_dir / "mail"
    links = []
    for path in sorted(folder.glob("*.eml")):
        mail = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(mail, EmailMessage)
        body = mail.get_body(preferencelist=("plain",))
        assert body is not None
        match = re.search(r"http://localhost(/login/link/open\?token=\S+)", body.get_content())
        assert match, body.get_content()
        links.append(match.group(1))
    return links


async def _texted(app: Quart) -> list[dict[str, Any]]:
    await _deliver(app)
    folder: Path = app.extensions["stemma"].settings.outbox_dir / "sms"
    return [json.loads(path.read_text("utf-8")) for path in sorted(folder.glob("*.json"))]


def _code_in(sms: dict[str, Any]) -> str:
    match = re.match(r"(\d{6}) ", sms["message"])
    assert match, sms["message"]
    return match.group(1)


async def _link_person(db: AsyncSession, tenant: Tenant, user: User, mobile: str = MOBILE) -> Any:
    with tenant_scope(tenant.id):
        person = await make_person(db, tenant, mobile=mobile, email=user.email)
        person.user_id = user.id
        await db.commit()
    return person


async def _page(response: Any) -> str:
    text: str = await response.get_data(as_text=True)
    # The CSRF token differs from page to page; the rest must not.
    return re.sub(r'name="csrf_token" value="[^"]+"', "", text)


@pytest.fixture
async def linked_clerk(db: AsyncSession, tenant: Tenant, clerk: User) -> User:
    await _link_person(db, tenant, clerk)
    return clerk


# --- a link by email ---------------------------------------------------------------------


async def test_it_mails_a_link_that_signs_a_clerk_in_to_the_portal(
    app: Quart, client: QuartClient, clerk: User
) -> None:
    assert "Logga in utan lösenord" in await (await client.get("/login")).get_data(as_text=True)
    sent = await post_form(client, "/login/link", {"email": clerk.email.upper()})
    assert sent.status_code == 200
    assert NEUTRAL_LINK in await sent.get_data(as_text=True)
    [link] = await _mailed_links(app)
    opened = await client.get(link)
    # The token leaves the address bar at once.
    assert opened.status_code == 302
    assert opened.headers["Location"] == "/login/link/open"
    confirm = await client.get("/login/link/open")
    assert confirm.status_code == 200
    assert f"Du loggar in som {clerk.name} ({clerk.email})" in await confirm.get_data(as_text=True)
    # Opening the link alone signs nobody in (a mail scanner may open every link).
    assert (await client.get("/lund/portal/")).status_code == 302
    signed_in = await post_form(client, "/login/link/open")
    assert signed_in.status_code == 302
    assert signed_in.headers["Location"] == "/lund/portal/"
    assert "token" not in signed_in.headers["Location"]
    assert (await client.get("/lund/portal/")).status_code == 200


async def test_it_mails_the_link_in_swedish_and_keeps_no_working_link(
    app: Quart, client: QuartClient, db: AsyncSession, planner: User, tenant: Tenant
) -> None:
    await post_form(client, "/login/link", {"email": planner.email})
    [link] = await _mailed_links(app)
    token = link.split("token=", 1)[1]
    mail_path = next((app.extensions["stemma"].settings.outbox_dir / "mail").glob("*.eml"))
    mail = message_from_bytes(mail_path.read_bytes(), policy=policy.default)
    assert mail["Subject"] == "Din länk för att logga in i Stemma"
    # The mail of a member is their municipality's (its text, its sender).
    with tenant_scope(tenant.id):
        row = (
            await db.scalars(select(OutboxMessage).execution_options(populate_existing=True))
        ).one()
    assert row.tenant_id == tenant.id
    assert token not in row.body_text and row.body_html is None
    stored = (await db.scalars(select(SignInToken))).one()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert abs(stored.expires_at - stored.created_at - timedelta(minutes=15)) < timedelta(seconds=5)


async def test_it_works_only_once(app: Quart, client: QuartClient, planner: User) -> None:
    await post_form(client, "/login/link", {"email": planner.email})
    [link] = await _mailed_links(app)
    await client.get(link)
    assert (await post_form(client, "/login/link/open")).status_code == 302
    await post_form(client, "/logout")
    await client.get(link)
    again = await client.get("/login/link/open")
    assert again.status_code == 410
    assert "Länken har gått ut eller har redan använts." in await again.get_data(as_text=True)
    assert (await post_form(client, "/login/link/open")).status_code == 410
    assert (await client.get("/lund/planning/")).status_code == 302


async def test_it_expires_after_fifteen_minutes(
    app: Quart, client: QuartClient, db: AsyncSession, planner: User
) -> None:
    await post_form(client, "/login/link", {"email": planner.email})
    [link] = await _mailed_links(app)
    await shift_back(db, SignInToken, "expires_at", timedelta(minutes=16))
    await client.get(link)
    assert (await client.get("/login/link/open")).status_code == 410
    assert (await post_form(client, "/login/link/open")).status_code == 410


async def test_it_says_the_same_for_an_unknown_address_and_sends_nothing(
    app: Quart, client: QuartClient, db: AsyncSession, planner: User, owner_db: AsyncSession
) -> None:
    known = await post_form(client, "/login/link", {"email": planner.email})
    unknown = await post_form(client, "/login/link", {"email": "nobody@lund.test"})
    assert known.status_code == unknown.status_code == 200
    assert await _page(known) == await _page(unknown)
    recipients = (await owner_db.scalars(select(OutboxMessage.recipient))).all()
    assert recipients == [planner.email]


async def test_it_limits_links_per_account_quietly_and_per_address_with_429(
    app: Quart,
    client: QuartClient,
    db: AsyncSession,
    planner: User,
    monkeypatch: pytest.MonkeyPatch,
    owner_db: AsyncSession,
) -> None:
    for _attempt in range(7):
        response = await post_form(client, "/login/link", {"email": planner.email})
        assert response.status_code == 200
        assert NEUTRAL_LINK in await response.get_data(as_text=True)
    assert len((await owner_db.scalars(select(OutboxMessage))).all()) == 5
    monkeypatch.setattr(
        signin_links, "LINKS_PER_ADDRESS", Limit("signin.link.address", 7, timedelta(hours=1))
    )
    limited = await post_form(client, "/login/link", {"email": "someone@lund.test"})
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert "För många försök." in await limited.get_data(as_text=True)


async def test_it_retires_the_other_links_and_codes_once_one_is_used(
    app: Quart, client: QuartClient, db: AsyncSession, linked_clerk: User
) -> None:
    await post_form(client, "/login/link", {"email": linked_clerk.email})
    await post_form(client, "/login/link", {"email": linked_clerk.email})
    first, second = await _mailed_links(app)
    await client.get(second)
    assert (await post_form(client, "/login/link/open")).status_code == 302
    await client.get(first)
    assert (await client.get("/login/link/open")).status_code == 410
    codes = (await db.scalars(select(SignInToken))).all()
    assert all(row.used_at is not None for row in codes)


async def test_it_returns_to_the_page_asked_for(
    app: Quart, client: QuartClient, linked_clerk: User
) -> None:
    await client.get("/login/link?next=/lund/portal/")
    await client.get("/login/link?next=//evil.example/x")
    await post_form(client, "/login/link", {"email": linked_clerk.email})
    [link] = await _mailed_links(app)
    await client.get(link)
    response = await post_form(client, "/login/link/open")
    assert response.headers["Location"] == "/lund/portal/"


# --- a code by SMS -----------------------------------------------------------------------


async def _request_code(client: QuartClient, login: str) -> Any:
    response = await post_form(client, "/login/code", {"login": login})
    assert response.status_code == 302, await response.get_data(as_text=True)
    assert response.headers["Location"] == "/login/code/enter"
    return response


async def test_it_texts_a_six_digit_code_that_signs_a_clerk_in_once(
    app: Quart, client: QuartClient, owner_db: AsyncSession, linked_clerk: User
) -> None:
    await _request_code(client, linked_clerk.email)
    # The text is the clerk's municipality's.
    row = (await owner_db.scalars(select(OutboxMessage))).one()
    assert row.tenant_id is not None
    assert (row.channel, row.recipient, row.sensitive) == ("sms", MOBILE, True)
    assert re.match(
        r"^\d{6} är din inloggningskod till Stemma\. Den gäller i 10 minuter", row.body_text
    )
    assert row.body_text.endswith(f"@localhost #{row.body_text[:6]}")
    page = await client.get("/login/code/enter")
    assert NEUTRAL_CODE in await page.get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in await page.get_data(as_text=True)
    [sms] = await _texted(app)
    assert (sms["to"], sms["from"]) == (MOBILE, "Stemma")
    code = _code_in(sms)
    response = await post_form(client, "/login/code/enter", {"code": f"{code[:3]} {code[3:]}"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/lund/portal/"
    assert (await client.get("/lund/portal/")).status_code == 200
    # The pending sign-in left with the old session: the code page starts over.
    again = await client.get("/login/code/enter")
    assert again.headers["Location"] == "/login/code"
    delivered = (
        await owner_db.scalars(select(OutboxMessage).execution_options(populate_existing=True))
    ).one()
    assert code not in delivered.body_text
    audit = (
        await owner_db.scalars(select(AuditEntry.code).execution_options(all_tenants=True))
    ).all()
    assert "accounts.login.sms_code" in audit


async def test_it_uses_a_code_only_once(
    app: Quart, db: AsyncSession, settings: Any, linked_clerk: User
) -> None:
    pending = await signin_codes.request_signin_code(
        db, settings, linked_clerk.email, "sv", "10.0.0.1"
    )
    code = _code_in((await _texted(app))[0])
    user = await signin_codes.sign_in_with_code(db, settings, pending, code, "10.0.0.1")
    assert user.id == linked_clerk.id
    with pytest.raises(signin_links.SignInError, match="redan använts"):
        await signin_codes.sign_in_with_code(db, settings, pending, code, "10.0.0.1")


async def test_it_finds_the_account_by_the_mobile_number_typed_as_people_write_it(
    app: Quart, client: QuartClient, linked_clerk: User
) -> None:
    await _request_code(client, "070-111 22 33")
    [sms] = await _texted(app)
    assert sms["to"] == MOBILE
    response = await post_form(client, "/login/code/enter", {"code": _code_in(sms)})
    assert response.headers["Location"] == "/lund/portal/"


async def test_it_burns_the_code_after_five_wrong_tries(
    app: Quart, client: QuartClient, linked_clerk: User
) -> None:
    await _request_code(client, linked_clerk.email)
    code = _code_in((await _texted(app))[0])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        response = await post_form(client, "/login/code/enter", {"code": wrong})
        assert response.status_code == 200
        body = await response.get_data(as_text=True)
        expected = "en gång till" if left == 1 else f"{left} gånger till"
        assert f"Koden är fel. Du kan försöka {expected}." in body
    fifth = await post_form(client, "/login/code/enter", {"code": wrong})
    assert "För många felaktiga försök" in await fifth.get_data(as_text=True)
    right = await post_form(client, "/login/code/enter", {"code": code})
    assert right.status_code == 200
    assert "För många felaktiga försök" in await right.get_data(as_text=True)
    assert (await client.get("/lund/portal/")).status_code == 302


async def test_it_refuses_an_expired_code(
    app: Quart, client: QuartClient, db: AsyncSession, linked_clerk: User
) -> None:
    await _request_code(client, linked_clerk.email)
    code = _code_in((await _texted(app))[0])
    await shift_back(db, SignInToken, "expires_at", timedelta(minutes=11))
    response = await post_form(client, "/login/code/enter", {"code": code})
    assert response.status_code == 200
    assert "Koden har gått ut eller har redan använts." in await response.get_data(as_text=True)
    assert (await client.get("/lund/portal/")).status_code == 302


async def test_it_answers_the_same_without_an_account_a_person_or_a_mobile(
    app: Quart,
    client: QuartClient,
    db: AsyncSession,
    tenant: Tenant,
    clerk: User,
    planner: User,
    linked_clerk: User,
    owner_db: AsyncSession,
) -> None:
    with tenant_scope(tenant.id):
        await make_person(db, tenant, email=planner.email)  # no mobile, not linked
    pages = []
    for login in (linked_clerk.email, planner.email, "nobody@lund.test", "+46709998877"):
        await _request_code(client, login)
        pages.append(await _page(await client.get("/login/code/enter")))
        wrong = await post_form(client, "/login/code/enter", {"code": "000000"})
        pages.append(await _page(wrong))
    assert pages[0] == pages[2] == pages[4] == pages[6]
    # A wrong code reads the same too (one known code might be 000000: skip the known one).
    assert pages[3] == pages[5] == pages[7]
    texts = (
        await owner_db.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms"))
    ).all()
    assert [text.recipient for text in texts] == [MOBILE]


async def test_it_asks_again_for_something_that_is_neither_an_address_nor_a_number(
    client: QuartClient,
) -> None:
    response = await post_form(client, "/login/code", {"login": "robin"})
    assert response.status_code == 200
    assert "Ange din e-postadress eller ditt mobilnummer." in await response.get_data(as_text=True)
    enter = await post_form(client, "/login/code/enter", {"code": "123456"})
    assert enter.headers["Location"] == "/login/code"


async def test_it_keeps_only_a_keyed_hash_of_the_code(
    app: Quart, client: QuartClient, db: AsyncSession, linked_clerk: User
) -> None:
    await _request_code(client, linked_clerk.email)
    code = _code_in((await _texted(app))[0])
    row = (await db.scalars(select(SignInToken))).one()
    assert row.code_hash and row.code_hash != hashlib.sha256(code.encode()).hexdigest()
    assert code not in row.code_hash and code not in row.token_hash


async def test_it_limits_codes_per_account_quietly(
    app: Quart, client: QuartClient, db: AsyncSession, linked_clerk: User, owner_db: AsyncSession
) -> None:
    for _attempt in range(4):
        await _request_code(client, linked_clerk.email)
    for _attempt in range(3):
        await _request_code(client, "0701112233")
    assert len((await owner_db.scalars(select(OutboxMessage))).all()) == 5


async def test_it_limits_code_requests_and_code_checks_per_address_with_429(
    app: Quart,
    client: QuartClient,
    linked_clerk: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        signin_codes, "CODES_PER_ADDRESS", Limit("signin.code.address", 2, timedelta(hours=1))
    )
    monkeypatch.setattr(
        signin_codes,
        "CODE_CHECKS_PER_ADDRESS",
        Limit("signin.code_check.address", 2, timedelta(hours=1)),
    )
    await _request_code(client, linked_clerk.email)
    await _request_code(client, "nobody@lund.test")
    limited = await post_form(client, "/login/code", {"login": linked_clerk.email})
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    for _attempt in range(2):
        response = await post_form(client, "/login/code/enter", {"code": "000001"})
        assert response.status_code == 200
    checked = await post_form(client, "/login/code/enter", {"code": "000001"})
    assert checked.status_code == 429


async def test_it_lets_only_the_newest_code_work(
    app: Quart, client: QuartClient, linked_clerk: User
) -> None:
    other_browser = app.test_client()
    await _request_code(other_browser, linked_clerk.email)
    await _request_code(client, linked_clerk.email)
    first, second = await _texted(app)
    old = await post_form(other_browser, "/login/code/enter", {"code": _code_in(first)})
    assert "Koden har gått ut eller har redan använts." in await old.get_data(as_text=True)
    # A code works only in the browser that asked for it.
    stolen = await post_form(other_browser, "/login/code/enter", {"code": _code_in(second)})
    assert stolen.status_code == 200
    new = await post_form(client, "/login/code/enter", {"code": _code_in(second)})
    assert new.headers["Location"] == "/lund/portal/"


async def test_it_texts_nobody_for_a_person_of_a_municipality_the_user_is_not_a_member_of(
    app: Quart,
    client: QuartClient,
    db: AsyncSession,
    other_tenant: Tenant,
    clerk: User,
    outsider: User,
    owner_db: AsyncSession,
) -> None:
    # Malmö linked a person record to Lund's clerk, but the clerk is no member there.
    await _link_person(db, other_tenant, clerk, mobile="+46702223344")
    await _request_code(client, clerk.email)
    await _request_code(client, "+46702223344")
    # The outsider is Malmö's administrator: an administrator never signs in by SMS,
    # since the number on a person record can be changed by the municipality's planners.
    await _link_person(db, other_tenant, outsider, mobile="+46703334455")
    await _request_code(client, outsider.email)
    await _request_code(client, "+46703334455")
    texts = (await owner_db.scalars(select(OutboxMessage))).all()
    assert texts == []


async def test_it_stops_texting_codes_to_an_account_after_ten_wrong_codes_a_day(
    app: Quart, db: AsyncSession, settings: Any, linked_clerk: User
) -> None:
    """Guessing slowly from many addresses: wrong codes count per account, over all its
    codes, and past ten a day no new code is sent to it (a link still works)."""
    from app.core.models import RateLimitEvent

    for attempt in range(signin_codes.WRONG_CODES_PER_ACCOUNT.max_events):
        address = f"10.0.{attempt}.1"  # a new address each time: no per-address limit
        pending = await signin_codes.request_signin_code(
            db, settings, linked_clerk.email, "sv", address
        )
        texted = await _texted(app)
        assert len(texted) == attempt + 1  # each request texted a new code
        wrong = f"{(int(_code_in(texted[-1])) + 1) % 1_000_000:06d}"
        with pytest.raises(signin_links.SignInError):
            await signin_codes.sign_in_with_code(db, settings, pending, wrong, address)
        # An hour passes between tries, so only the daily count can stop the next code.
        await shift_back(db, RateLimitEvent, "created_at", timedelta(minutes=61))
    sent = len(await _texted(app))
    await signin_codes.request_signin_code(db, settings, linked_clerk.email, "sv", "10.9.9.9")
    assert len(await _texted(app)) == sent  # nothing more is texted today


async def test_it_answers_a_link_used_up_by_another_tap_at_once_like_a_used_one(
    app: Quart,
    client: QuartClient,
    planner: User,
    session_factory: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two taps at the same moment: the page has checked the link, and another tap
    uses it up before this one claims it. The service refuses; the answer is the
    page for a used link, as when the page finds it out first."""
    real = signin_links.sign_in_with_link

    async def tapped_twice(session: AsyncSession, token: str, ip_address: str) -> User:
        async with session_factory() as other:
            await real(other, token, ip_address)
        return await real(session, token, ip_address)

    await post_form(client, "/login/link", {"email": planner.email})
    [link] = await _mailed_links(app)
    await client.get(link)
    assert (await client.get("/login/link/open")).status_code == 200
    monkeypatch.setattr(signin_links, "sign_in_with_link", tapped_twice)
    lost = await post_form(client, "/login/link/open")
    assert lost.status_code == 410
    assert "Länken har gått ut eller har redan använts." in await lost.get_data(as_text=True)
    assert (await client.get("/lund/planning/")).status_code == 302  # not signed in
    # The token is forgotten, as for a used link: the page now says so by itself.
    monkeypatch.setattr(signin_links, "sign_in_with_link", real)
    assert await _page(await post_form(client, "/login/link/open")) == await _page(lost)


async def test_it_lets_a_clerk_choose_when_another_municipality_has_the_same_number(
    app: Quart,
    client: QuartClient,
    db: AsyncSession,
    other_tenant: Tenant,
    linked_clerk: User,
) -> None:
    """Malmö gives one of its clerks Lund's clerk's number: Lund's clerk still signs in
    by SMS, and chooses which account; nobody else's phone gets the code."""
    malmo_clerk = await make_user(db, other_tenant, "clerk", name="Malmö Person")
    await _link_person(db, other_tenant, malmo_clerk, mobile=MOBILE)
    await _request_code(client, "0701112233")
    [sms] = await _texted(app)
    assert sms["to"] == MOBILE
    entered = await post_form(client, "/login/code/enter", {"code": _code_in(sms)})
    assert entered.status_code == 302
    assert entered.headers["Location"] == "/login/code/account"
    page = await (await client.get("/login/code/account")).get_data(as_text=True)
    assert "Lunds kommun" in page and "Malmö" in page
    # An account the code does not open is refused, and the code still waits.
    refused = await post_form(client, "/login/code/account", {"account": "999999"})
    assert refused.status_code == 422
    chosen = await post_form(client, "/login/code/account", {"account": str(linked_clerk.id)})
    assert chosen.headers["Location"] == "/lund/portal/"
    assert (await client.get("/lund/portal/")).status_code == 200
    # Used up: the choice cannot be made again.
    again = await client.get("/login/code/account")
    assert again.headers["Location"] == "/login/code"


async def test_it_never_opens_a_shared_numbers_account_with_a_wrong_code(
    app: Quart, db: AsyncSession, settings: Any, tenant: Tenant, linked_clerk: User
) -> None:
    family = await make_user(db, tenant, "clerk")
    await _link_person(db, tenant, family, mobile=MOBILE)
    pending = await signin_codes.request_signin_code(db, settings, MOBILE, "sv", "10.0.0.1")
    code = _code_in((await _texted(app))[0])
    with pytest.raises(signin_links.SignInError):
        await signin_codes.sign_in_with_choice(db, pending, linked_clerk.id, "10.0.0.1")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(signin_links.SignInError):
        await signin_codes.sign_in_with_code(db, settings, pending, wrong, "10.0.0.1")
    assert await signin_codes.sign_in_with_code(db, settings, pending, code, "10.0.0.1") is None
    choices = await signin_codes.account_choices(db, pending)
    assert sorted(c.user_id for c in choices) == sorted([linked_clerk.id, family.id])
    user = await signin_codes.sign_in_with_choice(db, pending, family.id, "10.0.0.1")
    assert user.id == family.id
    assert await signin_codes.account_choices(db, pending) == []
