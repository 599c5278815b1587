"""The documents' texts: the appointment letter carries the office's own text, logo and
contact; the defaults' wording; versions, reset and restore; a bad text refused with
its line and field, nothing saved; the staff list's header and the offer's intro."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.errors import DomainError
from app.core.i18n import locale_scope
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.documents import filled, texts
from app.domain.documents.catalog import DOCUMENTS, LOCALES
from app.domain.models import Assignment, MessageTemplateVersion
from app.domain.site.webparts import save_site_settings
from app.domain.staffing import letters
from tests.domain.staffing.test_staffing_reports import Staffed, build_staffed_election
from tests.pdf_tags import read_tagged

ACTOR = Actor.system("test")


@pytest.fixture
async def staffed(db: AsyncSession, tenant: Tenant) -> Staffed:
    return await build_staffed_election(db, tenant)


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 100), (20, 80, 160)).save(buffer, "PNG")
    return buffer.getvalue()


def _words(body: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(body)).pages]


def test_a_letter_writes_the_day_as_each_language_does() -> None:
    sunday = dt.date(2029, 6, 10)
    expected = {
        "sv": "söndagen den 10 juni 2029",
        "da": "søndag den 10. juni 2029",
        "en": "Sunday 10 June 2029",
    }
    for locale, text in expected.items():
        with locale_scope(locale):
            assert letters.letter_day(sunday) == text
    assert letters.in_sentence("Röstmottagare") == "röstmottagare"
    assert letters.in_sentence("EU-valsansvarig") == "EU-valsansvarig"


async def test_the_default_letter_says_what_a_swedish_letter_says(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    with tenant_scope(tenant.id):
        election, found = await letters.appointments(
            db, staffed.election.id, person_id=staffed.people["asa"].id
        )
        frame = await letters.letter_frame(db)
    # The staffed election is some ten months from the real today, on a Sunday.
    place_day = election.election_day
    assert place_day.weekday() == 6
    election.election_day = dt.date(2029, 6, 10)
    [page] = _words(letters.write_letters_pdf(frame, election, found))
    assert "Valnämnden i Lunds kommun förordnar Åsa Öberg (född 1 januari 1990)" in page
    assert "Ordförande i Stadshuset, Stortorget 1, 222 23 Lund" in page
    # The place's own day (the staffed election's), written the Swedish way.
    months = ["januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti"]
    months += ["september", "oktober", "november", "december"]
    written = f"söndagen den {place_day.day} {months[place_day.month - 1]} {place_day.year}"
    assert f"{written} kl. 07:00–14:00" in page
    assert "valdag 10 juni 2029" in page
    assert "Arvode som ordförande" in page
    assert "som Ordförande" not in page and "som Röstmottagare" not in page
    assert "den söndag" not in page


async def test_the_letter_carries_the_offices_own_text_logo_and_contact(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    with tenant_scope(tenant.id):
        await save_site_settings(
            db,
            ACTOR,
            {"office_email": "val@lund.se", "office_phone": "046-35 50 00"},
            logo=_png(),
        )
        await texts.save_text(
            db,
            ACTOR,
            "appointment_letter",
            "sv",
            {"body": "Hej {{ person.first_name }}!\n\nDu arbetar här:\n\n{{ places }}\n"},
        )
        election, found = await letters.appointments(db, staffed.election.id)
        frame = await letters.letter_frame(db)
    body = letters.write_letters_pdf(frame, election, found)
    pages = _words(body)
    asa = next(page for page in pages if "Åsa Öberg" in page)
    assert "Hej Åsa! Du arbetar här:" in asa and "Valnämnden i" not in asa
    assert "val@lund.se" in asa and "046-35 50 00" in asa
    # Søren reads Danish: the office has not written that one, so the default is used.
    soren = next(page for page in pages if "Søren Ærø" in page)
    assert "Valgbestyrelsen i Lunds kommun beskikker Søren Ærø" in soren
    # The logo is on every letter, as a figure read aloud by its name.
    reader = PdfReader(io.BytesIO(body))
    assert all("/XObject" in page["/Resources"] for page in reader.pages)
    with locale_scope("sv"):
        tagged = read_tagged(body)
    figures = [(text, lang) for role, text, lang in tagged.leaves if role == "Figure"]
    assert ("Logotyp för Lunds kommun", "sv") in figures
    assert ("Logo for Lunds kommun", "da") in figures


async def test_every_default_text_renders_with_its_examples() -> None:
    for key in DOCUMENTS:
        for locale in LOCALES:
            text = texts.render_text(texts.default_text(key, locale), texts.example_fields(key))
            assert text.strip() and "{{" not in text, (key, locale)


async def test_a_bad_text_is_refused_with_its_line_and_nothing_is_saved(
    db: AsyncSession, tenant: Tenant
) -> None:
    bad = {
        "Hej {{ person.first_name }}!\n{{ person.national_id }}": "Line 2",
        "Hej\n\n{% if person.name %}oj": "Line 3",
        "{{ ''.__class__ }}": "Line 1",
        "{{ person.name }}\n{{ shift.day }}": "shift.day",  # a message's field, not the letter's
        "": "required",
    }
    with tenant_scope(tenant.id), locale_scope("en"):
        for source, said in bad.items():
            with pytest.raises(DomainError) as refused:
                await texts.save_text(db, ACTOR, "appointment_letter", "sv", {"body": source})
            assert refused.value.field == "body"
            assert said in refused.value.message, (source, refused.value.message)
        assert await texts.history(db, "appointment_letter", "sv") == []


async def test_versions_reset_and_restore(db: AsyncSession, tenant: Tenant) -> None:
    key = "staff_list_header"
    with tenant_scope(tenant.id):
        first = await texts.save_text(db, ACTOR, key, "sv", {"body": "Första {{ election.name }}"})
        again = await texts.save_text(db, ACTOR, key, "sv", {"body": "Första {{ election.name }}"})
        await texts.save_text(db, Actor(label="Karin", user_id=None), key, "sv", {"body": "Andra"})
        assert first is not None and again is not None and again.id == first.id
        assert await texts.current_text(db, key, "sv") == "Andra"
        await texts.reset_text(db, ACTOR, key, "sv")
        state = await texts.document_state(db, key, "sv")
        assert state.is_default and state.text == texts.default_text(key, "sv")
        await texts.restore_version(db, ACTOR, key, "sv", first.id)
        assert await texts.current_text(db, key, "sv") == "Första {{ election.name }}"
        versions = await texts.history(db, key, "sv")
        # Danish is untouched.
        assert (await texts.document_state(db, key, "da")).is_default
    assert [(v.number, v.is_default, v.created_by_label) for v in versions] == [
        (4, False, ACTOR.label),
        (3, True, ACTOR.label),
        (2, False, "Karin"),
        (1, False, ACTOR.label),
    ]


async def test_the_staff_list_header_and_the_offer_intro_are_filled_in(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    with tenant_scope(tenant.id), locale_scope("sv"):
        await texts.save_text(
            db,
            ACTOR,
            "staff_list_header",
            "sv",
            {"body": "{{ municipality.name }}: personal i {{ election.name }}"},
        )
        header = await filled.staff_list_header(db, staffed.election)
        assignment = await db.scalar(
            select(Assignment).where(Assignment.person_id == staffed.people["asa"].id)
        )
        assert assignment is not None
        intro = await filled.offer_intro(db, assignment)
    assert header == f"Lunds kommun: personal i {staffed.election.name}"
    assert intro.startswith("Valnämnden i Lunds kommun erbjuder dig en plats vid")


async def test_the_preview_fills_in_a_real_person(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    source = "{{ person.name }}\n\n{{ places }}"
    with tenant_scope(tenant.id), locale_scope("sv"):
        shown = await filled.preview(db, "appointment_letter", "da", source, "Søren")
        example = await filled.preview(db, "appointment_letter", "sv", source, "")
        with pytest.raises(DomainError):
            await filled.preview(db, "appointment_letter", "sv", "{{ nobody }}", "Søren")
    assert shown.person is not None and shown.own_places
    assert shown.text.startswith("Søren Ærø\n\n– ")
    assert "Stadshuset" in shown.text and "kl. 14:00–21:00" in shown.text
    assert example.person is None and "Vallokal Centrum" in example.text


async def test_another_municipality_sees_the_default(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant, outsider: Any
) -> None:
    with tenant_scope(tenant.id):
        await texts.save_text(db, ACTOR, "offer_intro", "sv", {"body": "Lunds egen text"})
    with tenant_scope(other_tenant.id):
        state = await texts.document_state(db, "offer_intro", "sv")
        assert state.is_default and await texts.history(db, "offer_intro", "sv") == []


async def test_a_protected_address_is_not_printed_on_the_letter(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    with tenant_scope(tenant.id):
        soren = staffed.people["soren"]
        soren.street_address, soren.postal_code, soren.city = "Hemlig 1", "111 11", "Skyddby"
        soren.address_protected = True
        asa = staffed.people["asa"]
        await db.commit()
        election, found = await letters.appointments(db, staffed.election.id)
        frame = await letters.letter_frame(db)
    pages = _words(letters.write_letters_pdf(frame, election, found))
    soren_page = next(page for page in pages if "Søren Ærø" in page)
    asa_page = next(page for page in pages if "Åsa Öberg" in page)
    assert "Hemlig" not in soren_page and "Skyddby" not in soren_page
    assert asa.street_address in asa_page


async def test_a_saved_text_that_no_longer_renders_falls_back_to_the_default(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    with tenant_scope(tenant.id):
        # As if saved before ``person.title`` left the catalogue: straight into the row.
        db.add(
            MessageTemplateVersion(
                key="offer_intro",
                channel=texts.CHANNEL,
                locale="sv",
                number=1,
                subject="",
                body="Hej {{ person.title }}",
            )
        )
        await db.commit()
        assignment = await db.scalar(
            select(Assignment).where(Assignment.person_id == staffed.people["asa"].id)
        )
        assert assignment is not None
        with locale_scope("sv"):
            intro = await filled.offer_intro(db, assignment)
    assert intro.startswith("Valnämnden i Lunds kommun erbjuder dig en plats")
