"""Protected identity (skyddad identitet): a protected person's address appears in no
page, export, letter, label, mail-merge file or API answer, and their name only to the
office. The walk visits every GET route of the back office, the portal and the API with
the protected person's and their election's ids filled in, reads each answer (HTML,
CSV, XLSX unpacked, PDF as text) and looks for the address. A person beside them, not
protected, is the control: their address must be found in the exports, so a walk that
read nothing (or could not read a PDF) fails too."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from pypdf import PdfReader
from quart import Quart
from quart.testing import QuartClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.api_tokens import create_api_token
from app.core.audit import Actor
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import Assignment
from app.domain.staffing import assignments
from app.planning.material_reports import REPORT_KINDS as MATERIAL_KINDS
from app.planning.ops_exports import EXPORT_KINDS
from app.planning.staffing_reports import REPORT_KINDS as STAFFING_KINDS
from tests.factories import login, make_clerk, make_staffed_station, make_user

#: The protected person's address and home, each a string no answer may hold.
SECRETS = ("Hemligavägen", "Skyddsby", "222 99", "55.70123")
CONTROL = "Synligagatan"
KINDS = (*STAFFING_KINDS, *EXPORT_KINDS, *MATERIAL_KINDS, "lacking", "fill", "pay", "all")
FORMATS = ("csv", "xlsx", "pdf", "ics")
_VARIABLE = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


async def _world(db: AsyncSession, tenant: Tenant) -> dict[str, Any]:
    s = await make_staffed_station(db, tenant)
    s["hidden"] = await make_clerk(
        db, tenant, s["election"], first_name="Sara", last_name="Skyddsdotter",
        street_address="Hemligavägen 7", postal_code="222 99", city="Skyddsby",
        address_protected="y", address_protected_shown="1",
    )  # fmt: skip
    s["open"] = await make_clerk(
        db, tenant, s["election"], first_name="Olle", last_name="Öppen",
        street_address="Synligagatan 3", postal_code="222 33", city="Lund",
    )  # fmt: skip
    actor = Actor.system("test")
    with tenant_scope(tenant.id):
        s["hidden"].latitude, s["hidden"].longitude = 55.70123, 13.19
        await db.commit()
        for person, shift in ((s["hidden"], s["early"]), (s["open"], s["early"])):
            await assignments.assign_person(db, actor, shift.id, s["roles"]["clerk"].id, person.id)
        await db.execute(update(Assignment).values(state="accepted"))
        await db.commit()
        s["assignment_id"] = await db.scalar(
            Assignment.__table__.select()
            .with_only_columns(Assignment.id)
            .where(Assignment.person_id == s["hidden"].id)
        )
    assert s["hidden"].address_protected
    return s


def _paths(app: Quart, ids: dict[str, int]) -> list[str]:
    """Every GET path of the back office, the portal and the API that the ids fill."""
    paths: list[str] = []
    for rule in app.url_map.iter_rules():
        face = rule.endpoint.split(".")[0]
        if face not in ("planning", "portal", "api") or "GET" not in (rule.methods or ()):
            continue
        names = [name for _conv, name in _VARIABLE.findall(rule.rule) if name != "tenant"]
        if any(name not in ids and name not in ("kind", "format") for name in names):
            continue
        template = rule.rule.replace("<tenant>", "lund")
        variants = [template]
        for name, choices in (("kind", KINDS), ("format", FORMATS)):
            if name in names:
                variants = [
                    re.sub(rf"<(?:\w+:)?{name}>", choice, v) for v in variants for choice in choices
                ]
        for variant in variants:
            paths.append(_VARIABLE.sub(lambda m: str(ids[m.group(2)]), variant))
    return paths


def _text(body: bytes) -> str:
    """What a reader of the answer sees: HTML or CSV as text, a workbook's cells, a PDF's
    text."""
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return " ".join(
                archive.read(name).decode("utf-8", "replace")
                for name in archive.namelist()
                if name.endswith(".xml")
            )
    if body[:5] == b"%PDF-":
        return " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(body)).pages)
    return body.decode("utf-8", "replace")


async def _walk(client: QuartClient, paths: list[str], headers: dict[str, str]) -> dict[str, str]:
    read: dict[str, str] = {}
    for path in paths:
        response = await client.get(path, headers=headers)
        if response.status_code == 200:
            read[path] = _text(await response.get_data())
    return read


async def test_a_protected_address_is_in_no_page_export_letter_or_api_answer(
    app: Quart, client: QuartClient, db: AsyncSession, tenant: Tenant, admin: User
) -> None:
    s = await _world(db, tenant)
    ids = {
        "election_id": s["election"].id,
        "station_id": s["station"].id,
        "person_id": s["hidden"].id,
        "district_id": s["district"].id,
        "district_key": s["district"].id,
        "shift_id": s["early"].id,
        "assignment_id": s["assignment_id"],
        "role_type_id": s["roles"]["clerk"].id,
    }
    paths = _paths(app, ids)
    await login(client, admin)
    read = await _walk(client, [p for p in paths if not p.startswith("/api/")], {})
    with tenant_scope(tenant.id):
        _token, secret = await create_api_token(db, Actor.system("test"), "Walk")
    read |= await _walk(
        client,
        [p for p in paths if p.startswith("/api/")],
        {"Authorization": f"Bearer {secret}"},
    )
    assert len(read) > 60, sorted(read)
    leaks = [(path, secret) for path, text in read.items() for secret in SECRETS if secret in text]
    assert leaks == []
    # The control: the walk read the exports, the labels and the letters.
    found = {path for path, text in read.items() if CONTROL in text}
    for expected in (
        "/lund/planning/people/export.csv",
        "/lund/planning/people/export.xlsx",
        f"/lund/planning/elections/{s['election'].id}/staffing/mailing/labels.pdf",
        f"/lund/planning/elections/{s['election'].id}/staffing/mailing/mail-merge.xlsx",
        f"/lund/planning/elections/{s['election'].id}/staffing/letters.pdf",
    ):
        assert expected in found, (expected, sorted(found))
    # The office sees the protected person's name; it was read at all.
    assert any("Skyddsdotter" in text for text in read.values())


async def test_only_the_office_sees_a_protected_persons_name(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    s = await _world(db, tenant)
    election = s["election"].id
    pages = (
        f"/lund/planning/people/{s['hidden'].id}",
        "/lund/planning/people/",
        "/lund/planning/people/export.csv",
        f"/lund/planning/elections/{election}/staffing",
    )
    for role, sees in (("planner", True), ("coordinator", False)):
        user = await make_user(db, tenant, role, email=f"{role}@names.test")
        await login(client, user)
        for page in pages:
            response = await client.get(page)
            assert response.status_code == 200, (role, page)
            text = _text(await response.get_data())
            assert ("Skyddsdotter" in text) is sees, (role, page)
            assert sees or "Protected person" in text or "Skyddad person" in text, (role, page)
