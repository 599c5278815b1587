"""Importing course results from a file: all rows or none, errors row by row."""

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.i18n import locale_scope
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.courses.results_import import ResultsImportError, import_results
from app.domain.models import Qualification
from tests.factories import make_course, make_person

ACTOR = Actor(label="planner@lund.test")
NUMBER = "198001011231"  # a valid Swedish personnummer (Luhn)


async def _import(db: AsyncSession, tenant: Tenant, course_id: int, text: str, **kw: str) -> int:
    with tenant_scope(tenant.id), locale_scope("en"):
        return await import_results(
            db, ACTOR, course_id, kw.get("filename", "results.csv"), text.encode("utf-8-sig")
        )


async def _qualifications(db: AsyncSession, tenant: Tenant) -> list[Qualification]:
    with tenant_scope(tenant.id):
        return list(
            await db.scalars(
                select(Qualification)
                .order_by(Qualification.person_id)
                .execution_options(populate_existing=True)
            )
        )


async def test_it_records_every_row_by_email_person_id_or_identity_number(
    db: AsyncSession, tenant: Tenant
) -> None:
    course = await make_course(db, tenant, kind="test", external_url="https://valmyndigheten.se")
    anna = await make_person(db, tenant, email="anna@example.se")
    bo = await make_person(db, tenant)
    cia = await make_person(db, tenant, national_id=NUMBER)
    text = (
        "email;person_id;national_id;date;result\n"
        "ANNA@example.se;;;2026-05-02;18/20\n"
        f";{bo.id};;2026-05-03;Godkänd\n"
        ";;19800101-1231;2026-05-04;\n"
    )
    assert await _import(db, tenant, course.id, text) == 3
    found = await _qualifications(db, tenant)
    assert [(q.person_id, q.achieved_on.day, q.result, q.source) for q in found] == [
        (anna.id, 2, "18/20", "import"),
        (bo.id, 3, "Godkänd", "import"),
        (cia.id, 4, "", "import"),
    ]


async def test_it_reads_commas_and_writes_nothing_when_one_row_is_wrong(
    db: AsyncSession, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    course = await make_course(db, tenant)
    await make_person(db, tenant, email="anna@example.se")
    await make_person(db, tenant, national_id=NUMBER)
    future = (dt.date.today() + dt.timedelta(days=5)).isoformat()
    text = (
        "Email,Personnummer,Datum,Resultat\n"
        "anna@example.se,,2026-05-02,ok\n"
        "nobody@example.se,,2026-05-02,ok\n"
        ",198001011239,2026-05-02,ok\n"
        f"anna@example.se,,{future},ok\n"
        ",19800101-1231,02/05/2026,ok\n"
    )
    with pytest.raises(ResultsImportError) as refused:
        await _import(db, tenant, course.id, text)
    assert refused.value.problems == [
        "Row 3: no person with this email.",
        "Row 4: the identity number is not valid.",
        "Row 5: the date is in the future.",
        "Row 5: the same person as row 2.",
        "Row 6: enter the date as YYYY-MM-DD.",
    ]
    assert await _qualifications(db, tenant) == []
    # The number is neither echoed nor logged.
    assert not any("19800101" in problem for problem in refused.value.problems)
    assert "19800101" not in caplog.text and "198001011239" not in caplog.text


async def test_it_refuses_a_file_without_the_columns_it_needs(
    db: AsyncSession, tenant: Tenant
) -> None:
    course = await make_course(db, tenant)
    with pytest.raises(ResultsImportError) as refused:
        await _import(db, tenant, course.id, "name;score\nAnna;3\n")
    assert len(refused.value.problems) == 2
    with pytest.raises(ResultsImportError, match="CSV or Excel"):
        await _import(db, tenant, course.id, "x", filename="results.pdf")


async def test_it_matches_people_of_its_own_municipality_only(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    course = await make_course(db, tenant)
    stranger = await make_person(db, other_tenant, email="stranger@example.se")
    text = f"email;person_id;date\nstranger@example.se;;2026-05-02\n;{stranger.id};2026-05-02\n"
    with pytest.raises(ResultsImportError) as refused:
        await _import(db, tenant, course.id, text)
    assert refused.value.problems == [
        "Row 2: no person with this email.",
        "Row 3: no person with this id.",
    ]


async def test_it_refuses_a_file_past_the_limits_and_reads_utf16(
    db: AsyncSession, tenant: Tenant
) -> None:
    course = await make_course(db, tenant, kind="test", external_url="https://valmyndigheten.se")
    await make_person(db, tenant, email="anna@example.se")
    wide = "email;date;" + ";".join(f"extra{n}" for n in range(49)) + "\n"
    wide += "anna@example.se;2026-05-02;" + ";".join("x" for _ in range(49)) + "\n"
    with pytest.raises(ResultsImportError) as refused:
        await _import(db, tenant, course.id, wide)
    assert refused.value.problems == ["The file has more than 50 columns."]
    long_result = "email;date;result\nanna@example.se;2026-05-02;" + "x" * 2_001 + "\n"
    with pytest.raises(ResultsImportError) as refused:
        await _import(db, tenant, course.id, long_result)
    assert refused.value.problems == ["Row 2, column C holds more than 2000 characters."]
    assert await _qualifications(db, tenant) == []
    utf16 = "email;date;result\nanna@example.se;2026-05-02;Godkänd\n".encode("utf-16-le")
    with tenant_scope(tenant.id), locale_scope("en"):
        assert await import_results(db, ACTOR, course.id, "results.csv", utf16) == 1
