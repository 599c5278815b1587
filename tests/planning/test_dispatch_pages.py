"""The dispatch pages: write, see the counts and cost, confirm, follow the states,
send again to the failed; an outsider gets 404 everywhere."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlencode

from quart.testing import QuartClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import OutboxMessage, Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import Dispatch
from tests.domain.dispatches.helpers import world
from tests.factories import csrf_token, login

BASE = "/lund/planning/dispatches"


async def post_form(client: QuartClient, path: str, data: dict[str, Any]) -> Any:
    """Post a form whose fields may repeat (a list value: the field once per item)."""
    body = urlencode({**data, "csrf_token": await csrf_token(client)}, doseq=True)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return await client.post(path, data=body.encode(), headers=headers)


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


async def _new_form(client: QuartClient, election_id: int) -> dict[str, str]:
    page = await client.get(f"{BASE}/new?election={election_id}")
    body = await page.get_data(as_text=True)
    assert page.status_code == 200, body
    key = re.search(r'name="request_key" value="([^"]+)"', body)
    assert key is not None
    return {"request_key": key.group(1), "election_id": str(election_id)}


async def test_the_planner_sends_sms_and_mail_to_a_districts_accepted_clerks_seeing_count_and_cost_first(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    w = await world(db, tenant)
    await login(client, planner)
    await post_form(client, "/lang", {"lang": "en", "next": "/"})
    hidden = await _new_form(client, w["election"].id)
    form = {
        **hidden,
        "title": "Välkommen",
        "group": "staff",
        "district_id": str(w["district"].id),
        "states": "accepted",
        "channels": ["email", "sms"],
        "subject_sv": "Välkommen {{ person.first_name }}",
        "email_sv": "Hej {{ person.first_name }}! Du arbetar på {{ station.name }}.",
        "sms_sv": "Hej {{ person.first_name }}! Vi ses på {{ station.name }} kl {{ shift.starts }}.",
    }
    created = await post_form(client, f"{BASE}/new", form)
    assert created.status_code == 302, _text(await created.get_data(as_text=True))[-3000:]
    location = created.headers["Location"]
    # The same form sent again (a double click) gives the same dispatch.
    again = await post_form(client, f"{BASE}/new", form)
    assert again.headers["Location"] == location
    page = await client.get(location)
    body = _text(await page.get_data(as_text=True))
    # Alva (mail and SMS) and Eva (erased) are the district's accepted clerks.
    assert "2 people are in the group" in body
    assert "1 E-mail" in body and "1 SMS" in body
    assert "Erased 1" in body
    assert "Each text message takes 1 part" in body and "about 0.35 kr" in body
    assert "Hej Alva! Vi ses på Hamnskolan kl 07:30." in body
    dispatch_id = int(location.rsplit("/", 1)[1])
    # The first "send" only asks, stating the counts.
    asked = await post_form(client, f"{BASE}/{dispatch_id}/send", {"send_at": ""})
    asked_text = _text(await asked.get_data(as_text=True))
    assert asked.status_code == 200
    assert "Send 1 e-mail, 1 SMS, 1 part each, about 0.35 kr?" in asked_text
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    sent = await post_form(client, f"{BASE}/{dispatch_id}/send", {"send_at": "", "confirmed": "1"})
    assert sent.status_code == 302
    twice = await post_form(client, f"{BASE}/{dispatch_id}/send", {"send_at": "", "confirmed": "1"})
    assert twice.status_code == 302
    with tenant_scope(tenant.id):
        messages = list(await db.scalars(select(OutboxMessage).order_by(OutboxMessage.channel)))
        assert [(m.channel, m.recipient) for m in messages] == [
            ("email", "alva@example.se"),
            ("sms", "+46701111111"),
        ]
        await db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.channel == "sms")
            .values(status="sent", delivery_state="failed", delivery_detail="unreachable")
        )
        await db.commit()
    page = await client.get(f"{BASE}/{dispatch_id}?state=failed")
    body = _text(await page.get_data(as_text=True))
    assert "Failed 1" in body and "Left out 2" in body and "Queued 1" in body
    assert "+46701111111" in body and "unreachable" in body
    key = re.search(r'name="request_key" value="([^"]+)"', await page.get_data(as_text=True))
    assert key is not None
    resent = await post_form(client, f"{BASE}/{dispatch_id}/resend", {"request_key": key.group(1)})
    assert resent.status_code == 302
    again_page = _text(await (await client.get(resent.headers["Location"])).get_data(as_text=True))
    assert "1 person is in the group" in again_page and "1 SMS" in again_page


async def test_bad_input_shows_the_message_at_its_field_and_writes_nothing(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    w = await world(db, tenant)
    await login(client, planner)
    await post_form(client, "/lang", {"lang": "en", "next": "/"})
    hidden = await _new_form(client, w["election"].id)
    answer = await post_form(
        client,
        f"{BASE}/new",
        {**hidden, "title": "x", "group": "staff", "states": "accepted", "channels": "sms",
         "sms_sv": "Hej {{ person.shoe_size }}"},
    )  # fmt: skip
    body = await answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "person.shoe_size" in body and 'id="field-sms_sv-error"' in body
    empty = await post_form(
        client,
        f"{BASE}/new",
        {**hidden, "title": "x", "group": "staff", "states": "accepted", "channels": "sms",
         "sms_sv": "Hej", "day": "2020-01-01"},
    )  # fmt: skip
    assert empty.status_code == 422
    assert "Nobody is in this group" in await empty.get_data(as_text=True)
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count()).select_from(Dispatch)) == 0


async def test_a_time_past_is_refused_and_a_scheduled_dispatch_is_cancelled(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    w = await world(db, tenant)
    await login(client, planner)
    await post_form(client, "/lang", {"lang": "en", "next": "/"})
    hidden = await _new_form(client, w["election"].id)
    created = await post_form(
        client,
        f"{BASE}/new",
        {**hidden, "title": "Påminnelse", "group": "staff", "states": "accepted",
         "channels": "sms", "sms_sv": "Hej"},
    )  # fmt: skip
    location = created.headers["Location"]
    past = await post_form(client, f"{location}/send", {"send_at": "2020-01-01T10:00"})
    assert past.status_code == 422
    assert 'id="field-send_at-error"' in await past.get_data(as_text=True)
    soon = dt.datetime.now() + dt.timedelta(days=30)
    later = await post_form(
        client, f"{location}/send", {"send_at": f"{soon:%Y-%m-%dT%H:%M}", "confirmed": "1"}
    )
    assert later.status_code == 302
    body = _text(await (await client.get(location)).get_data(as_text=True))
    assert "Scheduled for" in body
    cancelled = await post_form(client, f"{location}/cancel", {})
    assert cancelled.status_code == 302
    body = _text(await (await client.get(location)).get_data(as_text=True))
    assert "Cancelled" in body
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_an_outsider_gets_404_on_every_dispatch_route(
    client: QuartClient, db: AsyncSession, tenant: Tenant, outsider: User
) -> None:
    w = await world(db, tenant)
    from tests.domain.dispatches.helpers import make_dispatch

    dispatch = await make_dispatch(db, tenant, election_id=w["election"].id)
    await login(client, outsider)
    base = f"/malmo/planning/dispatches/{dispatch.id}"
    assert (await client.get(base)).status_code == 404
    for action in ("send", "cancel", "resend"):
        answer = await post_form(
            client, f"{base}/{action}", {"confirmed": "1", "request_key": "x" * 20}
        )
        assert answer.status_code == 404, action
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        kept = await db.get(Dispatch, dispatch.id, populate_existing=True)
        assert kept is not None and kept.state == "draft"
