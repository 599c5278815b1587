"""Before sending: the counts per channel, who is left out and why, SMS parts and cost
(GSM-7 and UCS-2), and one recipient's messages."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import OutboxMessage, Tenant
from app.core.tenancy import tenant_scope
from app.domain.dispatches.preview import preview
from tests.domain.dispatches.helpers import make_dispatch, world

PRICE = Decimal("0.35")
BASE = "http://stemma.test"


async def test_it_counts_per_channel_and_names_who_is_left_out_and_why(
    db: AsyncSession, tenant: Tenant
) -> None:
    w = await world(db, tenant)
    dispatch = await make_dispatch(
        db, tenant, election_id=w["election"].id, states=["accepted", "offered", "proposed"]
    )
    with tenant_scope(tenant.id):
        shown = await preview(db, dispatch, BASE, PRICE)
        # Alva, Bo, Dan, Eva (erased), Gun.
        assert shown.people == 5
        assert shown.to_send == {"email": 3, "sms": 3}
        assert shown.left_out_counts == {
            "sms": {"no_mobile": 1, "erased": 1},
            "email": {"no_email": 1, "erased": 1},
        }
        assert sorted((x.name, x.channel, x.reason) for x in shown.left_out) == [
            ("Bo Test", "sms", "no_mobile"),
            ("Dan Test", "email", "no_email"),
            ("Eva Test", "email", "erased"),
            ("Eva Test", "sms", "erased"),
        ]
        # One recipient's messages, the first in name order by default, or the one chosen.
        assert shown.sample_key == f"p{w['people']['Alva'].id}"
        assert [(s.channel, s.text) for s in shown.samples] == [
            ("email", "Hej Alva, välkommen till Hamnskolan."),
            ("sms", "Hej Alva! Vi ses på Hamnskolan."),
        ]
        chosen = await preview(db, dispatch, BASE, PRICE, f"p{w['people']['Dan'].id}")
        assert [(s.channel, s.address) for s in chosen.samples] == [("sms", "+46701111114")]
        # A preview sends nothing.
        assert await db.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_it_counts_sms_parts_and_cost_in_gsm7_and_ucs2(
    db: AsyncSession, tenant: Tenant
) -> None:
    w = await world(db, tenant)
    e = w["election"].id
    # å, ä, ö are GSM-7: one part of 160 each for Alva and Gun.
    swedish = await make_dispatch(
        db, tenant, election_id=e, channels=["sms"], sms_sv="Hej {{ person.first_name }}! Välkommen på söndag, glöm inte legitimationen."
    )  # fmt: skip
    emoji = await make_dispatch(
        db, tenant, election_id=e, channels=["sms"], sms_sv="Hej {{ person.first_name }} 🗳️ " + "x" * 60
    )  # fmt: skip
    long = await make_dispatch(
        db, tenant, election_id=e, channels=["sms"], sms_sv="{{ person.first_name }} " + "å" * 300
    )  # fmt: skip
    with tenant_scope(tenant.id):
        plain = await preview(db, swedish, BASE, PRICE)
        assert (plain.sms_parts_total, plain.sms_parts_min, plain.sms_parts_max) == (2, 1, 1)
        assert plain.sms_unicode == 0 and plain.cost == Decimal("0.70")
        # An emoji makes the whole text UCS-2: 70 per part, so 2 parts each.
        unicode = await preview(db, emoji, BASE, PRICE)
        assert unicode.sms_unicode == 2 and unicode.non_gsm
        assert unicode.sms_parts_max == 2 and unicode.cost == Decimal("1.40")
        # 305 GSM-7 characters: 153 per part, so 2 parts; Gun's 303 too.
        parts = await preview(db, long, BASE, Decimal("0.5"))
        assert parts.sms_parts_total == 4 and parts.cost == Decimal("2.00")
