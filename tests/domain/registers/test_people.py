import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.models import AuditEntry, Tenant
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain.models import Person
from app.domain.registers.people import (
    create_person,
    reveal_national_id,
    search_people,
    update_person,
)
from tests.factories import make_person

ACTOR = Actor.system("test")


async def test_it_registers_a_person_with_normalised_fields(
    db: AsyncSession, tenant: Tenant
) -> None:
    person = await make_person(
        db,
        tenant,
        national_id="900101-0017",
        email=" Anna@Example.SE ",
        mobile="070-123 45 67",
        spoken_languages="sv, en, sv",
        tags="erfaren",
    )
    assert person.national_id == "199001010017"
    assert str(person.birth_date) == "1990-01-01"
    assert person.email == "anna@example.se"
    assert person.mobile == "+46701234567"
    assert person.spoken_languages == ["sv", "en"]
    assert person.search_name.startswith("anna")


async def test_it_reports_every_bad_field_at_once_and_writes_nothing(
    db: AsyncSession, tenant: Tenant
) -> None:
    with tenant_scope(tenant.id), pytest.raises(FieldErrors) as caught:
        await create_person(
            db,
            ACTOR,
            {
                "first_name": "",
                "last_name": "X",
                "national_id": "900101-0018",
                "email": "nope",
                "mobile": "123",
            },
        )
    assert set(caught.value.errors) == {"first_name", "national_id", "email", "mobile"}
    with tenant_scope(tenant.id):
        assert (await db.scalars(select(Person))).all() == []


async def test_it_refuses_duplicate_id_numbers_and_emails(db: AsyncSession, tenant: Tenant) -> None:
    await make_person(db, tenant, national_id="900101-0017", email="a@example.se")
    with tenant_scope(tenant.id), pytest.raises(FieldErrors) as caught:
        await create_person(
            db,
            ACTOR,
            {
                "first_name": "B",
                "last_name": "B",
                "national_id": "19900101-0017",
                "email": "A@example.se",
            },
        )
    assert set(caught.value.errors) == {"national_id", "email"}


async def test_it_allows_the_same_person_in_two_municipalities(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    await make_person(db, tenant, national_id="900101-0017")
    await make_person(db, other_tenant, national_id="900101-0017")


async def test_it_keeps_the_stored_id_number_when_an_edit_leaves_it_blank(
    db: AsyncSession, tenant: Tenant
) -> None:
    person = await make_person(db, tenant, national_id="900101-0017")
    with tenant_scope(tenant.id):
        updated = await update_person(
            db, ACTOR, person.id, {"first_name": "Berit", "last_name": "B", "national_id": ""}
        )
        entries = (
            await db.scalars(select(AuditEntry).where(AuditEntry.code == "people.person.updated"))
        ).all()
    assert updated.national_id == "199001010017"
    assert "900101" not in str(entries[0].data)


async def test_it_audits_every_reveal(db: AsyncSession, tenant: Tenant) -> None:
    person = await make_person(db, tenant, national_id="900101-0017")
    with tenant_scope(tenant.id):
        assert await reveal_national_id(db, ACTOR, person.id) == "19900101-0017"
        codes = (await db.scalars(select(AuditEntry.code))).all()
    assert "people.person.national_id_revealed" in codes


async def test_it_finds_people_by_name_prefix_id_number_and_phone(
    db: AsyncSession, tenant: Tenant
) -> None:
    await make_person(
        db,
        tenant,
        first_name="Sven",
        last_name="Svensson",
        national_id="900101-0017",
        mobile="0701234567",
    )
    await make_person(db, tenant, first_name="Karin", last_name="Lund")
    with tenant_scope(tenant.id):
        for query in ("sve", "Svens", "900101", "9001010017", "199001010017", "070-123 45 67"):
            page = await search_people(db, query)
            assert [p.last_name for p in page.people] == ["Svensson"], query
        assert (await search_people(db, "lu")).total == 1
        assert (await search_people(db, "")).total == 2


async def test_it_gives_not_found_for_another_municipalitys_person(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    foreign = await make_person(db, other_tenant)
    with tenant_scope(tenant.id), pytest.raises(NotFound):
        await reveal_national_id(db, ACTOR, foreign.id)


async def test_it_searches_only_the_birth_date_part_of_an_id_number(
    db: AsyncSession, tenant: Tenant
) -> None:
    await make_person(db, tenant, last_name="Svensson", national_id="900101-0017")
    with tenant_scope(tenant.id):
        # A longer, wrong tail still finds by birth date: the tail is not compared, so a
        # masked number cannot be rebuilt one digit at a time.
        assert (await search_people(db, "199001019999")).total == 1
        assert (await search_people(db, "9001019")).total == 1
        # A reader with the right to see whole numbers gets an exact match, and it is audited.
        assert (await search_people(db, "199001019999", actor=ACTOR)).total == 0
        assert (await search_people(db, "900101-0017", actor=ACTOR)).total == 1
        codes = (await db.scalars(select(AuditEntry.code))).all()
    assert codes.count("people.search.by_national_id") == 2


async def test_it_does_not_tell_who_owns_a_duplicate_number(
    db: AsyncSession, tenant: Tenant
) -> None:
    await make_person(db, tenant, first_name="Hemlig", national_id="900101-0017")
    with tenant_scope(tenant.id), pytest.raises(FieldErrors) as caught:
        await create_person(
            db, ACTOR, {"first_name": "B", "last_name": "B", "national_id": "900101-0017"}
        )
    assert "Hemlig" not in caught.value.errors["national_id"]


async def test_it_strips_control_characters(db: AsyncSession, tenant: Tenant) -> None:
    person = await make_person(db, tenant, first_name="An\x00na\x07", notes="rad 1\nrad 2\x1b")
    assert person.first_name == "Anna" and person.notes == "rad 1\nrad 2"
