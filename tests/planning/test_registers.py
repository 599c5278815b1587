"""The register pages: search, masking and the audited reveal, imports all or nothing,
formula-safe exports, and the election structure."""

import io

from openpyxl import Workbook, load_workbook
from quart.datastructures import FileStorage
from quart.testing import QuartClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import AuditEntry, Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import District, Person, Room, Station
from tests.factories import (
    csrf_token,
    login,
    make_election,
    make_person,
    make_staffed_station,
    post_form,
)


def _xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def _upload(client: QuartClient, kind: str, filename: str, content: bytes, **form: str):  # type: ignore[no-untyped-def]
    token = await csrf_token(client, "/lund/planning/import")
    return await client.post(
        "/lund/planning/import",
        form={"kind": kind, "csrf_token": token, **form},
        files={"file": FileStorage(io.BytesIO(content), filename=filename)},
    )


async def test_it_lists_people_with_masked_numbers_and_searches_with_htmx(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    await make_person(
        db, tenant, first_name="Sven", last_name="Svensson", national_id="900101-0017"
    )
    await make_person(db, tenant, first_name="Karin", last_name="Lund")
    await login(client, planner)
    page = await (await client.get("/lund/planning/people/")).get_data(as_text=True)
    assert "19900101-****" in page and "19900101-0017" not in page
    fragment = await client.get("/lund/planning/people/?q=sve", headers={"HX-Request": "true"})
    body = await fragment.get_data(as_text=True)
    assert "Svensson" in body and "Lund, Karin" not in body and "<html" not in body


async def test_it_reveals_an_id_number_only_on_request_and_audits_it(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    person = await make_person(db, tenant, national_id="900101-0017")
    await login(client, planner)
    detail = await (await client.get(f"/lund/planning/people/{person.id}")).get_data(as_text=True)
    assert "19900101-0017" not in detail
    token = await csrf_token(client, f"/lund/planning/people/{person.id}")
    revealed = await client.post(
        f"/lund/planning/people/{person.id}/reveal",
        form={"csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert "19900101-0017" in await revealed.get_data(as_text=True)
    with tenant_scope(tenant.id):
        reveals = await db.scalar(
            select(func.count(AuditEntry.id)).where(
                AuditEntry.code == "people.person.national_id_revealed"
            )
        )
    assert reveals == 1


async def test_the_reveal_without_htmx_answers_the_whole_person_page(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    person = await make_person(db, tenant, national_id="900101-0017")
    await login(client, planner)
    token = await csrf_token(client, f"/lund/planning/people/{person.id}")
    revealed = await client.post(
        f"/lund/planning/people/{person.id}/reveal", form={"csrf_token": token}
    )
    assert revealed.status_code == 200
    page = await revealed.get_data(as_text=True)
    assert "19900101-0017" in page and person.first_name in page


async def test_it_does_not_let_a_coordinator_reveal(
    client: QuartClient, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    person = await make_person(db, tenant, national_id="900101-0017")
    await login(client, coordinator)
    response = await post_form(client, f"/lund/planning/people/{person.id}/reveal")
    assert response.status_code == 403


async def test_it_shows_every_bad_field_of_a_new_person(client: QuartClient, planner: User) -> None:
    await login(client, planner)
    response = await post_form(
        client,
        "/lund/planning/people/new",
        {
            "first_name": "",
            "last_name": "Berg",
            "national_id_country": "SE",
            "national_id": "900101-0018",
            "mobile": "08-123 456 78",
            "status": "active",
            "preferred_language": "sv",
        },
    )
    body = await response.get_data(as_text=True)
    assert 'id="error-summary"' in body
    for message in (
        "Fältet måste fyllas i.",
        "Kontrollsiffran stämmer inte",
        "Ange ett mobilnummer",
    ):
        assert message in body


async def test_it_imports_people_all_or_nothing(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    await login(client, planner)
    bad = _xlsx(
        [
            ["Förnamn", "Efternamn", "Personnummer", "E-post", "Mobil"],
            ["Anna", "Ek", "900101-0017", "anna@example.se", "070-111 22 33"],
            ["Bo", "Al", "900101-0018", "bo@example.se", ""],
            ["Cia", "Ro", "19900101-0017", "cia@example.se", ""],
            ["", "Utan", "", "ANNA@example.se", "08-123 456 78"],
        ]
    )
    staged = await _upload(client, "people", "people.xlsx", bad)
    assert staged.status_code == 302
    preview = await client.get(staged.headers["Location"])
    body = await preview.get_data(as_text=True)
    assert "inget har sparats" in body
    for row, message in (
        ("3", "Kontrollsiffran"),
        ("4", "Samma som rad 2"),
        ("5", "Fältet måste fyllas i"),
    ):
        assert f"<td>{row}</td>" in body and message in body
    # Confirming a batch with errors writes nothing.
    token = await csrf_token(client, staged.headers["Location"])
    refused = await client.post(staged.headers["Location"], form={"csrf_token": token})
    assert refused.status_code == 422
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(Person.id))) == 0

    good = "förnamn;efternamn;personnummer;e-post\nAnna;Ek;900101-0017;anna@example.se\nBo;Al;;bo@example.se\n"
    staged = await _upload(client, "people", "people.csv", good.encode("utf-8"))
    token = await csrf_token(client, staged.headers["Location"])
    done = await client.post(staged.headers["Location"], form={"csrf_token": token})
    assert done.status_code == 302
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(Person.id))) == 2
    again = await client.post(staged.headers["Location"], form={"csrf_token": token})
    assert again.status_code == 302  # already imported: refused with a message, nothing doubled
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(Person.id))) == 2


async def test_it_refuses_a_file_that_is_not_a_spreadsheet(
    client: QuartClient, planner: User
) -> None:
    await login(client, planner)
    response = await _upload(client, "people", "photo.png", b"\x89PNG\r\n")
    assert response.status_code == 422
    assert "Välj en CSV- eller Excelfil" in await response.get_data(as_text=True)
    empty = await _upload(client, "people", "empty.csv", b"first_name;last_name\n")
    assert "Filen har inga rader under rubrikraden." in await empty.get_data(as_text=True)


async def test_it_imports_districts_and_stations_into_an_election(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    election = await make_election(db, tenant)
    await login(client, planner)
    content = (
        "distriktskod;valdistrikt;röstberättigade;vallokal;typ;byggnad;rum\n"
        "01;Centrum;1800;Centrumskolan;vallokal;;\n"
        "02;Norr;1200;Norrskolan;vallokal;;\n"
        ";;;Stadshuset förtid;förtid;;\n"
        "03;;;Okänd;vallokal;;\n"
    ).encode()
    staged = await _upload(
        client, "structure", "struktur.csv", content, election_id=str(election.id)
    )
    body = await (await client.get(staged.headers["Location"])).get_data(as_text=True)
    assert "Okänt valdistrikt" in body
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(Station.id))) == 0
    fixed = content.replace("03;;;Okänd;vallokal;;\n".encode(), b"")
    staged = await _upload(client, "structure", "struktur.csv", fixed, election_id=str(election.id))
    token = await csrf_token(client, staged.headers["Location"])
    done = await client.post(staged.headers["Location"], form={"csrf_token": token})
    assert done.status_code == 302
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(District.id))) == 2
        assert await db.scalar(select(func.count(Station.id))) == 3


async def test_it_exports_without_letting_cells_run_as_formulas(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    await make_person(
        db, tenant, first_name='=HYPERLINK("http://evil")', last_name="+Plus", tags="@home"
    )
    await login(client, planner)
    csv_body = await (await client.get("/lund/planning/people/export.csv")).get_data(as_text=True)
    assert "'=HYPERLINK" in csv_body and "'+Plus" in csv_body and "'@home" in csv_body
    response = await client.get("/lund/planning/people/export.xlsx")
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(await response.get_data())).active
    assert sheet is not None
    # In Excel a text cell is never run: the type guards it, no apostrophe shows.
    values = [cell.value for cell in sheet[2]]
    assert values[0] == '=HYPERLINK("http://evil")' and values[1] == "+Plus"
    assert sheet["A2"].data_type == sheet["B2"].data_type == "s"


async def test_the_export_leaves_a_protected_address_out(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    """Skyddad identitet: the address stays in the register, never in a file."""
    address = {"street_address": "Hemliga vägen 1", "postal_code": "22100", "city": "Lund"}
    await make_person(
        db,
        tenant,
        last_name="Skyddad",
        address_protected_shown="1",
        address_protected="y",
        **address,
    )
    await make_person(db, tenant, last_name="Öppen", street_address="Öppna gatan 2")
    await login(client, planner)
    body = await (await client.get("/lund/planning/people/export.csv")).get_data(as_text=True)
    assert "Öppna gatan 2" in body
    assert "Skyddad" in body and "Hemliga vägen" not in body and "22100" not in body


async def test_it_builds_an_election_in_the_back_office(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    await login(client, planner)
    created = await post_form(
        client,
        "/lund/planning/elections/new",
        {
            "name": "Val 2026",
            "kind": "parliament",
            "election_day": "2026-09-13",
            "advance_start": "2026-08-26",
            "advance_end": "2026-09-13",
            "status": "planning",
        },
    )
    assert created.status_code == 302
    base = created.headers["Location"].rstrip("/")
    bad_range = await post_form(
        client,
        "/lund/planning/elections/new",
        {
            "name": "Fel",
            "kind": "parliament",
            "election_day": "2026-09-13",
            "advance_start": "2026-09-20",
            "advance_end": "2026-09-25",
        },
    )
    assert "Förtidsröstningen kan inte pågå efter valdagen." in await bad_range.get_data(
        as_text=True
    )
    await post_form(
        client, f"{base}/districts", {"code": "01", "name": "Centrum", "eligible_voters": "1500"}
    )
    duplicate = await post_form(client, f"{base}/districts", {"code": "01", "name": "Igen"})
    assert duplicate.status_code == 422
    with tenant_scope(tenant.id):
        district = (await db.scalars(select(District))).one()
    station = await post_form(
        client,
        f"{base}/stations",
        {"name": "Centrumskolan", "kind": "polling", "district_id": str(district.id)},
    )
    station_url = station.headers["Location"]
    shift = await post_form(
        client,
        f"{station_url}/shifts",
        {"name": "Dag", "day": "2026-09-13", "starts_at": "07:30", "ends_at": "14:00"},
    )
    assert shift.status_code == 302
    backwards = await post_form(
        client,
        f"{station_url}/shifts",
        {"name": "Kväll", "day": "2026-09-13", "starts_at": "20:00", "ends_at": "14:00"},
    )
    assert "Ett arbetspass måste sluta efter att det börjar." in await backwards.get_data(
        as_text=True
    )
    page = await (await client.get(f"{base}/")).get_data(as_text=True)
    assert "Centrumskolan" in page and "01 Centrum" in page


async def test_it_changes_pay_and_refuses_a_bad_amount(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    from app.domain.models import RoleType

    await login(client, planner)
    with tenant_scope(tenant.id):
        chair = (await db.scalars(select(RoleType).where(RoleType.code == "chair"))).one()
    ok = await post_form(
        client,
        f"/lund/planning/roles/{chair.id}",
        {"name": "Ordförande", "pay_amount": "3 900".replace(" ", ""), "pay_unit": "day"},
    )
    assert ok.status_code == 302
    bad = await post_form(
        client,
        f"/lund/planning/roles/{chair.id}",
        {"name": "Ordförande", "pay_amount": "mycket", "pay_unit": "day"},
    )
    assert bad.status_code == 422 and "Ange ett tal." in await bad.get_data(as_text=True)
    with tenant_scope(tenant.id):
        await db.refresh(chair)
    assert str(chair.pay_amount) == "3900.00"


async def test_it_saves_a_staffing_template_and_refuses_backwards_times(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    await login(client, planner)
    form = {
        "name": "Liten vallokal",
        "station_kind": "polling",
        "name_0": "Hela dagen",
        "starts_0": "07:30",
        "ends_0": "21:00",
        "min_0_chair": "1",
        "target_0_chair": "1",
        "min_0_clerk": "2",
        "target_0_clerk": "3",
    }
    saved = await post_form(client, "/lund/planning/templates/new", form)
    assert saved.status_code == 302
    page = await (await client.get("/lund/planning/templates/")).get_data(as_text=True)
    assert "Liten vallokal" in page and "Hela dagen" in page
    backwards = await post_form(
        client, "/lund/planning/templates/new", {**form, "name": "Fel", "ends_0": "06:00"}
    )
    assert backwards.status_code == 422
    assert (
        "Arbetspass 1: Ett arbetspass måste sluta efter att det börjar."
        in await backwards.get_data(as_text=True)
    )


async def test_it_removes_shifts_and_stations_and_keeps_a_served_district(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    from app.core.audit import Actor
    from app.domain.elections.districts import save_district
    from app.domain.elections.shifts import save_shift
    from app.domain.elections.stations import save_station

    election = await make_election(db, tenant)
    with tenant_scope(tenant.id):
        district = await save_district(
            db, Actor.system("t"), election.id, {"code": "01", "name": "A"}
        )
        station = await save_station(
            db,
            Actor.system("t"),
            election.id,
            {"name": "S", "kind": "polling", "district_id": str(district.id)},
        )
        shift = await save_shift(
            db,
            Actor.system("t"),
            election.id,
            station.id,
            {"name": "Dag", "day": "2026-09-13", "starts_at": "8", "ends_at": "12"},
        )
    await login(client, planner)
    base = f"/lund/planning/elections/{election.id}"
    refused = await post_form(client, f"{base}/districts/{district.id}/delete")
    assert refused.status_code == 302
    page = await (await client.get(f"{base}/")).get_data(as_text=True)
    assert "Flytta eller ta bort valdistriktets vallokaler först." in page
    assert (
        await post_form(client, f"{base}/stations/{station.id}/shifts/{shift.id}/delete")
    ).status_code == 302
    assert (await post_form(client, f"{base}/stations/{station.id}/delete")).status_code == 302
    assert (await post_form(client, f"{base}/districts/{district.id}/delete")).status_code == 302
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(Station.id))) == 0
        assert await db.scalar(select(func.count(District.id))) == 0
        codes = set((await db.scalars(select(AuditEntry.code))).all())
    assert {
        "elections.shift.deleted",
        "elections.station.deleted",
        "elections.district.deleted",
    } <= codes


async def test_it_removes_an_opening_and_answers_404_for_one_that_is_not_there(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    day = str(s["election"].election_day)
    await login(client, planner)
    base = f"/lund/planning/elections/{s['election'].id}/stations/{s['station'].id}/openings"
    hours = {"day": day, "opens_at": "08:00", "closes_at": "20:00"}
    assert (await post_form(client, base, hours)).status_code == 302
    assert (await post_form(client, f"{base}/delete", {"day": day})).status_code == 302
    with tenant_scope(tenant.id):
        codes = set((await db.scalars(select(AuditEntry.code))).all())
    assert "elections.station.opening_deleted" in codes
    # Gone already (NotFound from the service) and not a day at all: the same 404 page.
    gone = await post_form(client, f"{base}/delete", {"day": day})
    bad_day = await post_form(client, f"{base}/delete", {"day": "soon"})
    assert gone.status_code == bad_day.status_code == 404
    assert await gone.get_data() == await bad_day.get_data()


async def test_it_refuses_one_district_code_with_two_names(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    election = await make_election(db, tenant)
    await login(client, planner)
    content = b"distriktskod;valdistrikt;vallokal\n01;Centrum;Skolan\n01;Norr;Biblioteket\n"
    staged = await _upload(client, "structure", "s.csv", content, election_id=str(election.id))
    body = await (await client.get(staged.headers["Location"])).get_data(as_text=True)
    assert "Valdistriktet har ett annat namn på rad 2." in body


async def test_it_refuses_a_second_building_or_room_of_the_same_name(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    await login(client, planner)
    building = {"name": "Stadshuset", "city": "Lund"}
    first = await post_form(client, "/lund/planning/premises/new", building)
    assert first.status_code == 302
    building_url = first.headers["Location"]
    twice = await post_form(client, "/lund/planning/premises/new", building)
    body = await twice.get_data(as_text=True)
    # The form again, with what was typed and the message at its field (as it always was, 200).
    assert twice.status_code == 200
    assert "Det finns redan en byggnad med det namnet." in body and 'value="Lund"' in body
    rooms = f"{building_url}/rooms"
    assert (await post_form(client, rooms, {"name": "Sal A", "capacity": "40"})).status_code == 302
    assert (await post_form(client, rooms, {"name": "Sal B", "capacity": "20"})).status_code == 302
    same_room = await post_form(client, rooms, {"name": "Sal A", "capacity": "12"})
    body = await same_room.get_data(as_text=True)
    assert same_room.status_code == 422
    assert "Byggnaden har redan ett rum med det namnet." in body and 'value="12"' in body
    with tenant_scope(tenant.id):
        room_b = await db.scalar(select(Room.id).where(Room.name == "Sal B"))
    renamed = await post_form(client, f"{rooms}/{room_b}", {"name": "Sal A", "capacity": "20"})
    body = await renamed.get_data(as_text=True)
    assert renamed.status_code == 200
    assert "Byggnaden har redan ett rum med det namnet." in body


async def test_an_exports_file_name_carries_the_municipalitys_date_not_the_servers(
    client: QuartClient, tenant: Tenant, planner: User, owner_db: AsyncSession
) -> None:
    """A file downloaded after the municipality's midnight is named for its day (the
    server's own date, UTC in production, is still yesterday there)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from sqlalchemy import update

    from tests.portal.test_my_assignments import FAR_ZONES

    zone = next(z for z in FAR_ZONES if dt.datetime.now(ZoneInfo(z)).date() != dt.date.today())
    await owner_db.execute(update(Tenant).where(Tenant.id == tenant.id).values(timezone=zone))
    await owner_db.commit()
    await login(client, planner)
    response = await client.get("/lund/planning/people/export.csv")
    local_day = dt.datetime.now(ZoneInfo(zone)).date().isoformat()
    assert f"-{local_day}." in response.headers["Content-Disposition"], zone
