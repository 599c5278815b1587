"""The public site of a municipality: pages, the application form, the applicant's data
link and the contact form, through the web app."""

import datetime as dt
import html
import json
import random
import re
from typing import Any
from urllib.parse import urlencode

from quart.testing import QuartClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from werkzeug.datastructures import MultiDict

from app.core.audit import Actor
from app.core.models import OutboxMessage, Tenant
from app.core.tenancy import tenant_scope
from app.domain.models import Application, ApplicationDay, ContactMessage
from app.domain.site import colours, webparts
from tests.factories import csrf_token, future_election, make_open_election, shift_back

ACTOR = Actor(label="planner@lund.test")


def _form(election: Any, **fields: Any) -> MultiDict[str, str]:
    values: dict[str, Any] = {
        "first_name": "Sara",
        "last_name": "Lind",
        "national_id_country": "SE",
        "national_id": "900101-0017",
        "email": "sara.lind@example.se",
        "mobile": "0701234567",
        "preferred_language": "sv",
        "spoken_languages": ["sv", "en"],
        "experience": "none",
        "election": str(election.id),
        f"kinds_{election.id}": ["election_day", "counting"],
        f"days_{election.id}": [str(election.election_day)],
        "consent": "1",
    }
    values.update(fields)
    pairs = []
    for key, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((key, item))
    return MultiDict(pairs)


async def _post(client: QuartClient, path: str, form: MultiDict[str, str]) -> Any:
    """Post a form whose fields repeat (checkbox groups), as a browser encodes it."""
    form.add("csrf_token", await csrf_token(client))
    return await client.post(
        path,
        data=urlencode(list(form.items(multi=True))),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


async def _count(db: AsyncSession, tenant: Tenant, model: Any) -> int:
    with tenant_scope(tenant.id):
        return await db.scalar(select(func.count()).select_from(model)) or 0


async def test_it_shows_the_published_pages_to_anyone(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    with tenant_scope(tenant.id):
        await webparts.publish(
            db, ACTOR, "work", "sv", {"title": "Jobba hos oss", "body": "Vi **behöver** dig."}
        )
        await webparts.save_draft(db, ACTOR, "work", "sv", {"title": "Hemligt", "body": "utkast"})
    response = await client.get("/lund/work")
    body = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>Jobba hos oss</h1>" in body and "<strong>behöver</strong>" in body
    assert "utkast" not in body
    # The menu names every page; the built-in texts stand in for unwritten ones.
    home = await (await client.get("/lund/")).get_data(as_text=True)
    assert "Jobba hos oss" in home and "Arbeta i valet" in home
    for path in ("/lund/faq", "/lund/pay", "/lund/privacy", "/lund/contact", "/lund/apply"):
        assert (await client.get(path)).status_code == 200, path


async def test_it_serves_the_municipalitys_colour_and_logo(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    assert (await client.get("/lund/logo")).status_code == 404
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    with tenant_scope(tenant.id):
        await webparts.save_site_settings(db, ACTOR, {"brand_color": "#ffdd00"}, logo=png)
    css = await (await client.get("/lund/brand.css")).get_data(as_text=True)
    assert "--brand: #ffdd00" in css and "--brand-ink: #1b1f24" in css  # dark text on yellow
    logo = await client.get("/lund/logo")
    assert logo.content_type == "image/png"
    assert await logo.get_data() == png
    assert "sandbox" in logo.headers["Content-Security-Policy"]


def _variables(css: str) -> dict[str, str]:
    return dict(re.findall(r"--([a-z-]+): (#[0-9a-f]{6})", css))


async def test_the_colour_stylesheet_reaches_4_5_to_1_for_any_stored_colour(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    """Text on the colour, the colour as link text on every light ground and a hovered
    button, for the colour of the audit, colours saved before the rule and random ones."""
    chosen = random.Random(2027)  # seeded: the same colours each run
    samples = ["#e07000", "#808080", "#ffdd00", "#ffffff", "#1f5f8b"]
    samples += [f"#{chosen.randrange(0x1000000):06x}" for _ in range(12)]
    with tenant_scope(tenant.id):
        await webparts.save_site_settings(db, ACTOR, {"brand_color": "#1f5f8b"})
    for colour in samples:
        with tenant_scope(tenant.id):
            # Stored as it is, as a colour saved before the rule would be.
            (await webparts.site_settings(db)).brand_color = colour
            await db.commit()
        css = await (await client.get("/lund/brand.css")).get_data(as_text=True)
        drawn = _variables(css)
        assert set(drawn) == {"brand", "brand-ink", "brand-text", "brand-hover"}, css
        assert colours.contrast_ratio(drawn["brand"], drawn["brand-ink"]) >= 4.5, css
        assert colours.contrast_ratio(drawn["brand-hover"], drawn["brand-ink"]) >= 4.5, css
        for ground in ("#ffffff", "#f3f5f8", "#e6eefb"):
            assert colours.contrast_ratio(drawn["brand-text"], ground) >= 4.5, (css, ground)
    # The audit's orange stays the header's colour, with dark text; links are darker.
    with tenant_scope(tenant.id):
        (await webparts.site_settings(db)).brand_color = "#e07000"
        await db.commit()
    drawn = _variables(await (await client.get("/lund/brand.css")).get_data(as_text=True))
    assert (drawn["brand"], drawn["brand-ink"]) == ("#e07000", "#1b1f24")
    assert drawn["brand-text"] != "#e07000"


async def test_it_takes_an_application_and_confirms_it_by_email(
    client: QuartClient, db: AsyncSession, tenant: Tenant, owner_db: AsyncSession
) -> None:
    election = await make_open_election(db, tenant)
    page = await (await client.get("/lund/apply")).get_data(as_text=True)
    assert election.name in page and f'name="days_{election.id}"' in page
    response = await _post(client, "/lund/apply", _form(election))
    assert response.status_code == 302
    assert response.headers["Location"] == "/lund/apply/sent"
    thanks = await client.get("/lund/apply/sent")
    assert "Tack" in await thanks.get_data(as_text=True) or thanks.status_code == 200
    # The thank-you page is for the one who just applied, not a bookmark.
    assert (await client.get("/lund/apply/sent")).status_code == 302
    assert await _count(db, tenant, Application) == 1
    mail = (await owner_db.scalars(select(OutboxMessage))).one()
    assert mail.recipient == "sara.lind@example.se"
    assert "http://localhost/lund/apply/mine?token=" in mail.body_text


async def test_it_answers_bad_input_at_the_fields_with_nothing_stored(
    client: QuartClient, db: AsyncSession, tenant: Tenant, owner_db: AsyncSession
) -> None:
    election = await make_open_election(db, tenant)
    form = _form(
        election,
        national_id="900101-0018",
        last_name="<script>alert(1)</script>",
        consent=[],
        mobile="123",
    )
    response = await _post(client, "/lund/apply", form)
    body = await response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="error-summary"' in body
    for field in ("national_id", "consent", "mobile"):
        assert f'href="#field-{field}"' in body, field
        assert f'id="field-{field}-error"' in body, field
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body  # kept, escaped, in the field
    assert await _count(db, tenant, Application) == 0
    assert (await owner_db.scalar(select(func.count(OutboxMessage.id)))) == 0


async def _trap_name(client: QuartClient, path: str) -> str:
    """The name of the form's honeypot field, as a program filling every field sees it."""
    page = await (await client.get(path)).get_data(as_text=True)
    trap = re.search(r'<div class="hp"[^>]*>.*?<input[^>]*name="([^"]*)"', page, re.S)
    assert trap is not None
    return html.unescape(trap.group(1))


async def test_it_quietly_drops_an_application_whose_trap_is_filled(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    name = await _trap_name(client, "/lund/apply")
    assert name == "website"
    robot = await _post(client, "/lund/apply", _form(election, **{name: "http://spam.example"}))
    # The robot sees the ordinary thank-you; nothing is stored or mailed.
    assert robot.status_code == 302
    assert robot.headers["Location"] == "/lund/apply/sent"
    assert (await client.get("/lund/apply/sent")).status_code == 200
    assert await _count(db, tenant, Application) == 0
    assert (await db.scalar(select(func.count(OutboxMessage.id)))) == 0


async def test_it_quietly_drops_a_contact_message_whose_trap_is_filled(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    name = await _trap_name(client, "/lund/contact")
    assert name == "website"
    fields = [("name", "Eva"), ("email", "eva@example.se"), ("subject", "S"), ("message", "M")]
    robot = await _post(client, "/lund/contact", MultiDict([*fields, (name, "http://x.example")]))
    assert robot.status_code == 302
    assert robot.headers["Location"] == "/lund/contact/sent"
    assert (await client.get("/lund/contact/sent")).status_code == 200
    assert await _count(db, tenant, ContactMessage) == 0
    assert (await db.scalar(select(func.count(OutboxMessage.id)))) == 0


async def test_it_refuses_oversized_posts_with_nothing_stored(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    huge = await _post(client, "/lund/apply", _form(election, message="x" * 70_000))
    assert huge.status_code == 413
    assert "error-summary" in await huge.get_data(as_text=True)
    assert await _count(db, tenant, Application) == 0


async def test_it_says_when_applications_are_closed(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    with tenant_scope(tenant.id):
        await webparts.save_site_settings(db, ACTOR, {"applications_open": ""})
    page = await client.get("/lund/apply")
    assert 'name="first_name"' not in await page.get_data(as_text=True)
    response = await _post(client, "/lund/apply", _form(election))
    assert response.status_code == 409
    assert await _count(db, tenant, Application) == 0


async def test_it_lets_an_applicant_see_download_and_withdraw_their_data(
    client: QuartClient, db: AsyncSession, tenant: Tenant, owner_db: AsyncSession
) -> None:
    election = await make_open_election(db, tenant)
    await _post(client, "/lund/apply", _form(election))
    mail = (await owner_db.scalars(select(OutboxMessage))).one()
    link = mail.body_text.split("http://localhost", 1)[1].split()[0]
    other = client.app.test_client()
    assert (await other.get("/lund/apply/mine")).status_code == 410
    response = await other.get(link)
    assert response.status_code == 302
    assert response.headers["Location"] == "/lund/apply/mine"  # the secret leaves the address
    page = await (await other.get("/lund/apply/mine")).get_data(as_text=True)
    assert "Sara" in page and "19900101-****" in page and "199001010017" not in page
    download = await other.get("/lund/apply/mine.json")
    data = json.loads(await download.get_data(as_text=True))
    assert data["email"] == "sara.lind@example.se"
    assert data["national_id"] == "19900101-****"
    assert "attachment" in download.headers["Content-Disposition"]
    form = {"csrf_token": await csrf_token(other, "/lund/apply/mine")}
    withdrawn = await other.post("/lund/apply/mine/withdraw", form=form)
    assert withdrawn.status_code == 200
    assert await _count(db, tenant, Application) == 0
    assert (await other.get(link)).status_code == 302
    assert (await other.get("/lund/apply/mine")).status_code == 410


async def test_it_takes_contact_messages_and_copies_them_to_the_office(
    client: QuartClient, db: AsyncSession, tenant: Tenant, owner_db: AsyncSession
) -> None:
    with tenant_scope(tenant.id):
        await webparts.save_site_settings(db, ACTOR, {"office_email": "val@lund.test"})
    bad = await _post(client, "/lund/contact", MultiDict([("name", "Eva"), ("email", "x")]))
    assert bad.status_code == 422
    assert await _count(db, tenant, ContactMessage) == 0
    fields = [
        ("name", "Eva <b>Lind</b>"),
        ("email", "eva@example.se"),
        ("subject", "Parkering"),
        ("message", "Finns det parkering?"),
    ]
    response = await _post(client, "/lund/contact", MultiDict(fields))
    assert response.status_code == 302
    assert (await client.get("/lund/contact/sent")).status_code == 200
    assert await _count(db, tenant, ContactMessage) == 1
    copy = (await owner_db.scalars(select(OutboxMessage))).one()
    assert copy.recipient == "val@lund.test" and "Finns det parkering?" in copy.body_text
    assert "Eva &lt;b&gt;Lind&lt;/b&gt;" in (copy.body_html or "")


async def test_it_limits_contact_messages_per_address(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    fields = [("name", "Eva"), ("email", "eva@example.se"), ("subject", "S"), ("message", "M")]
    for _number in range(5):
        assert (await _post(client, "/lund/contact", MultiDict(fields))).status_code == 302
    limited = await _post(client, "/lund/contact", MultiDict(fields))
    assert limited.status_code == 429
    assert await _count(db, tenant, ContactMessage) == 5


async def test_it_keeps_municipalities_apart(
    client: QuartClient, db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    await make_open_election(db, tenant)
    with tenant_scope(tenant.id):
        await webparts.publish(db, ACTOR, "start", "sv", {"title": "Lund söker", "body": "x"})
    page = await (await client.get("/malmo/")).get_data(as_text=True)
    assert "Lund söker" not in page
    form = await (await client.get("/malmo/apply")).get_data(as_text=True)
    assert 'name="first_name"' not in form  # Malmö has no open election


async def test_it_keeps_line_breaks_out_of_the_office_copys_subject(
    client: QuartClient, db: AsyncSession, tenant: Tenant, owner_db: AsyncSession
) -> None:
    with tenant_scope(tenant.id):
        await webparts.save_site_settings(db, ACTOR, {"office_email": "val@lund.test"})
    fields = [
        ("name", "Eva\r\nBcc: x@evil.example"),
        ("email", "eva@example.se"),
        ("subject", "Hej\r\nBcc: x@evil.example"),
        ("message", "M"),
    ]
    assert (await _post(client, "/lund/contact", MultiDict(fields))).status_code == 302
    copy = (await owner_db.scalars(select(OutboxMessage))).one()
    assert "\n" not in copy.subject and "\r" not in copy.subject
    assert copy.sensitive


async def test_it_lets_an_applicants_data_link_expire_and_mails_a_fresh_one(
    client: QuartClient, db: AsyncSession, owner_db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    await _post(client, "/lund/apply", _form(election))
    mail = (await owner_db.scalars(select(OutboxMessage))).one()
    old_link = mail.body_text.split("http://localhost", 1)[1].split()[0]
    assert "30" in mail.body_text  # the applicant is told how long it works
    with tenant_scope(tenant.id):
        await shift_back(db, Application, "access_token_expires_at", dt.timedelta(days=31))
    other = client.app.test_client()
    await other.get(old_link)
    expired = await other.get("/lund/apply/mine")
    assert expired.status_code == 410
    assert "/lund/apply/mine/new" in await expired.get_data(as_text=True)
    # A fresh link goes to the address applied with; the form says the same for any.
    form = MultiDict([("email", "Sara.Lind@example.se")])
    asked = await _post(other, "/lund/apply/mine/new", form)
    assert asked.status_code == 200
    unknown = await _post(other, "/lund/apply/mine/new", MultiDict([("email", "x@example.se")]))
    assert await unknown.get_data(as_text=True) == await asked.get_data(as_text=True)
    fresh = list(await owner_db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert [m.recipient for m in fresh] == ["sara.lind@example.se"] * 2
    new_link = fresh[-1].body_text.split("http://localhost", 1)[1].split()[0]
    assert new_link != old_link
    third = client.app.test_client()
    await third.get(new_link)
    assert (await third.get("/lund/apply/mine")).status_code == 200
    await third.get(old_link)
    assert (await third.get("/lund/apply/mine")).status_code == 410


async def test_the_all_days_box_applies_for_every_voting_day_without_script(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    page = await (await client.get("/lund/apply")).get_data(as_text=True)
    assert f'name="days_{election.id}" value="all"' in page
    # A browser without script posts the box alone: it means every voting day.
    form = _form(election, **{f"days_{election.id}": ["all"], f"kinds_{election.id}": "advance"})
    response = await _post(client, "/lund/apply", form)
    assert response.status_code == 302, await response.get_data(as_text=True)
    with tenant_scope(tenant.id):
        days = (await db.scalars(select(ApplicationDay.day).order_by(ApplicationDay.day))).all()
    advance_start = dt.date.fromisoformat(future_election()["advance_start"])
    assert days == [advance_start + dt.timedelta(days=n) for n in range(19)]
    assert days[-1] == election.election_day


async def _privacy_page(client: QuartClient, locale: str) -> str:
    token = await csrf_token(client, "/lund/privacy")
    await client.post(
        "/lang", form={"lang": locale, "next": "/lund/privacy"}, headers={"X-CSRF-Token": token}
    )
    page = await (await client.get("/lund/privacy")).get_data(as_text=True)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


async def test_the_privacy_notice_names_the_controller_retention_rights_and_authority(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    with tenant_scope(tenant.id):
        await webparts.save_site_settings(
            db,
            ACTOR,
            {
                "office_email": "val@lund.se",
                "controller_name": "Valnämnden i Lunds kommun",
                "controller_contact": "Stadshuset, 221 00 Lund\nvalnamnden@lund.se",
                "dpo_contact": "dataskyddsombud@lund.se",
                "retention_months": "18",
                "inactive_retention_months": "36",
                "pay_retention_years": "7",
            },
        )
    swedish = await _privacy_page(client, "sv")
    for fact in (
        "Personuppgiftsansvarig Valnämnden i Lunds kommun",
        "Stadshuset, 221 00 Lund valnamnden@lund.se",
        "Dataskyddsombud dataskyddsombud@lund.se",
        "18 månader efter valet",
        "36 månader",
        "7 år",
        "Integritetsskyddsmyndigheten (IMY)",
        "rätt att klaga",
    ):
        assert fact in swedish, fact
    english = await _privacy_page(client, "en")
    for fact in (
        "Controller Valnämnden i Lunds kommun",
        "Data protection officer dataskyddsombud@lund.se",
        "erased 18 months after the election",
        "complain to the supervisory authority: Integritetsskyddsmyndigheten (IMY)",
    ):
        assert fact in english, fact
    danish = await _privacy_page(client, "da")
    assert "Dataansvarlig Valnämnden i Lunds kommun" in danish
    assert "18 måneder efter valget" in danish and "klage" in danish


async def test_the_privacy_notice_names_the_municipality_and_datatilsynet_in_denmark(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    tenant.locale = "da"
    await db.commit()
    page = await _privacy_page(client, "da")
    # Nothing saved: the municipality is the controller, and nobody is erased for inactivity.
    assert "Dataansvarlig Lunds kommun" in page
    assert "Datatilsynet" in page and "Integritetsskyddsmyndigheten" not in page
    assert "12 måneder efter valget" in page
