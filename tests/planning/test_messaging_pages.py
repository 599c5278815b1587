"""The municipality as sender (its settings page), and clerks' SMS replies: posted by
the local gateway to the served app, read in the office's inbox."""

from collections.abc import AsyncIterator

import pytest
from quart import Quart
from quart.testing import QuartClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import create_app
from app.core.models import MessageSender, OutboxMessage, Tenant, User
from app.core.outbox.senders import SenderIdentity, callback_url, write_sender
from app.core.outbox.sms import queue_sms
from app.core.settings import Settings
from app.core.tenancy import tenant_scope
from app.domain.models import IncomingSms
from tests.factories import login, make_person, post_form
from tests.sms_gateway import LocalGateway
from tests.support.serving import served

MOBILE = "+46705550101"


async def _sender(db: AsyncSession, tenant: Tenant) -> MessageSender | None:
    with tenant_scope(tenant.id):
        return await db.scalar(select(MessageSender).execution_options(populate_existing=True))


async def test_the_office_sets_its_sender(
    client: QuartClient, db: AsyncSession, planner: User, tenant: Tenant
) -> None:
    await login(client, planner)
    page = await client.get("/lund/planning/messaging/sender")
    assert page.status_code == 200
    assert "Avsändare för e-post och sms" in await page.get_data(as_text=True)
    response = await post_form(
        client,
        "/lund/planning/messaging/sender",
        {
            "mail_from_name": "Valnämnden i Lund",
            "mail_from_address": "valnamnden@lund.se",
            "mail_reply_to": "val@lund.se",
            "sms_sender": "LundsKommun",
        },
    )
    assert response.status_code == 302
    sender = await _sender(db, tenant)
    assert sender is not None
    assert (sender.mail_from_name, sender.mail_from_address, sender.mail_reply_to) == (
        "Valnämnden i Lund",
        "valnamnden@lund.se",
        "val@lund.se",
    )
    assert sender.sms_sender == "LundsKommun"
    # A planner is not shown the callback address and its secret; an administrator is.
    body = await (await client.get("/lund/planning/messaging/sender")).get_data(as_text=True)
    assert sender.callback_token not in body


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sms_sender", "Lunds kommun", "Använd 3 till 11 bokstäver"),
        ("sms_sender", "1Lund", "Använd 3 till 11 bokstäver"),
        ("sms_sender", "Valnämnden", "Använd 3 till 11 bokstäver"),
        ("sms_sender", "LundsKommun1", "Använd 3 till 11 bokstäver"),
        ("mail_from_address", "valnamnden", "Ange en e-postadress"),
        ("mail_reply_to", "val@lund", "Ange en e-postadress"),
        ("mail_from_name", "Lund <val@lund.se>", "Bara ett namn"),
    ],
)
async def test_a_bad_sender_is_refused_at_its_field_and_nothing_is_saved(
    client: QuartClient,
    db: AsyncSession,
    planner: User,
    tenant: Tenant,
    field: str,
    value: str,
    message: str,
) -> None:
    await login(client, planner)
    response = await post_form(
        client, "/lund/planning/messaging/sender", {"sms_sender": "Lund", field: value}
    )
    assert response.status_code == 422
    body = await response.get_data(as_text=True)
    assert message in body
    assert f'id="field-{field}" ' in body and 'aria-invalid="true"' in body
    assert await _sender(db, tenant) is None


async def test_a_phone_number_is_a_sender_for_two_way_sms(
    client: QuartClient, db: AsyncSession, planner: User, tenant: Tenant
) -> None:
    await login(client, planner)
    response = await post_form(
        client, "/lund/planning/messaging/sender", {"sms_sender": "+46 766 86 10 69"}
    )
    assert response.status_code == 302
    sender = await _sender(db, tenant)
    assert sender is not None and sender.sms_sender == "+46766861069"


async def test_an_administrator_sees_the_reply_address_and_can_renew_its_secret(
    client: QuartClient, db: AsyncSession, admin: User, tenant: Tenant
) -> None:
    await login(client, admin)
    await post_form(client, "/lund/planning/messaging/sender", {"sms_sender": "Lund"})
    old = await _sender(db, tenant)
    assert old is not None
    old_token = old.callback_token
    body = await (await client.get("/lund/planning/messaging/sender")).get_data(as_text=True)
    assert f"{old_token}@" in body and "/api/gateway/lund/sms/incoming" in body
    response = await post_form(client, "/lund/planning/messaging/sender/callback")
    assert response.status_code == 302
    renewed = await _sender(db, tenant)
    assert renewed is not None and renewed.callback_token != old_token


async def test_an_outsider_gets_404_on_every_messaging_page(
    client: QuartClient, db: AsyncSession, outsider: User, tenant: Tenant
) -> None:
    with tenant_scope(tenant.id):
        db.add(IncomingSms(provider_id="s1", from_number=MOBILE, message="Ja, jag kommer."))
        await db.commit()
        reply_id = await db.scalar(select(IncomingSms.id))
    await login(client, outsider)
    for path in (
        "/lund/planning/messaging/sender",
        "/lund/planning/messages/sms/",
        f"/lund/planning/messages/sms/{reply_id}",
    ):
        assert (await client.get(path)).status_code == 404, path
    for path in ("/lund/planning/messaging/sender", "/lund/planning/messaging/sender/callback"):
        assert (await post_form(client, path, {"sms_sender": "Malmo"})).status_code == 404


@pytest.fixture
async def base_url(settings: Settings) -> AsyncIterator[str]:
    application: Quart = create_app(settings)
    async with served(application) as url:
        yield url


@pytest.fixture
async def gateway() -> AsyncIterator[LocalGateway]:
    running = await LocalGateway().start()
    try:
        yield running
    finally:
        await running.stop()


async def _incoming_address(db: AsyncSession, tenant: Tenant, base_url: str) -> str:
    with tenant_scope(tenant.id):
        sender = await write_sender(db)
        await db.commit()
    identity = SenderIdentity(tenant.id, tenant.slug, "", "", "", "", sender.callback_token)
    return callback_url(base_url, identity, "incoming")


async def test_a_clerks_sms_reply_lands_in_the_inbox_with_its_person_and_thread(
    gateway: LocalGateway,
    base_url: str,
    client: QuartClient,
    db: AsyncSession,
    planner: User,
    tenant: Tenant,
    caplog: pytest.LogCaptureFixture,
) -> None:
    person = await make_person(db, tenant, mobile=MOBILE)
    with tenant_scope(tenant.id):
        sent = queue_sms(db, to=MOBILE, text="Kan du ta pass i Centrum 13/9?", idempotency_key="q")
        await db.flush()
        sent.status = "sent"
        await db.commit()
        sent_id = sent.id
    address = await _incoming_address(db, tenant, base_url)
    answer, provider_id = await gateway.incoming(address, MOBILE, "+46766861069", "Ja, gärna!")
    assert answer == 200
    with tenant_scope(tenant.id):
        [reply] = list(await db.scalars(select(IncomingSms)))
    assert reply.person_id == person.id and reply.in_reply_to_id == sent_id
    assert reply.provider_id == provider_id and reply.message == "Ja, gärna!"
    # The gateway posting it again (it got no answer in time): kept once.
    assert await _post_again(gateway, address, provider_id) == 200
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(IncomingSms.id))) == 1
    await login(client, planner)
    listing = await (await client.get("/lund/planning/messages/sms/")).get_data(as_text=True)
    assert person.full_name in listing and "Ja, gärna!" in listing
    detail = await client.get(f"/lund/planning/messages/sms/{reply.id}")
    text = await detail.get_data(as_text=True)
    assert detail.status_code == 200
    assert "Kan du ta pass i Centrum 13/9?" in text and person.full_name in text
    with tenant_scope(tenant.id):
        opened = await db.scalar(select(IncomingSms).execution_options(populate_existing=True))
        assert opened is not None and opened.read_at is not None
    # Neither the number nor the text reached a log line.
    assert MOBILE not in caplog.text and "gärna" not in caplog.text
    assert MOBILE.removeprefix("+") not in caplog.text


async def _post_again(gateway: LocalGateway, address: str, provider_id: str) -> int:
    form = {"id": provider_id, "from": MOBILE, "to": "+46766861069", "message": "Ja, gärna!"}
    return await gateway.post(address, form)


async def test_a_reply_from_a_number_two_people_share_is_kept_unmatched(
    gateway: LocalGateway, base_url: str, db: AsyncSession, tenant: Tenant
) -> None:
    await make_person(db, tenant, mobile=MOBILE)
    await make_person(db, tenant, mobile=MOBILE)
    address = await _incoming_address(db, tenant, base_url)
    answer, _id = await gateway.incoming(address, MOBILE, "+46766861069", "Vem är detta?")
    assert answer == 200
    with tenant_scope(tenant.id):
        [reply] = list(await db.scalars(select(IncomingSms)))
    assert reply.person_id is None and reply.in_reply_to_id is None


async def test_a_forged_incoming_sms_is_refused(
    gateway: LocalGateway,
    base_url: str,
    db: AsyncSession,
    tenant: Tenant,
    other_tenant: Tenant,
) -> None:
    address = await _incoming_address(db, tenant, base_url)
    forged = [
        address.replace("stemma:", "stemma:x"),
        address.replace("/lund/", f"/{other_tenant.slug}/"),
    ]
    for url in forged:
        answer, _id = await gateway.incoming(url, MOBILE, "+46766861069", "Falskt")
        assert answer == 401
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(IncomingSms.id))) == 0
    assert await db.scalar(select(func.count(OutboxMessage.id))) == 0
