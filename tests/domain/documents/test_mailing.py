"""Letters by post to a group: who is in it, who is left out and why (erased, protected
address, no address), the address labels and the mail-merge workbook."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.errors import DomainError, NotFound
from app.core.i18n import locale_scope
from app.core.models import AuditEntry, Tenant
from app.core.tenancy import tenant_scope
from app.domain.documents import mailing
from app.domain.models import District, RoleType, Shift
from app.domain.staffing.assignments import assign_person
from tests.domain.staffing.test_staffing_reports import (
    Staffed,
    build_staffed_election,
    personnummer,
)
from tests.factories import make_person

ACTOR = Actor.system("test")


@pytest.fixture
async def staffed(db: AsyncSession, tenant: Tenant) -> Staffed:
    """The staffing reports' election, with addresses: Åsa has hers, Søren's is
    protected, Łukasz has none, and Bo (accepted at the school) has been erased."""
    staffed = await build_staffed_election(db, tenant)
    bo = await make_person(
        db, tenant, first_name="Bo", last_name="Ek", street_address="Väg 2", national_id=personnummer("920202", "111"),
        postal_code="223 33", city="Lund",
    )  # fmt: skip
    with tenant_scope(tenant.id):
        soren = staffed.people["soren"]
        soren.street_address, soren.postal_code, soren.city = "Hemlig 1", "111 11", "Lund"
        soren.address_protected = True
        shift = await db.scalar(select(Shift).where(Shift.station_id == staffed.school.id))
        clerk = await db.scalar(select(RoleType).where(RoleType.code == "clerk"))
        assert shift is not None and clerk is not None
        placed = await assign_person(db, ACTOR, shift.id, clerk.id, bo.id, override=True)
        placed.state = "accepted"
        bo.erased_at = dt.datetime.now(dt.UTC)
        await db.commit()
    staffed.people["bo"] = bo
    return staffed


async def test_it_writes_to_the_group_and_counts_who_is_left_out_and_why(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    with tenant_scope(tenant.id):
        found = await mailing.mailing(db, mailing.clean_group(staffed.election.id, {}))
    assert [r.person.full_name for r in found.recipients] == ["Åsa Öberg"]
    assert found.left_out == {"erased": 1, "protected": 1, "no_address": 1}
    assert found.recipients[0].address_lines == ["Åsa Öberg", "Storgatan 1", "222 22 Lund"]
    # Narrowed to the hall's district: Åsa, and Søren left out for his protected address.
    with tenant_scope(tenant.id):
        district = await db.scalar(
            select(District).where(
                District.election_id == staffed.election.id, District.code == "D1"
            )
        )
        assert district is not None
        group = mailing.clean_group(
            staffed.election.id, {"district_id": str(district.id), "states": ["accepted"]}
        )
        hall = await mailing.mailing(db, group)
        offered = await mailing.mailing(
            db, mailing.clean_group(staffed.election.id, {"states": ["offered", "proposed"]})
        )
    assert [r.person.first_name for r in hall.recipients] == ["Åsa"]
    assert hall.left_out == {"erased": 0, "protected": 1, "no_address": 0}
    # Karin (proposed) and Erik (offered) have no address.
    assert offered.recipients == [] and offered.left_out["no_address"] == 2


def test_a_group_from_a_form_refuses_what_is_not_a_choice() -> None:
    assert mailing.clean_group(3, {}).states == ("accepted",)
    chosen = mailing.clean_group(3, {"district_id": "7", "states": ["declined", "accepted"]})
    assert (chosen.election_id, chosen.district_id, chosen.states) == (
        3,
        7,
        ("accepted", "declined"),
    )
    for data, field in (
        ({"states": ["accepted", "everyone"]}, "states"),
        ({"district_id": "1 OR 1=1"}, "district_id"),
        ({"group": "applicants"}, "group"),
    ):
        with pytest.raises(DomainError) as refused:
            mailing.clean_group(3, data)
        assert refused.value.field == field


async def test_the_mail_merge_workbook_has_one_row_per_recipient(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    with tenant_scope(tenant.id):
        soren = staffed.people["soren"]
        soren.address_protected = False  # now he gets a letter: two places, one row
        await db.commit()
        found = await mailing.export_mail_merge(
            db, ACTOR, mailing.clean_group(staffed.election.id, {})
        )
    with locale_scope("sv"):
        body = mailing.write_mail_merge_xlsx(found)
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == [
        "Förnamn", "Efternamn", "Namn", "Adress", "Postnummer", "Ort", "Språk", "E-post",
        "Roll", "Lokal", "Lokalens adress", "Dag", "Börjar", "Slutar", "Alla platser",
    ]  # fmt: skip
    assert len(rows) == 3
    # In the Swedish alphabet Æ sorts with Ä, before Ö.
    soren_row, asa = rows[1], rows[2]
    assert asa[:8] == [
        "Åsa", "Öberg", "Åsa Öberg", "Storgatan 1", "222 22", "Lund", "sv", "asa@example.se",
    ]  # fmt: skip
    assert asa[8:11] == ["Ordförande", "Stadshuset", "Stortorget 1, 222 23 Lund"]
    assert asa[11].date() == staffed.election.election_day and asa[12:14] == ["07:00", "14:00"]
    assert soren_row[2] == "Søren Ærø" and soren_row[14].count(";") == 1
    # The export is audited with its counts, naming no one.
    with tenant_scope(tenant.id):
        entry = await db.scalar(
            select(AuditEntry).where(AuditEntry.code == "staffing.mail_merge.exported")
        )
    assert entry is not None
    assert entry.data["count"] == 2 and entry.data["left_out"] == {"erased": 1, "no_address": 1}
    assert "Åsa" not in str(entry.data)


async def test_it_prints_labels_with_an_audit_entry(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    with tenant_scope(tenant.id):
        found = await mailing.print_labels(db, ACTOR, mailing.clean_group(staffed.election.id, {}))
        entry = await db.scalar(
            select(AuditEntry).where(AuditEntry.code == "staffing.labels.printed")
        )
    assert len(found.recipients) == 1
    assert entry is not None and entry.data["count"] == 1


async def test_it_shows_outsiders_nothing(
    db: AsyncSession, other_tenant: Tenant, staffed: Staffed, outsider: Any
) -> None:
    with tenant_scope(other_tenant.id), pytest.raises(NotFound):
        await mailing.mailing(db, mailing.clean_group(staffed.election.id, {}))
