"""The clerk's profile: contact details, language, bank account (encrypted, masked), the
person's own data as JSON and PDF, and the request to be removed."""

import io
import json
from typing import Any

import pytest
from pypdf import PdfReader
from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.crypto import DecryptionError, FieldCipher, derive_key
from app.core.models import AuditEntry, OutboxMessage, Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.clerks.profile import clean_iban, stored_bank_account
from app.domain.models import Person
from app.domain.site import webparts
from app.domain.staffing.assignments import assign_person
from tests.factories import login, make_clerk, make_staffed_station, make_user, post_form
from tests.pdf_tags import read_tagged

ACTOR = Actor.system("test")
SECRET = "test-secret-key-that-is-long-enough-0123456789"
IBAN = "SE45 5000 0000 0583 9825 7466"
FULL_ID = "198001019986"  # a valid personnummer outside make_clerk's series
PAGES = (
    "/lund/portal/profile",
    "/lund/portal/profile/my-data.json",
    "/lund/portal/profile/my-data.pdf",
)
POSTS = (
    "/lund/portal/profile",
    "/lund/portal/profile/removal",
    "/lund/portal/calendar/reset",
    "/lund/portal/calendar/stop",
)


async def _linked_clerk(db: AsyncSession, tenant: Tenant, **fields: Any) -> tuple[User, Person]:
    s = await make_staffed_station(db, tenant)
    user = await make_user(db, tenant, "clerk")
    person = await make_clerk(db, tenant, s["election"], **fields)
    with tenant_scope(tenant.id):
        person.user_id = user.id
        await db.commit()
    return user, person


def _form(**changes: str) -> dict[str, str]:
    return {
        "mobile": "070-123 45 67",
        "street_address": "Storgatan 1",
        "postal_code": "222 22",
        "city": "Lund",
        "preferred_language": "sv",
        "bank_account": "",
        **changes,
    }


async def _person(db: AsyncSession, tenant: Tenant, person_id: int) -> Person:
    with tenant_scope(tenant.id):
        person = await db.scalar(
            select(Person).where(Person.id == person_id).execution_options(populate_existing=True)
        )
    assert person is not None
    return person


async def _audit(db: AsyncSession, tenant: Tenant, code: str) -> list[AuditEntry]:
    with tenant_scope(tenant.id):
        return list(await db.scalars(select(AuditEntry).where(AuditEntry.code == code)))


async def test_it_shows_my_profile(client: QuartClient, db: AsyncSession, tenant: Tenant) -> None:
    user, person = await _linked_clerk(db, tenant, first_name="Robin")
    await login(client, user)
    response = await client.get("/lund/portal/profile")
    page = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Min profil" in page and person.full_name in page
    assert 'name="bank_account"' in page and "/lund/portal/profile/my-data.pdf" in page


async def test_it_saves_my_details_language_and_bank_account_encrypted(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    user, person = await _linked_clerk(db, tenant)
    await login(client, user)
    response = await post_form(
        client, "/lund/portal/profile", _form(preferred_language="da", bank_account=IBAN)
    )
    assert response.status_code == 302
    saved = await _person(db, tenant, person.id)
    assert (saved.mobile, saved.street_address, saved.city) == (
        "+46701234567",
        "Storgatan 1",
        "Lund",
    )
    assert saved.preferred_language == "da"
    account = await db.get(User, user.id, populate_existing=True)
    assert account is not None and account.locale == "da"
    # At rest: encrypted, no trace of the number; readable with the key.
    stored = saved.bank_account_encrypted or ""
    assert stored.startswith("enc1:") and "58398257466" not in stored and "SE45" not in stored
    assert FieldCipher(SECRET).decrypt(stored) == "SE4550000000058398257466"
    # Shown masked only, now in Danish.
    page = await (await client.get("/lund/portal/profile")).get_data(as_text=True)
    assert "SE •••• 7466" in page and "58398257466" not in page and "0583 9825" not in page
    assert ">Gem<" in page  # the page is in Danish now
    [entry] = await _audit(db, tenant, "portal.profile.updated")
    assert entry.data == {
        "fields": ["bank_account", "city", "mobile", "postal_code", "preferred_language",
                   "street_address"]
    }  # fmt: skip
    assert "7466" not in json.dumps(entry.data)


async def test_it_refuses_a_bad_iban_at_the_field_and_saves_nothing(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    user, person = await _linked_clerk(db, tenant, city="Dalby")
    await login(client, user)
    response = await post_form(
        client,
        "/lund/portal/profile",
        _form(city="Nyby", bank_account="SE45 5000 0000 0583 9825 7467"),
    )
    page = await response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="field-bank_account-error"' in page and "kontrollsiffr" in page.lower()
    assert 'aria-invalid="true"' in page
    saved = await _person(db, tenant, person.id)
    assert saved.city == "Dalby" and saved.bank_account_encrypted is None
    assert await _audit(db, tenant, "portal.profile.updated") == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("se45 5000 0000 0583 9825 7466", "SE4550000000058398257466"),
        ("DK50 0040 0440 1162 43", "DK5000400440116243"),
    ],
)
def test_it_takes_an_iban_in_any_spacing(raw: str, expected: str) -> None:
    assert clean_iban(raw) == expected


@pytest.mark.parametrize("raw", ["8327-9, 123 456 789-0", "SE12", "XX45 5000 0000 0583 9825 7466"])
def test_it_refuses_what_is_not_an_iban(raw: str) -> None:
    with pytest.raises(ValueError, match=r".+"):
        clean_iban(raw)


async def test_it_asks_for_a_mobile_and_an_iban_rather_than_a_domestic_account(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    user, _person = await _linked_clerk(db, tenant)
    await login(client, user)
    response = await post_form(
        client, "/lund/portal/profile", _form(mobile="", bank_account="8327-9, 123 456 789-0")
    )
    page = await response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="field-mobile-error"' in page and 'id="field-bank_account-error"' in page
    assert "IBAN" in page


async def test_it_keeps_the_account_when_left_empty_and_removes_it_on_request(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    user, person = await _linked_clerk(db, tenant)
    await login(client, user)
    await post_form(client, "/lund/portal/profile", _form(bank_account=IBAN))
    await post_form(client, "/lund/portal/profile", _form(city="Dalby"))
    assert (await _person(db, tenant, person.id)).bank_account_encrypted
    await post_form(client, "/lund/portal/profile", _form(city="Dalby", remove_bank_account="1"))
    assert (await _person(db, tenant, person.id)).bank_account_encrypted is None
    changes = [e.data["fields"] for e in await _audit(db, tenant, "portal.profile.updated")]
    assert ["bank_account"] in changes and ["city"] in changes


def test_it_encrypts_with_a_versioned_key_that_can_rotate() -> None:
    old = FieldCipher("an-old-secret-key-that-is-long-enough-000000")
    stored = old.encrypt(IBAN)
    assert stored.startswith("enc1:") and IBAN not in stored
    rotated = FieldCipher(SECRET, previous=["an-old-secret-key-that-is-long-enough-000000"])
    assert rotated.decrypt(stored) == IBAN and rotated.needs_reencryption(stored)
    assert not rotated.needs_reencryption(rotated.encrypt(IBAN))
    with pytest.raises(DecryptionError):
        FieldCipher(SECRET).decrypt(stored)
    key_id = stored.split(":")[1]
    with pytest.raises(DecryptionError):
        old.decrypt(f"enc1:{key_id}:" + stored.split(":")[2][:-4] + "AAAA")
    assert derive_key(SECRET, "field-encryption") != derive_key(SECRET, "calendar-feed")


def test_it_shows_an_unreadable_account_as_such() -> None:
    person = Person(
        bank_account_encrypted=FieldCipher("another-secret-key-long-enough-0000000").encrypt(IBAN)
    )
    assert stored_bank_account(FieldCipher(SECRET), person).unreadable


async def test_it_exports_my_data_as_json_without_the_whole_id_number(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    user, person = await _linked_clerk(db, tenant, first_name="Export", national_id=FULL_ID)
    s = await make_staffed_station(db, tenant, name="Västerskolan")
    with tenant_scope(tenant.id):
        assignment = await assign_person(
            db, ACTOR, s["early"].id, s["roles"]["clerk"].id, person.id, override=True
        )
        assignment.state = "accepted"
        await db.commit()
    await login(client, user)
    await post_form(client, "/lund/portal/profile", _form(bank_account=IBAN))
    response = await client.get("/lund/portal/profile/my-data.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    text = await response.get_data(as_text=True)
    data = json.loads(text)
    assert data["person"]["first_name"] == "Export"
    assert data["person"]["national_id"] == "19800101-****"
    assert FULL_ID not in text and FULL_ID[2:] not in text and "58398257466" not in text
    assert data["person"]["bank_account"] == "SE •••• 7466"
    assert data["availability"][0]["days"][0]["work_kinds"] == ["counting", "election_day"]
    [place] = data["assignments"]
    assert (place["station"], place["state"], place["starts_at"]) == (
        "Västerskolan",
        "accepted",
        "07:30",
    )
    assert data["account"]["email"] == user.email
    assert [e.data for e in await _audit(db, tenant, "portal.data.exported")] == [
        {"format": "json"}
    ]


async def test_it_exports_my_data_as_pdf(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    user, _me = await _linked_clerk(db, tenant, first_name="Åsa", national_id=FULL_ID)
    await login(client, user)
    response = await client.get("/lund/portal/profile/my-data.pdf")
    body = await response.get_data()
    assert response.status_code == 200 and body.startswith(b"%PDF")
    assert response.headers["Content-Type"] == "application/pdf"
    assert "attachment;" in response.headers["Content-Disposition"]
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    assert "Åsa" in text and "19800101-****" in text and FULL_ID not in text
    tagged = read_tagged(body)
    assert tagged.lang == "sv" and tagged.title.startswith("Mina uppgifter – Åsa")
    assert tagged.texts("H1") == ["Mina uppgifter"]
    assert tagged.texts("H2")[0] == "I registret"
    assert "Personnummer: 19800101-****" in tagged.texts("P")


async def test_it_sends_my_removal_request_to_the_office_and_audits_it(
    client: QuartClient, db: AsyncSession, tenant: Tenant, owner_db: AsyncSession
) -> None:
    user, person = await _linked_clerk(db, tenant)
    with tenant_scope(tenant.id):
        await webparts.save_site_settings(db, ACTOR, {"office_email": "val@lund.test"})
    await login(client, user)
    response = await post_form(
        client, "/lund/portal/profile/removal", {"message": "Jag har flyttat."}
    )
    assert response.status_code == 302
    saved = await _person(db, tenant, person.id)
    assert saved.removal_requested_at is not None  # recorded, and nothing erased
    mail = (await owner_db.scalars(select(OutboxMessage))).one()
    assert mail.recipient == "val@lund.test"
    assert "Jag har flyttat." in mail.body_text and person.full_name in mail.subject
    assert f"/lund/planning/people/{person.id}" in mail.body_text
    [entry] = await _audit(db, tenant, "portal.removal.requested")
    assert entry.data == {"office_mailed": True, "with_message": True}
    page = await (await client.get("/lund/portal/profile")).get_data(as_text=True)
    assert "Du bad om att bli borttagen" in page


async def test_it_refuses_a_too_long_removal_message_and_records_nothing(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    user, person = await _linked_clerk(db, tenant)
    await login(client, user)
    response = await post_form(client, "/lund/portal/profile/removal", {"message": "x" * 2001})
    assert response.status_code == 422
    assert 'id="field-message-error"' in await response.get_data(as_text=True)
    assert (await _person(db, tenant, person.id)).removal_requested_at is None
    assert await _audit(db, tenant, "portal.removal.requested") == []


async def test_it_shows_a_clerk_without_a_person_record_a_clear_page(
    client: QuartClient, clerk: User
) -> None:
    await login(client, clerk)
    response = await client.get("/lund/portal/profile")
    assert response.status_code == 200
    assert "inte kopplat" in await response.get_data(as_text=True)
    for path in PAGES[1:]:
        assert (await client.get(path)).status_code == 404, path
    for path in POSTS[1:]:
        assert (await post_form(client, path, {"message": ""})).status_code == 404, path


async def test_it_gives_an_outsider_404_everywhere(
    client: QuartClient, db: AsyncSession, tenant: Tenant, outsider: User
) -> None:
    await _linked_clerk(db, tenant)
    await login(client, outsider)
    for path in PAGES:
        assert (await client.get(path)).status_code == 404, path
    for path in POSTS:
        assert (await post_form(client, path, _form())).status_code == 404, path


async def test_it_sends_the_anonymous_to_sign_in(client: QuartClient, tenant: Tenant) -> None:
    for path in PAGES:
        response = await client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    for path in POSTS:
        response = await post_form(client, path, _form())
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
