"""Equipment handed out one item at a time and taken back: to a station or a person,
one holder at a time, the condition at the return setting the item's state; the items
still out after the election per holder with whom to call, a reminder through the
outbox, and the spreadsheet of what is out."""

from __future__ import annotations

import datetime as dt
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.errors import DomainError
from app.core.models import OutboxMessage, Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.materials import handouts, not_returned
from app.domain.materials.handouts import HandoutError
from app.domain.models import Election, MaterialAsset, MaterialHandout, Person
from tests.domain.materials.delivery_helpers import LOGISTICS, Stocked, stocked_day
from tests.factories import make_person


async def _assets(db: AsyncSession, tenant: Tenant, stocked: Stocked, *tags: str) -> None:
    with tenant_scope(tenant.id):
        db.add_all(MaterialAsset(article_id=stocked.screen_id, tag=tag) for tag in tags)
        await db.commit()


async def _state(db: AsyncSession, tenant: Tenant, tag: str) -> str:
    with tenant_scope(tenant.id):
        return str(await db.scalar(select(MaterialAsset.state).where(MaterialAsset.tag == tag)))


async def _open(db: AsyncSession, tenant: Tenant) -> int:
    with tenant_scope(tenant.id):
        return int(
            await db.scalar(
                select(func.count(MaterialHandout.id)).where(MaterialHandout.returned_at.is_(None))
            )
            or 0
        )


async def test_an_item_goes_to_one_holder_at_a_time_and_comes_back_in_its_condition(
    db: AsyncSession, tenant: Tenant
) -> None:
    stocked = await stocked_day(db, tenant)
    await _assets(db, tenant, stocked, "VS-0101", "VS-0102")
    driver = await make_person(db, tenant, first_name="Dora", last_name="Driver")
    station = {"holder": "station", "station_id": str(stocked.day.station_id)}
    with tenant_scope(tenant.id):
        # Typed in lower case, as a scanner or a hurried hand may give it.
        handout = await handouts.hand_out(db, LOGISTICS, {"tag": "vs-0101", **station})
        assert handout.election_id == stocked.day.election_id
        with pytest.raises(HandoutError) as refused:
            await handouts.hand_out(
                db, LOGISTICS, {"tag": "VS-0101", "holder": "person", "person_id": str(driver.id)}
            )
        assert refused.value.field == "tag"
        # Where the item is, whatever the reader's language.
        assert "VS-0101" in refused.value.message and "Hamnskolan" in refused.value.message
    assert await _open(db, tenant) == 1
    assert await _state(db, tenant, "VS-0101") == "out"
    with tenant_scope(tenant.id):
        await handouts.take_back(db, LOGISTICS, {"tag": "VS-0101", "condition": "damaged"})
        with pytest.raises(HandoutError):
            await handouts.take_back(db, LOGISTICS, {"tag": "VS-0101"})
    assert await _state(db, tenant, "VS-0101") == "damaged"
    with tenant_scope(tenant.id):
        # Back at the depot, it may go out again: now to the driver.
        await handouts.hand_out(
            db, LOGISTICS, {"tag": "VS-0101", "holder": "person", "person_id": str(driver.id),
                            "election_id": str(stocked.day.election_id), "due_back": "2099-01-01"}
        )  # fmt: skip
        history = await handouts.asset_history(db, (await handouts.asset_by_tag(db, "VS-0101")).id)
        assert [h.holder_name for h in history] == ["Dora Driver", "Hamnskolan"]
        assert history[1].handout.condition == "damaged"
        held = await handouts.held_by_person(db, driver.id)
        assert [h.handout.asset.tag for h in held] == ["VS-0101"]
        await handouts.take_back(db, LOGISTICS, {"tag": "VS-0101", "condition": "missing"})
        with pytest.raises(HandoutError):
            await handouts.hand_out(db, LOGISTICS, {"tag": "VS-0101", **station})


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"tag": "NO-SUCH", "holder": "station"}, "station_id"),
        ({"tag": "NO-SUCH", "holder": "station", "station_id": "STATION"}, "tag"),
        ({"tag": "VS-0101", "holder": "person", "person_id": "999999"}, "person_id"),
        ({"tag": "", "holder": "station", "station_id": "STATION"}, "tag"),
        ({"tag": "VS-0101", "holder": "station", "station_id": "STATION",
          "due_back": "not a day"}, "due_back"),
    ],
)  # fmt: skip
async def test_bad_input_is_refused_at_its_field_with_nothing_written(
    db: AsyncSession, tenant: Tenant, data: dict[str, str], field: str
) -> None:
    stocked = await stocked_day(db, tenant)
    await _assets(db, tenant, stocked, "VS-0101")
    data = {k: str(stocked.day.station_id) if v == "STATION" else v for k, v in data.items()}
    with tenant_scope(tenant.id), pytest.raises(DomainError) as refused:
        await handouts.hand_out(db, LOGISTICS, data)
    assert field in refused.value.errors
    assert await _open(db, tenant) == 0
    assert await _state(db, tenant, "VS-0101") == "in_stock"


async def test_another_municipality_s_station_and_item_are_unknown(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    stocked = await stocked_day(db, tenant)
    await _assets(db, tenant, stocked, "VS-0101")
    other = await stocked_day(db, other_tenant)
    with tenant_scope(other_tenant.id), pytest.raises(HandoutError) as refused:
        await handouts.hand_out(
            db, LOGISTICS, {"tag": "VS-0101", "holder": "station",
                            "station_id": str(other.day.station_id)}
        )  # fmt: skip
    assert refused.value.field == "tag"
    with tenant_scope(other_tenant.id), pytest.raises(DomainError) as refused:
        await handouts.hand_out(
            db, Actor(label="x"), {"tag": "VS-0101", "holder": "station",
                                   "station_id": str(stocked.day.station_id)}
        )  # fmt: skip
    assert refused.value.field == "station_id"


async def test_a_clerk_may_not_hand_out(db: AsyncSession, tenant: Tenant, clerk: User) -> None:
    stocked = await stocked_day(db, tenant)
    await _assets(db, tenant, stocked, "VS-0101")
    with tenant_scope(tenant.id), pytest.raises(HandoutError):
        await handouts.hand_out(
            db, Actor(label="c", user_id=clerk.id),
            {"tag": "VS-0101", "holder": "station", "station_id": str(stocked.day.station_id)},
        )  # fmt: skip
    assert await _open(db, tenant) == 0
    assert await _state(db, tenant, "VS-0101") == "in_stock"


async def test_what_is_still_out_after_the_election_is_listed_reminded_and_reported(
    db: AsyncSession, tenant: Tenant
) -> None:
    stocked = await stocked_day(db, tenant)
    await _assets(db, tenant, stocked, "VS-0101", "VS-0102", "VS-0103")
    driver = await make_person(
        db, tenant, first_name="Dora", last_name="Driver", mobile="+46701234567"
    )
    election_id = stocked.day.election_id
    station = {"holder": "station", "station_id": str(stocked.day.station_id)}
    with tenant_scope(tenant.id):
        chair = await db.get(Person, stocked.day.chair_id)
        assert chair is not None
        chair.mobile = "+46709876543"
        await db.commit()
        await handouts.hand_out(db, LOGISTICS, {"tag": "VS-0101", **station})
        await handouts.hand_out(db, LOGISTICS, {"tag": "VS-0102", **station})
        await handouts.hand_out(
            db, LOGISTICS, {"tag": "VS-0103", "holder": "person", "person_id": str(driver.id),
                            "election_id": str(election_id), "due_back": "2000-01-01"}
        )  # fmt: skip
        await handouts.take_back(db, LOGISTICS, {"tag": "VS-0102"})
        election = await db.get(Election, election_id)
        assert election is not None
        holders = await not_returned.still_out(db, election)
        assert [(h.name, [x.asset.tag for x in h.handouts]) for h in holders] == [
            ("Hamnskolan", ["VS-0101"]),
            ("Dora Driver", ["VS-0103"]),
        ]
        assert [c.phone for c in holders[0].contacts] == ["+46709876543"]
        today = stocked.day.day + dt.timedelta(days=2)
        assert await not_returned.remind_holders(db, LOGISTICS, election, "Lund", today) == 2
        # Reminded again the same day: the outbox keeps one message per holder and day.
        await not_returned.remind_holders(db, LOGISTICS, election, "Lund", today)
        sent = list(await db.scalars(select(OutboxMessage).order_by(OutboxMessage.recipient)))
    assert [(m.channel, m.recipient) for m in sent] == [
        ("sms", "+46701234567"),
        ("sms", "+46709876543"),
    ]
    assert "VS-0103" in sent[0].body_text and "VS-0101" not in sent[0].body_text
    sheet = load_workbook(BytesIO(not_returned.report_xlsx(holders, today))).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 3 and rows[1][0] == "Hamnskolan" and rows[2][3] == "VS-0103"
    assert rows[1][2] == "+46709876543"
