"""Register imports: an id the file's form names is checked within the municipality."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.i18n import locale_scope
from app.core.models import AuditEntry, Tenant
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain.models import Building, ImportBatch, Person, Room
from app.domain.registers.import_preview import FieldChange, RowChange
from app.domain.registers.imports import commit_import, stage_import
from tests.factories import make_election, make_person

ACTOR = Actor.system("test")
PEOPLE = "förnamn;efternamn\nAnna;Ek\n".encode()


@pytest.mark.parametrize("kind", ["people", "rooms", "structure"])
async def test_it_answers_another_municipalitys_election_as_one_that_does_not_exist(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant, kind: str
) -> None:
    foreign_id = (await make_election(db, other_tenant)).id
    answers = []
    with tenant_scope(tenant.id), locale_scope("en"):
        own_id = (await make_election(db, tenant)).id
        for election_id in (foreign_id, foreign_id + own_id + 1000):
            with pytest.raises(FieldErrors) as refused:
                await stage_import(db, ACTOR, kind, "a.csv", PEOPLE, election_id)
            answers.append(refused.value.errors)
            await db.rollback()
        assert (
            answers[0]
            == answers[1]
            == {"election_id": "There is no such election; choose one from the list."}
        )
        assert await db.scalar(select(func.count(ImportBatch.id))) == 0
        # The municipality's own election is taken; only a structure import keeps it.
        preview = await stage_import(db, ACTOR, kind, "a.csv", PEOPLE, own_id)
        assert preview.batch.election_id == (own_id if kind == "structure" else None)


# --- a re-import changes the people it names, after a preview of what changes ---

REIMPORT = (
    "personnummer;förnamn;efternamn;mobil;status;ort\n"
    "19900101-0017;;;070-174 06 09;Inaktiv;\n"  # Anna: a mobile and a status, no names
    "198505051238;Bo;Berg;;;Lund\n"  # Bo: as the register has him
    "197707074568;Cecilia;Dahl;;;Malmö\n"  # new
).encode()


async def _people_before(db: AsyncSession, tenant: Tenant) -> None:
    await make_person(
        db, tenant, first_name="Anna", last_name="Ek", national_id="199001010017", city="Lund"
    )
    await make_person(
        db, tenant, first_name="Bo", last_name="Berg", national_id="198505051238", city="Lund"
    )


async def test_a_re_import_previews_what_changes_and_writes_it_all_at_once(
    db: AsyncSession, tenant: Tenant
) -> None:
    await _people_before(db, tenant)
    with tenant_scope(tenant.id), locale_scope("en"):
        preview = await stage_import(db, ACTOR, "people", "a.csv", REIMPORT)
        assert preview.problems == []
        assert (preview.added, preview.unchanged) == (1, 1)
        assert preview.changed == [
            RowChange(
                2,
                "Anna Ek (19900101-****)",
                [
                    FieldChange("mobile", "–", "+46 70 174 06 09"),
                    FieldChange("status", "Active", "Inactive"),
                ],
            )
        ]
        # The empty city cell on Anna's row leaves her city as it is.
        batch_id = preview.batch.id
        done = await commit_import(db, ACTOR, batch_id)
        assert done.summary == {"people": 1, "changed": 1, "unchanged": 1}
        anna = await db.scalar(select(Person).where(Person.first_name == "Anna"))
        assert anna is not None
        assert (anna.mobile, anna.status, anna.city) == ("+46701740609", "inactive", "Lund")
        assert await db.scalar(select(func.count(Person.id))) == 3
        entries = {
            entry.code: entry.data
            for entry in await db.scalars(select(AuditEntry).order_by(AuditEntry.id))
        }
    assert entries["people.person.updated"] == {"fields": ["mobile", "status"], "import": batch_id}
    assert entries["imports.people.committed"]["fields"] == ["mobile", "status"]
    assert "199001010017" not in str(entries) and "0017" not in str(entries)


async def test_a_re_import_with_one_bad_row_changes_nobody(
    db: AsyncSession, tenant: Tenant
) -> None:
    await _people_before(db, tenant)
    bad = REIMPORT + b"198505051238;Bo;Berg;;;\n"  # Bo twice
    with tenant_scope(tenant.id), locale_scope("en"):
        preview = await stage_import(db, ACTOR, "people", "a.csv", bad)
        assert preview.problems == [(5, "national_id", "Same as row 3.")]
        done = await commit_import(db, ACTOR, preview.batch.id)
        assert not done.ok
        anna = await db.scalar(select(Person).where(Person.first_name == "Anna"))
        assert anna is not None and anna.mobile is None and anna.status == "active"
        assert await db.scalar(select(func.count(Person.id))) == 2


async def test_an_email_of_another_person_is_refused_without_naming_them(
    db: AsyncSession, tenant: Tenant
) -> None:
    await make_person(db, tenant, first_name="Anna", last_name="Ek", email="anna@example.org")
    await make_person(db, tenant, first_name="Bo", last_name="Berg", national_id="198505051238")
    rows = b"personnummer;e-post\n198505051238;anna@example.org\n"
    with tenant_scope(tenant.id), locale_scope("en"):
        preview = await stage_import(db, ACTOR, "people", "a.csv", rows)
    assert preview.problems == [
        (2, "email", "Another person in the register has this email address.")
    ]


@pytest.mark.parametrize(
    ("locale", "message"),
    [
        ("en", "Write one of: Applicant, Active, Inactive."),
        ("sv", "Skriv något av: Sökande, Aktiv, Inaktiv."),
    ],
)
async def test_a_value_outside_a_fixed_list_is_refused_with_the_allowed_ones(
    db: AsyncSession, tenant: Tenant, locale: str, message: str
) -> None:
    rows = "förnamn;efternamn;status\nAnna;Ek;kanske\nBo;Berg;aktiv\n".encode()
    with tenant_scope(tenant.id), locale_scope(locale):
        preview = await stage_import(db, ACTOR, "people", "a.csv", rows)
    # A name in any language is taken ("aktiv"); anything else is listed against them.
    assert preview.problems == [(2, "status", message)]


async def test_a_station_kind_outside_the_list_names_the_kinds(
    db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_election(db, tenant)
    rows = "distriktskod;valdistrikt;vallokal;typ\n01;Centrum;Skolan;tält\n".encode()
    with tenant_scope(tenant.id), locale_scope("en"):
        preview = await stage_import(db, ACTOR, "structure", "a.csv", rows, election.id)
    assert preview.problems == [
        (2, "station_kind", "Write one of: Polling station, Advance voting station.")
    ]


async def test_a_rooms_file_changes_the_rooms_and_buildings_it_names(
    db: AsyncSession, tenant: Tenant
) -> None:
    first = b"byggnad;adress;ort;rum;kapacitet\nStadshuset;Stortorget 7;Lund;Sal A;40\n"
    again = (
        b"byggnad;adress;ort;rum;kapacitet\n"
        b"Stadshuset;Stortorget 9;;Sal A;60\n"  # a new address, a new capacity, no city
        b"stadshuset;;;Sal B;20\n"  # a new room in the same building
        b"Stadshuset;;;sal a;\n"  # the same room again
    )
    with tenant_scope(tenant.id), locale_scope("en"):
        await commit_import(
            db, ACTOR, (await stage_import(db, ACTOR, "rooms", "a.csv", first)).batch.id
        )
        preview = await stage_import(db, ACTOR, "rooms", "b.csv", again)
        assert preview.problems == [(4, "room", "Same as row 2.")]
        preview = await stage_import(
            db, ACTOR, "rooms", "b.csv", b"\n".join(again.split(b"\n")[:3])
        )
        assert preview.problems == [] and preview.added == 1
        assert preview.changed == [
            RowChange(
                2,
                "Stadshuset, Sal A",
                [
                    FieldChange("street_address", "Stortorget 7", "Stortorget 9"),
                    FieldChange("capacity", "40", "60"),
                ],
            )
        ]
        done = await commit_import(db, ACTOR, preview.batch.id)
        assert done.summary == {"buildings": 0, "rooms": 1, "changed": 1, "unchanged": 0}
        building = await db.scalar(select(Building))
        rooms = {room.name: room.capacity for room in await db.scalars(select(Room))}
        assert building is not None
        assert (building.street_address, building.city) == ("Stortorget 9", "Lund")
        assert rooms == {"Sal A": 60, "Sal B": 20}
        codes = [
            entry.code for entry in await db.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]
    assert codes[-3:] == [
        "premises.building.updated",
        "premises.room.updated",
        "imports.rooms.committed",
    ]
