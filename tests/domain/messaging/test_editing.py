"""The office's texts: versions, refusals that save nothing, restore, reset, own
templates, previews with a real person, and the next offer carrying the office's text."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.models import OutboxMessage, Tenant
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain.messaging import MessagingError, editing
from app.domain.messaging.fields import merge_fields
from app.domain.messaging.preview import preview
from app.domain.messaging.render import render_message
from app.domain.models import MessageTemplateVersion
from app.domain.staffing import assignments, offers
from tests.factories import make_clerk, make_person, make_staffed_station

ACTOR = Actor(label="planner@lund.test")
EMAIL = {
    "subject": "Plats i {{ station.name }}",
    "body": "Hej {{ person.first_name }}!\n\nSvara här: {{ offer.link }}\n",
}


async def _versions(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(MessageTemplateVersion)) or 0)


async def test_a_save_is_a_version_and_is_sent_instead_of_the_default(
    db: AsyncSession, tenant: Tenant
) -> None:
    with tenant_scope(tenant.id):
        fields = await merge_fields(db, extra={"offer.link": "https://x.test/o"})
        before = await render_message(db, "staffing_offer", "email", "sv", fields)
        assert "erbjuds en plats" in before.subject
        first = await editing.save_text(db, ACTOR, "staffing_offer", "email", "sv", EMAIL)
        assert first is not None and first.number == 1
        assert first.created_by_label == ACTOR.label and first.created_at is not None
        # The same text again writes nothing.
        assert await editing.save_text(db, ACTOR, "staffing_offer", "email", "sv", EMAIL) is None
        second = await editing.save_text(
            db, ACTOR, "staffing_offer", "email", "sv", {**EMAIL, "subject": "Ny rubrik"}
        )
        assert second is not None and second.number == 2
        after = await render_message(db, "staffing_offer", "email", "sv", fields)
        assert after.subject == "Ny rubrik"
        assert "Svara här: https://x.test/o" in after.text
        assert '<a href="https://x.test/o">' in after.html
        # Other languages still send their default.
        danish = await render_message(db, "staffing_offer", "email", "da", fields)
        assert "tilbydes en plads" in danish.subject
        history = await editing.history(db, "staffing_offer", "email", "sv")
        assert [v.number for v in history] == [2, 1]


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({**EMAIL, "body": "Hej\n{{ person.shoe_size }}"}, "body", ("Line 2", "person.shoe_size")),
        ({**EMAIL, "subject": "{{ ''.__class__ }}"}, "subject", ("Line 1",)),
        ({**EMAIL, "body": "Hej\n\n{% if address %}ingen slut"}, "body", ("Line",)),
        ({**EMAIL, "subject": ""}, "subject", ()),
        ({**EMAIL, "body": "  "}, "body", ()),
    ],
)
async def test_a_bad_template_is_refused_at_its_field_and_nothing_is_saved(
    db: AsyncSession, tenant: Tenant, data: dict[str, str], field: str, words: tuple[str, ...]
) -> None:
    with tenant_scope(tenant.id):
        with pytest.raises((MessagingError, FieldErrors)) as refused:
            await editing.save_text(db, ACTOR, "staffing_offer", "email", "sv", data)
        assert field in refused.value.errors
        for word in words:
            assert word in refused.value.errors[field]
        assert await _versions(db) == 0


async def test_restore_and_reset_to_default_are_new_versions(
    db: AsyncSession, tenant: Tenant
) -> None:
    sms = {"body": "Hej {{ person.first_name }}, svara i portalen: {{ portal_link }}"}
    with tenant_scope(tenant.id):
        first = await editing.save_text(db, ACTOR, "staffing_offer", "sms", "sv", sms)
        await editing.save_text(db, ACTOR, "staffing_offer", "sms", "sv", {"body": "Annan"})
        assert first is not None
        restored = await editing.restore(db, ACTOR, "staffing_offer", "sms", "sv", first.id)
        assert restored is not None and restored.number == 3 and restored.body == sms["body"]
        reset = await editing.reset_to_default(db, ACTOR, "staffing_offer", "sms", "sv")
        assert reset.is_default and reset.number == 4
        fields = await merge_fields(db)
        text = (await render_message(db, "staffing_offer", "sms", "sv", fields)).text
        assert "erbjuder dig en plats i valet" in text
        # Another municipality's version is not found here.
        with pytest.raises(NotFound):
            await editing.restore(db, ACTOR, "staffing_offer", "email", "sv", first.id)


async def test_an_own_template_has_no_default_and_its_own_texts(
    db: AsyncSession, tenant: Tenant
) -> None:
    with tenant_scope(tenant.id):
        with pytest.raises(FieldErrors) as refused:
            await editing.create_own(db, ACTOR, {"name": "", "channels": ["fax"]})
        assert set(refused.value.errors) == {"name", "channels"}
        kind = await editing.create_own(
            db, ACTOR, {"name": "Påminnelse om utbildning", "channels": ["sms"]}
        )
        assert kind.key.startswith("own_") and kind.channels == ("sms",)
        with pytest.raises(MessagingError):
            await editing.create_own(
                db, ACTOR, {"name": "påminnelse om utbildning", "channels": ["email"]}
            )
        state = await editing.text_state(db, kind, "sms", "sv")
        assert state.missing
        with pytest.raises(NotFound):
            await editing.save_text(db, ACTOR, kind.key, "email", "sv", EMAIL)
        with pytest.raises(MessagingError, match=r"offer\.link"):
            await editing.save_text(db, ACTOR, kind.key, "sms", "sv", {"body": "{{ offer.link }}"})
        await editing.save_text(
            db, ACTOR, kind.key, "sms", "sv", {"body": "Hej {{ person.first_name }}!"}
        )
        rows = dict((k.key, states) for k, states in await editing.overview(db))
        own = {(s.channel, s.locale): s for s in rows[kind.key]}
        assert own[("sms", "sv")].edited and own[("sms", "da")].missing
        text = (await render_message(db, kind.key, "sms", "sv", await merge_fields(db))).text
        assert text == "Hej !"


async def test_the_preview_uses_a_real_person_and_counts_the_sms(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    person = await make_person(db, tenant, first_name="Åsa", last_name="Öberg")
    stranger = await make_person(db, other_tenant, first_name="Mallory")
    with tenant_scope(tenant.id):
        kind = await editing.kind_of(db, "staffing_offer")
        body = {"body": "Hej {{ person.name }} – {{ station.name }}"}
        shown = await preview(db, kind, "sms", "sv", body, person.id)
        assert shown.rendered.text.startswith("Hej Åsa Öberg – ")
        assert "station.name" in shown.examples_used  # she has no place yet
        assert shown.length is not None and shown.length.is_unicode
        assert shown.length.non_gsm == ("–",)
        mail = await preview(db, kind, "email", "sv", EMAIL, None)
        assert mail.rendered.subject == "Plats i Vallokal Centrum"
        with pytest.raises(NotFound):
            await preview(db, kind, "sms", "sv", body, stranger.id)
        with pytest.raises(MessagingError):
            await preview(db, kind, "sms", "sv", {"body": "{{ person.x }}"}, person.id)
        assert await _versions(db) == 0


async def test_the_next_offer_uses_the_offices_text(
    db: AsyncSession, tenant: Tenant, owner_db: AsyncSession
) -> None:
    s: dict[str, Any] = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"], first_name="Åsa", mobile="0701234567")
    with tenant_scope(tenant.id):
        await editing.save_text(db, ACTOR, "staffing_offer", "email", "sv", EMAIL)
        await editing.save_text(
            db,
            ACTOR,
            "staffing_offer",
            "sms",
            "sv",
            {"body": "{{ person.first_name }}: {{ station.name }} {{ shift.starts }}, "
             "svara senast {{ offer.deadline }}. {{ offer.link }}"},
        )  # fmt: skip
        proposal = await assignments.assign_person(
            db, ACTOR, s["early"].id, s["roles"]["clerk"].id, person.id
        )
        await offers.send_offers(db, ACTOR, tenant, [proposal.id], "http://x.test")
    rows = {m.channel: m for m in await owner_db.scalars(select(OutboxMessage))}
    assert rows["email"].subject == "Plats i Hamnskolan"
    assert rows["email"].body_text.startswith("Hej Åsa!")
    assert f"http://x.test/{tenant.slug}/offer?token=" in rows["email"].body_text
    sms = rows["sms"].body_text
    assert sms.startswith("Åsa: Hamnskolan 07:30, svara senast ")
    # The SMS never carries the offer's secret link, only the portal's.
    assert sms.endswith(f"http://x.test/{tenant.slug}/portal") and "token" not in sms
