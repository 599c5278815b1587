"""After the day: the incident log and the check-in times as CSV, Excel and PDF, linked
from the live dashboard; who may download them, and what the files hold."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import Person
from app.domain.ops import dashboard as dashboard_module
from app.domain.ops import exports as exports_module
from app.domain.ops import incidents as ops_incidents
from app.domain.ops.stations import set_station_state
from tests.domain.ops.test_checkins import COORDINATOR, OpsDay
from tests.domain.ops.test_exports import worked_day
from tests.factories import csrf_token, login, post_form


@pytest.fixture
async def day(
    db: AsyncSession, tenant: Tenant, coordinator: User, monkeypatch: pytest.MonkeyPatch
) -> OpsDay:
    """The worked early shift (see ``worked_day``), the station opened with a reason and
    closed, and a queue reported at 09:10, handled and resolved; read at 21:00."""
    found = await worked_day(db, tenant)
    evening = found.at(21, 0).astimezone(dt.UTC)
    monkeypatch.setattr(dashboard_module, "utcnow", lambda: evening)
    monkeypatch.setattr(exports_module, "utcnow", lambda: evening)
    actor = Actor.for_user(coordinator)
    clock = {"now": found.at(9, 12)}
    monkeypatch.setattr(ops_incidents, "utcnow", lambda: clock["now"].astimezone(dt.UTC))
    with tenant_scope(tenant.id):
        await set_station_state(
            db, COORDINATOR, found.station_id, "open", "Två saknades, vi öppnade ändå.",
            now=found.at(7, 45),
        )  # fmt: skip
        queue = await ops_incidents.report_incident(
            db, COORDINATOR, found.station_id, category="queue", severity="high",
            text="Lång kö vid entrén.", now=found.at(9, 10),
        )  # fmt: skip
        await ops_incidents.acknowledge(db, actor, queue.id, expected_version=1)
        clock["now"] = found.at(9, 20)
        await ops_incidents.add_note(db, actor, queue.id, "Skickade en reserv.")
        clock["now"] = found.at(9, 50)
        await ops_incidents.resolve(db, actor, queue.id, expected_version=2, note="Kön är borta.")
        await set_station_state(db, COORDINATOR, found.station_id, "closed", now=found.at(20, 0))
    return found


def _url(day: OpsDay, tail: str) -> str:
    return f"/lund/planning/elections/{day.election_id}/ops/export/{tail}"


def _moment(day: OpsDay, hour: int, minute: int) -> str:
    """How the CSV writes a local time: to the minute, with the zone's offset that day."""
    return day.at(hour, minute).isoformat(sep=" ", timespec="minutes")


def _csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # the byte-order mark Excel needs
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def _pdf(body: bytes) -> tuple[int, str]:
    assert body.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(body))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


async def _national_ids(db: AsyncSession, tenant: Tenant) -> list[str]:
    with tenant_scope(tenant.id):
        found = list(await db.scalars(select(Person.national_id)))
    ids = [value for value in found if value]
    assert ids
    return ids


async def _english(client: QuartClient, user: User) -> None:
    await login(client, user)
    await post_form(client, "/lang", {"lang": "en"})


async def test_it_links_the_exports_from_the_dashboard(
    client: QuartClient, day: OpsDay, coordinator: User
) -> None:
    await _english(client, coordinator)
    page = await (await client.get(f"/lund/planning/elections/{day.election_id}/live")).get_data(
        as_text=True
    )
    assert "After the day" in page
    for kind in ("incidents", "checkins"):
        for format in ("csv", "xlsx", "pdf"):
            assert f'href="{_url(day, f"{kind}.{format}")}"' in page


async def test_it_downloads_the_incident_log_as_csv_with_handling_and_notes(
    client: QuartClient, db: AsyncSession, tenant: Tenant, day: OpsDay, coordinator: User
) -> None:
    await _english(client, coordinator)
    response = await client.get(_url(day, "incidents.csv"))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="incident-log-') and ".csv" in disposition
    rows = _csv(await response.get_data())
    header, (incident,) = rows[0], rows[1:]
    line = dict(zip(header, incident, strict=True))
    assert line["Station"] == "Hamnskolan" and line["District"] == "D1 Distrikt 1"
    assert line["Reported at"] == _moment(day, 9, 10)
    assert line["Reported by"] == "coordinator@lund.test"
    assert (line["Category"], line["Severity"], line["State"]) == ("Queue", "High", "Resolved")
    assert line["Text"] == "Lång kö vid entrén."
    assert line["Acknowledged by"] == line["Resolved by"] == coordinator.name
    assert (line["Acknowledged at"], line["Resolved at"]) == (
        _moment(day, 9, 12),
        _moment(day, 9, 50),
    )
    notes = line["Notes"].split("\n")
    assert notes == [
        f"09:20 {coordinator.name}: Skickade en reserv.",
        f"09:50 {coordinator.name}: Kön är borta.",
    ]
    body = (await response.get_data()).decode()
    assert not any(number in body for number in await _national_ids(db, tenant))


async def test_it_downloads_the_incident_log_as_excel_with_notes_and_station_states(
    client: QuartClient, day: OpsDay, coordinator: User
) -> None:
    await _english(client, coordinator)
    response = await client.get(_url(day, "incidents.xlsx"))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(await response.get_data()))
    assert book.sheetnames == ["Incident log", "Incident notes", "Station states"]
    log, notes, states = (list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets)
    assert len(log) == 2 and log[0][0] == "No."
    # Excel has no zones: the Stockholm wall-clock time.
    assert log[1][3] == day.at(9, 10).replace(tzinfo=None)
    assert log[1][7] == "Lång kö vid entrén."
    assert [row[4] for row in notes[1:]] == ["Skickade en reserv.", "Kön är borta."]
    assert [(row[2], row[3]) for row in states[1:]] == [
        ("Not opened", "Open"),
        ("Open", "Station closed"),
    ]
    assert states[1][1] == day.at(7, 45).replace(tzinfo=None)
    assert states[1][5] == "Två saknades, vi öppnade ändå."


async def test_it_prints_the_incident_log_with_the_station_states(
    client: QuartClient, day: OpsDay, coordinator: User
) -> None:
    await _english(client, coordinator)
    response = await client.get(_url(day, "incidents.pdf"))
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    pages, text = _pdf(await response.get_data())
    assert pages == 1
    assert "Lunds kommun" in text and "Incident log" in text
    assert "Lång kö vid entrén." in text and "Kön är borta." in text
    assert "1 incident; not resolved: 0." in text
    assert "Acknowledged 09:12 by" in text and "Resolved 09:50 by" in text
    assert "Station states" in text and "Två saknades, vi öppnade ändå." in text
    assert "Europe/Stockholm" in text


async def test_it_downloads_the_check_in_times_with_those_who_never_came(
    client: QuartClient, db: AsyncSession, tenant: Tenant, day: OpsDay, coordinator: User
) -> None:
    await _english(client, coordinator)
    response = await client.get(_url(day, "checkins.csv"))
    assert response.status_code == 200
    rows = _csv(await response.get_data())
    header = rows[0]
    assert header[:2] == ["Person id", "Name"]
    lines = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    assert [int(line["Person id"]) for line in lines] == [day.chair_id, *day.clerk_ids]
    chair, first, absent = lines
    assert (chair["Arrived"], chair["Left"], chair["Hours"]) == (
        _moment(day, 7, 20),
        _moment(day, 14, 5),
        "6.75",
    )
    assert chair["Arrived (phone's time)"] == _moment(day, 7, 18)
    assert chair["Left (phone's time)"] == "" and first["Arrived (phone's time)"] == ""
    assert (first["Hours"], first["Status"]) == ("6.08", "Checked out")
    assert (absent["Arrived"], absent["Left"], absent["Hours"]) == ("", "", "")
    assert absent["Status"] == "Not arrived" and absent["Role"] == "Poll clerk"
    assert chair["Station"] == "Hamnskolan" and chair["Shift time"] == "07:30–14:00"
    body = (await response.get_data()).decode()
    assert not any(number in body for number in await _national_ids(db, tenant))


async def test_it_downloads_the_check_in_times_as_excel_and_pdf(
    client: QuartClient, db: AsyncSession, tenant: Tenant, day: OpsDay, coordinator: User
) -> None:
    await _english(client, coordinator)
    excel = await client.get(_url(day, "checkins.xlsx"))
    assert excel.status_code == 200
    rows = list(load_workbook(io.BytesIO(await excel.get_data())).worksheets[0].values)
    assert len(rows) == 4 and rows[0][8] == "Arrived"
    assert rows[1][8] == day.at(7, 20).replace(tzinfo=None) and rows[1][10] == 6.75
    assert rows[3][8] is None and rows[3][13] == "Not arrived"
    pdf = await client.get(_url(day, "checkins.pdf"))
    pages, text = _pdf(await pdf.get_data())
    assert pages == 1
    assert "Check-in times" in text and "Hamnskolan (D1 Distrikt 1)" in text
    assert "07:20" in text and "14:05" in text and "Arrived 07:18" in text
    assert "Not arrived" in text and "3 places on shifts that have begun, 1 of them" in text
    assert not any(number in text for number in await _national_ids(db, tenant))


async def test_it_writes_times_in_the_municipalitys_zone(
    client: QuartClient, db: AsyncSession, tenant: Tenant, day: OpsDay, coordinator: User
) -> None:
    with tenant_scope(tenant.id):
        row = await db.get(Tenant, tenant.id)
        assert row is not None
        row.timezone = "Europe/Helsinki"
        await db.commit()
    await _english(client, coordinator)
    rows = _csv(await (await client.get(_url(day, "checkins.csv"))).get_data())
    arrived = rows[1][rows[0].index("Arrived")]
    helsinki = day.at(7, 20).astimezone(ZoneInfo("Europe/Helsinki"))
    assert arrived == helsinki.isoformat(sep=" ", timespec="minutes")
    assert arrived.startswith(f"{day.day.isoformat()} 08:20+")


async def test_it_refuses_unknown_kinds_and_formats(
    client: QuartClient, day: OpsDay, coordinator: User
) -> None:
    await login(client, coordinator)
    for tail in ("incidents.docx", "people.csv", "checkins.json"):
        assert (await client.get(_url(day, tail))).status_code == 404


async def test_it_sends_anonymous_to_sign_in(client: QuartClient, day: OpsDay) -> None:
    response = await client.get(_url(day, "incidents.csv"))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


async def test_it_gives_an_outsider_and_another_election_not_found(
    client: QuartClient, day: OpsDay, outsider: User, coordinator: User
) -> None:
    await login(client, outsider)
    for tail in ("incidents.csv", "checkins.pdf"):
        assert (await client.get(_url(day, tail))).status_code == 404
    # In their own municipality's address, the election id is still not theirs.
    own = f"/malmo/planning/elections/{day.election_id}/ops/export/incidents.xlsx"
    assert (await client.get(own)).status_code == 404
    await client.post("/logout", form={"csrf_token": await csrf_token(client, "/malmo/planning/")})
    await login(client, coordinator)
    missing = f"/lund/planning/elections/{day.election_id + 999}/ops/export/checkins.csv"
    assert (await client.get(missing)).status_code == 404


async def test_it_refuses_a_clerk_and_lets_a_planner_download(
    client: QuartClient, day: OpsDay, clerk: User, planner: User
) -> None:
    await login(client, clerk)
    assert (await client.get(_url(day, "checkins.csv"))).status_code == 403
    await client.post("/logout", form={"csrf_token": await csrf_token(client, "/lund/portal/")})
    await login(client, planner)
    assert (await client.get(_url(day, "checkins.csv"))).status_code == 200
