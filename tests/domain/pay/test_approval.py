"""Approval per district, corrections after it, adjustments, settled hours and the
payroll file in the municipality's own layout."""

from __future__ import annotations

import csv
import io
import threading
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.crypto import FieldCipher
from app.core.documents.spreadsheets import write_xlsx
from app.core.errors import NotFound
from app.core.i18n import locale_scope
from app.core.models import AuditEntry, Tenant
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain.models import PayApproval, PayEntry, PayExportLayout, Person
from app.domain.pay import PayError, payroll
from app.domain.pay.adjustments import add_adjustment, settle_hours
from app.domain.pay.approval import approve_district
from app.domain.pay.payroll import export_payroll, save_layout
from app.domain.pay.review import ADVANCE, district_pay
from tests.domain.pay.helpers import PLANNER, PayDay, pay_day, stamp, worked
from tests.factories import make_election

D = Decimal
CIPHER = FieldCipher("test-secret-key-for-pay-tests-0123456789")


async def _approve(db: AsyncSession, tenant: Tenant, day: PayDay) -> PayApproval:
    with tenant_scope(tenant.id), locale_scope("en"):
        return await approve_district(db, PLANNER, day.election_id, day.district_id, day.after)


async def _count(db: AsyncSession, tenant: Tenant, model: Any) -> int:
    with tenant_scope(tenant.id):
        return int(await db.scalar(select(func.count(model.id))) or 0)


async def test_it_refuses_approval_while_a_check_in_is_unresolved_and_names_it(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await pay_day(db, tenant)
    await worked(db, tenant, day)
    await stamp(db, tenant, day, day.late_clerk_id, "arrived", day.at(13, 25), day.late_id)
    with pytest.raises(PayError) as refused:
        await _approve(db, tenant, day)
    with tenant_scope(tenant.id):
        late = await db.get(Person, day.late_clerk_id)
    assert late is not None
    assert late.full_name in refused.value.message
    assert "arrived but never left" in refused.value.message
    assert await _count(db, tenant, PayEntry) == 0
    assert await _count(db, tenant, PayApproval) == 0
    # The office settles the hours (the clerk forgot to check out) and approval goes on.
    with tenant_scope(tenant.id):
        await settle_hours(
            db, PLANNER, day.election_id, day.late_id, day.late_clerk_id,
            {"worked": "on", "worked_from": "13:25", "worked_until": "23:40",
             "reason": "Glömde checka ut; ordföranden intygar"},
        )  # fmt: skip
    approval = await _approve(db, tenant, day)
    assert (approval.lines, approval.amount) == (4, D("3700") + 3 * D("2400"))


async def test_a_change_after_approval_becomes_a_correction_never_an_edit(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await pay_day(db, tenant)
    await worked(db, tenant, day)
    await _approve(db, tenant, day)
    with tenant_scope(tenant.id):
        first = [(e.person_id, e.kind, e.amount) for e in await db.scalars(select(PayEntry))]
    with pytest.raises(PayError, match="Nothing has changed"):
        await _approve(db, tenant, day)
    with tenant_scope(tenant.id), locale_scope("en"):
        await add_adjustment(
            db, PLANNER, day.election_id, day.chair_id,
            {"amount": "-200", "reason": "Lämnade lokalen en timme"},
        )  # fmt: skip
        view = await district_pay(db, day.election_id, day.district_id, day.after)
    assert [(p.person_id, p.kind, p.amount) for p in view.pending] == [
        (day.chair_id, "adjustment", D("-200.00"))
    ]
    await _approve(db, tenant, day)
    with tenant_scope(tenant.id):
        entries = list(await db.scalars(select(PayEntry).order_by(PayEntry.id)))
        codes = list(await db.scalars(select(AuditEntry.code).where(AuditEntry.code.like("pay.%"))))
    # The first lines are as they were; the change is one line of its own, a correction.
    assert [(e.person_id, e.kind, e.amount) for e in entries[: len(first)]] == first
    assert [(e.kind, e.amount, e.correction) for e in entries[len(first) :]] == [
        ("adjustment", D("-200.00"), True)
    ]
    assert codes.count("pay.district.approved") == 2
    assert "pay.adjustment.added" in codes


async def test_it_refuses_an_adjustment_without_a_reason(db: AsyncSession, tenant: Tenant) -> None:
    day = await pay_day(db, tenant)
    with tenant_scope(tenant.id), locale_scope("en"), pytest.raises(FieldErrors) as refused:
        await add_adjustment(db, PLANNER, day.election_id, day.chair_id, {"amount": "100"})
    assert set(refused.value.errors) == {"reason"}


async def test_it_exports_only_approved_pay_in_the_municipalitys_layout(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await pay_day(db, tenant)
    await worked(db, tenant, day)
    with tenant_scope(tenant.id), locale_scope("en"), pytest.raises(PayError, match="approve"):
        await export_payroll(db, PLANNER, CIPHER, day.election_id)
    await _approve(db, tenant, day)
    with tenant_scope(tenant.id):
        chair = await db.get(Person, day.chair_id)
        assert chair is not None
        chair.bank_account_encrypted = CIPHER.encrypt("SE4550000000058398257466")
        national_id = chair.national_id
        await db.commit()
        await save_layout(
            db, PLANNER,
            {"file_format": "csv",
             "field_1": "national_id", "header_1": "Personnummer",
             "field_2": "pay_code", "header_2": "Löneart",
             "field_3": "amount", "header_3": "Belopp",
             "field_5": "bank_account", "header_5": "Konto",
             "code_fee": "1310"},
        )  # fmt: skip
        exported = await export_payroll(db, PLANNER, CIPHER, day.election_id)
    rows = list(csv.reader(io.StringIO(exported.body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Personnummer", "Löneart", "Belopp", "Konto"]
    assert [national_id, "1310", "3700.00", "SE4550000000058398257466"] in rows
    assert len(rows) == 1 + 3
    with tenant_scope(tenant.id):
        entry = await db.scalar(select(AuditEntry).where(AuditEntry.code == "pay.payroll.exported"))
    assert entry is not None and entry.actor_label == PLANNER.label
    assert entry.data["lines"] == 3
    assert national_id and national_id not in str(entry.data)


async def test_it_writes_the_payroll_file_as_a_workbook(db: AsyncSession, tenant: Tenant) -> None:
    day = await pay_day(db, tenant)
    await worked(db, tenant, day)
    await _approve(db, tenant, day)
    with tenant_scope(tenant.id):
        await save_layout(
            db, PLANNER,
            {"file_format": "xlsx", "field_1": "name", "field_2": "amount", "header_2": "Summa"},
        )  # fmt: skip
        exported = await export_payroll(db, PLANNER, CIPHER, day.election_id, day.district_id)
    sheet = load_workbook(io.BytesIO(exported.body)).active
    assert sheet is not None
    values = list(sheet.values)
    assert values[0] == ("Name", "Summa") or values[0][1] == "Summa"
    assert sorted(float(row[1]) for row in values[1:]) == [2400.0, 2400.0, 3700.0]


async def test_it_writes_the_workbook_off_the_event_loop(
    db: AsyncSession, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """XlsxWriter is pure Python: a city's file written on the event loop would hold every
    other request for as long. The real writer runs, watched for the thread it runs in."""
    day = await pay_day(db, tenant)
    await worked(db, tenant, day)
    await _approve(db, tenant, day)
    threads: list[int] = []

    def watched(*args: Any) -> bytes:
        threads.append(threading.get_ident())
        return write_xlsx(*args)

    monkeypatch.setattr(payroll, "write_xlsx", watched)
    with tenant_scope(tenant.id):
        await save_layout(db, PLANNER, {"file_format": "xlsx", "field_1": "name"})
        exported = await export_payroll(db, PLANNER, CIPHER, day.election_id, day.district_id)
    assert exported.body[:2] == b"PK"
    assert len(threads) == 1 and threads[0] != threading.get_ident()


async def test_it_refuses_a_layout_with_a_duplicate_column_and_writes_nothing(
    db: AsyncSession, tenant: Tenant
) -> None:
    with tenant_scope(tenant.id), locale_scope("en"), pytest.raises(FieldErrors) as refused:
        await save_layout(
            db, PLANNER,
            {"file_format": "csv", "field_1": "amount", "header_1": "Belopp",
             "field_2": "amount", "header_2": "Belopp igen",
             "field_3": "name", "header_3": "belopp"},
        )  # fmt: skip
    assert refused.value.errors == {
        "field_2": "This column is in the file already.",
        "header_3": "Another column has this heading already.",
    }
    assert await _count(db, tenant, PayExportLayout) == 0


async def test_another_municipalitys_district_is_not_found(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    day = await pay_day(db, tenant)
    await make_election(db, other_tenant)
    with tenant_scope(other_tenant.id), pytest.raises(NotFound):
        await district_pay(db, day.election_id, ADVANCE)
    with tenant_scope(other_tenant.id), pytest.raises(NotFound):
        await approve_district(db, PLANNER, day.election_id, day.district_id, day.after)
