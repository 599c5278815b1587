"""The pay pages: rules, a district's review and approval, a person's pay with settled
hours and adjustments, the payroll layout and file, the statement; who may see them,
and that another municipality sees nothing."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from pypdf import PdfReader
from quart.testing import QuartClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import AuditEntry, Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.elections.districts import save_district
from app.domain.models import Election, PayEntry, PayRule, Person
from tests.domain.pay.helpers import PayDay, pay_day, stamp, worked
from tests.factories import login, make_clerk, post_form


@pytest.fixture
async def day(db: AsyncSession, tenant: Tenant) -> PayDay:
    found = await pay_day(db, tenant, past=True)
    await worked(db, tenant, found)
    return found


def _base(day: PayDay) -> str:
    return f"/lund/planning/elections/{day.election_id}/pay"


def _pages(day: PayDay) -> list[str]:
    base = _base(day)
    return [
        f"{base}/",
        f"{base}/rules/{day.role_ids['clerk']}",
        f"{base}/districts/{day.district_id}",
        f"{base}/districts/0",
        f"{base}/people/{day.chair_id}",
        f"{base}/people/{day.chair_id}/statement.pdf",
    ]


async def _count(db: AsyncSession, tenant: Tenant, model: type) -> int:
    with tenant_scope(tenant.id):
        return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def _english(client: QuartClient, user: User) -> None:
    await login(client, user)
    await post_form(client, "/lang", {"lang": "en"})


async def test_it_shows_the_pay_of_each_district_and_the_rules(
    client: QuartClient, day: PayDay, planner: User
) -> None:
    await _english(client, planner)
    response = await client.get(f"{_base(day)}/")
    page = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert "D1 Centrum" in page and "8,500.00" in page and "Ready to approve" in page
    assert "1 no-show" in page
    # A planner has no payroll file: that needs pay.export (administrators).
    assert "Download the payroll file" not in page
    election_page = await client.get(f"/lund/planning/elections/{day.election_id}/")
    assert f"{_base(day)}/" in await election_page.get_data(as_text=True)


async def test_a_district_with_nobody_to_pay_is_not_offered_for_approval(
    client: QuartClient, day: PayDay, planner: User, db: AsyncSession, tenant: Tenant
) -> None:
    with tenant_scope(tenant.id):
        await save_district(
            db, Actor.system("test"), day.election_id, {"code": "D9", "name": "Tom"}
        )
    await _english(client, planner)
    page = await (await client.get(f"{_base(day)}/")).get_data(as_text=True)
    empty = page[page.index("D9 Tom") :].split("</tr>")[0]
    assert "Nobody to pay" in empty and "Ready to approve" not in empty
    staffed = page[page.index("D1 Centrum") :].split("</tr>")[0]
    assert "Ready to approve" in staffed and "Nobody to pay" not in staffed


async def test_it_saves_a_rule_and_refuses_a_negative_rate_at_its_field(
    client: QuartClient, db: AsyncSession, tenant: Tenant, day: PayDay, planner: User
) -> None:
    await _english(client, planner)
    url = f"{_base(day)}/rules/{day.role_ids['clerk']}"
    refused = await post_form(client, url, {"basis": "hour", "amount": "-170"})
    assert refused.status_code == 422
    page = await refused.get_data(as_text=True)
    assert "A rate or amount cannot be below zero." in page and 'id="field-amount"' in page
    assert await _count(db, tenant, PayRule) == 0
    saved = await post_form(
        client, url, {"basis": "hour", "amount": "170", "weekend_rate": "210,50"}
    )
    assert saved.status_code == 302
    overview = await (await client.get(f"{_base(day)}/")).get_data(as_text=True)
    assert "Hourly rate" in overview and "210.50" in overview


async def test_it_approves_a_district_after_its_check_ins_are_settled(
    client: QuartClient, db: AsyncSession, tenant: Tenant, day: PayDay, planner: User
) -> None:
    await stamp(db, tenant, day, day.late_clerk_id, "arrived", day.at(13, 20), day.late_id)
    await _english(client, planner)
    approve = f"{_base(day)}/districts/{day.district_id}/approve"
    refused = await post_form(client, approve)
    assert refused.status_code == 422
    page = await refused.get_data(as_text=True)
    with tenant_scope(tenant.id):
        late = await db.get(Person, day.late_clerk_id)
        assert late is not None
        name = late.full_name
    assert "Settle these check-ins before approving" in page and name in page
    assert await _count(db, tenant, PayEntry) == 0
    person = f"{_base(day)}/people/{day.late_clerk_id}"
    assert "arrived but never left" in await (await client.get(person)).get_data(as_text=True)
    bad = await post_form(
        client, f"{person}/shifts/{day.late_id}", {"worked": "1", "worked_from": "13:20"}
    )
    assert bad.status_code == 422
    assert "This field is required." in await bad.get_data(as_text=True)
    settled = await post_form(
        client,
        f"{person}/shifts/{day.late_id}",
        {"worked": "1", "worked_from": "13:20", "worked_until": "22:10", "reason": "Glömde"},
    )
    assert settled.status_code == 302
    approved = await post_form(client, approve)
    assert approved.status_code == 302
    district = await (await client.get(f"{_base(day)}/districts/{day.district_id}")).get_data(
        as_text=True
    )
    assert "Nothing has changed since the last approval." in district
    assert await _count(db, tenant, PayEntry) == 4


async def test_it_adds_an_adjustment_with_its_reason_and_prints_the_statement(
    client: QuartClient, db: AsyncSession, tenant: Tenant, day: PayDay, planner: User
) -> None:
    await _english(client, planner)
    person = f"{_base(day)}/people/{day.chair_id}"
    refused = await post_form(client, f"{person}/adjustments", {"amount": "250"})
    assert refused.status_code == 422
    assert 'id="field-adjustment-reason"' in await refused.get_data(as_text=True)
    added = await post_form(
        client, f"{person}/adjustments", {"amount": "250", "reason": "Extra kväll"}
    )
    assert added.status_code == 302
    page = await (await client.get(person)).get_data(as_text=True)
    assert "Extra kväll" in page and "3,950.00" in page
    pdf = await client.get(f"{person}/statement.pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    text = "\n".join(
        p.extract_text() for p in PdfReader(io.BytesIO(await pdf.get_data(as_text=False))).pages
    )
    assert "Pay statement" in text and "3,950" in text
    with tenant_scope(tenant.id):
        chair = await db.get(Person, day.chair_id)
        assert chair is not None and chair.national_id
        assert chair.national_id not in text


async def test_an_administrator_sets_the_layout_and_downloads_approved_pay(
    client: QuartClient, db: AsyncSession, tenant: Tenant, day: PayDay, admin: User
) -> None:
    await _english(client, admin)
    await post_form(client, f"{_base(day)}/districts/{day.district_id}/approve")
    duplicate = await post_form(
        client,
        "/lund/planning/pay/payroll-layout",
        {"file_format": "csv", "field_1": "amount", "field_2": "amount"},
    )
    assert duplicate.status_code == 422
    assert "This column is in the file already." in await duplicate.get_data(as_text=True)
    saved = await post_form(
        client,
        "/lund/planning/pay/payroll-layout",
        {
            "file_format": "csv",
            "field_1": "national_id",
            "header_1": "Pnr",
            "field_2": "pay_code",
            "header_2": "Lart",
            "field_3": "amount",
            "header_3": "Belopp",
            "code_fee": "1310",
            "election": str(day.election_id),
        },
    )
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"{_base(day)}/")
    response = await post_form(client, f"{_base(day)}/payroll", {"district": "all"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(
        csv.reader(io.StringIO((await response.get_data()).decode("utf-8-sig")), delimiter=";")
    )
    with tenant_scope(tenant.id):
        chair = await db.get(Person, day.chair_id)
        assert chair is not None
        national_id = chair.national_id
        exports = await db.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.code == "pay.payroll.exported")
        )
    assert rows[0] == ["Pnr", "Lart", "Belopp"]
    assert [national_id, "1310", "3700.00"] in rows and len(rows) == 4
    assert exports == 1
    overview = await (await client.get(f"{_base(day)}/")).get_data(as_text=True)
    assert "Latest payroll files" in overview and admin.email in overview


async def test_a_planner_may_not_touch_the_payroll_file(
    client: QuartClient, day: PayDay, planner: User
) -> None:
    await login(client, planner)
    assert (await client.get("/lund/planning/pay/payroll-layout")).status_code == 403
    assert (await post_form(client, f"{_base(day)}/payroll")).status_code == 403


async def test_a_coordinator_sees_no_pay(client: QuartClient, day: PayDay, db: AsyncSession,
                                         tenant: Tenant) -> None:  # fmt: skip
    from tests.factories import make_user

    coordinator = await make_user(db, tenant, "coordinator")
    await login(client, coordinator)
    for url in _pages(day):
        assert (await client.get(url)).status_code == 403, url


async def test_anonymous_is_sent_to_sign_in(client: QuartClient, day: PayDay) -> None:
    for url in _pages(day):
        response = await client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


async def test_it_shows_an_outsider_nothing(
    client: QuartClient, day: PayDay, outsider: User
) -> None:
    await login(client, outsider)
    for url in [*_pages(day), "/lund/planning/pay/payroll-layout"]:
        assert (await client.get(url)).status_code == 404, url
    for url in (
        f"{_base(day)}/districts/{day.district_id}/approve",
        f"{_base(day)}/payroll",
        f"{_base(day)}/people/{day.chair_id}/adjustments",
        f"{_base(day)}/people/{day.chair_id}/shifts/{day.early_id}",
    ):
        assert (await post_form(client, url, {"amount": "1", "reason": "x"})).status_code == 404


async def test_another_elections_ids_answer_not_found(
    client: QuartClient, db: AsyncSession, tenant: Tenant, day: PayDay, planner: User
) -> None:
    await login(client, planner)
    assert (await client.get(f"{_base(day)}/districts/999999")).status_code == 404
    assert (await client.get(f"{_base(day)}/people/999999")).status_code == 404
    assert (await client.get(f"{_base(day)}/rules/999999")).status_code == 404


async def test_a_check_in_without_a_place_is_settled_as_not_worked(
    client: QuartClient, db: AsyncSession, tenant: Tenant, day: PayDay, planner: User
) -> None:
    stranger = await make_clerk(db, tenant, await _election(db, tenant, day))
    await stamp(db, tenant, day, stranger.id, "arrived", day.at(7, 30))
    await _english(client, planner)
    person = f"{_base(day)}/people/{stranger.id}"
    page = await (await client.get(person)).get_data(as_text=True)
    assert "checked in without an accepted place" in page
    refused = await post_form(client, f"{person}/adjustments", {"amount": "100", "reason": "x"})
    assert refused.status_code == 422
    assert "Only someone with an accepted place" in await refused.get_data(as_text=True)
    approve = f"{_base(day)}/districts/{day.district_id}/approve"
    assert (await post_form(client, approve)).status_code == 422
    settled = await post_form(
        client, f"{person}/shifts/{day.early_id}", {"reason": "Kom av misstag"}
    )
    assert settled.status_code == 302
    assert "not worked" in await (await client.get(person)).get_data(as_text=True)
    assert (await post_form(client, approve)).status_code == 302


async def _election(db: AsyncSession, tenant: Tenant, day: PayDay) -> Any:
    with tenant_scope(tenant.id):
        return await db.get(Election, day.election_id)
