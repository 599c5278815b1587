"""The message template pages: the list, the editor with its preview and SMS counter,
saving, versions, reset, own templates, and outsiders."""

from __future__ import annotations

from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import OutboxMessage, Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import MessageTemplate, MessageTemplateVersion
from app.domain.staffing import assignments, offers
from tests.factories import (
    login,
    make_clerk,
    make_person,
    make_staffed_station,
    make_tenant,
    make_user,
    post_form,
)

HTMX = {"HX-Request": "true"}


def _base(tenant: Tenant) -> str:
    return f"/{tenant.slug}/planning/message-templates"


async def test_the_list_shows_every_message_with_its_state(
    client: QuartClient, tenant: Tenant, planner: User
) -> None:
    await login(client, planner)
    response = await client.get(f"{_base(tenant)}/")
    page = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Erbjudande om plats" in page and "Standardtext" in page
    assert f"{_base(tenant)}/staffing_offer/sms/da" in page


async def test_a_planner_writes_previews_with_a_person_and_saves_and_the_offer_uses_it(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User, owner_db: AsyncSession
) -> None:
    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"], first_name="Åsa", mobile="0701234567")
    await login(client, planner)
    editor = f"{_base(tenant)}/staffing_offer/email/sv"
    page = await (await client.get(editor)).get_data(as_text=True)
    assert "Du erbjuds en plats i valet" in page and "{{ person.first_name }}" in page
    # The person search and the preview as her, as HTMX asks while the planner writes.
    found = await client.get(f"{_base(tenant)}/people?person_query=%C3%85sa", headers=HTMX)
    assert f'value="{person.id}"' in await found.get_data(as_text=True)
    mail = {
        "subject": "Plats i {{ station.name }}",
        "body": "Hej {{ person.name }}!\n\n{{ offer.link }}",
    }
    shown = await post_form(
        client, f"{editor}/preview", {**mail, "person_id": str(person.id)}, headers=HTMX
    )
    fragment = await shown.get_data(as_text=True)
    assert "Hej Åsa Andersson!" in fragment and "Plats i Vallokal Centrum" in fragment
    saved = await post_form(client, editor, {**mail, "action": "save"})
    assert saved.status_code == 302
    sms_editor = f"{_base(tenant)}/staffing_offer/sms/sv"
    sms = {"body": "Hej {{ person.first_name }} – svara i portalen"}
    counted = await post_form(client, f"{sms_editor}/preview", sms, headers=HTMX)
    text = await counted.get_data(as_text=True)
    assert "1 sms" in text and "Unicode" in text and "–" in text
    assert (await post_form(client, sms_editor, {**sms, "action": "save"})).status_code == 302
    with tenant_scope(tenant.id):
        proposal = await assignments.assign_person(
            db, Actor(label="t"), s["early"].id, s["roles"]["clerk"].id, person.id
        )
        await offers.send_offers(db, Actor(label="t"), tenant, [proposal.id], "http://x.test")
    rows = {m.channel: m for m in await owner_db.scalars(select(OutboxMessage))}
    assert rows["email"].subject == "Plats i Hamnskolan"
    assert rows["email"].body_text.startswith("Hej Åsa Andersson!")
    assert rows["sms"].body_text == "Hej Åsa – svara i portalen"


async def test_an_unknown_field_comes_back_at_its_field_and_nothing_is_saved(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    await login(client, planner)
    editor = f"{_base(tenant)}/staffing_offer/email/en"
    response = await post_form(
        client,
        editor,
        {"subject": "Hi", "body": "Hello\n{{ person.shoe_size }}", "action": "save"},
    )
    page = await response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Rad 2" in page and "person.shoe_size" in page and 'id="field-body-error"' in page
    escape = await post_form(
        client, f"{editor}/preview", {"subject": "{{ ''.__class__ }}", "body": "x"}, headers=HTMX
    )
    assert "Rad 1" in await escape.get_data(as_text=True)
    with tenant_scope(tenant.id):
        assert await db.scalar(select(MessageTemplateVersion)) is None


async def test_versions_restore_and_reset(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    await login(client, planner)
    editor = f"{_base(tenant)}/staffing_offer/sms/da"
    for body in ("Første {{ person.first_name }}", "Anden"):
        await post_form(client, editor, {"body": body, "action": "save"})
    history = await (await client.get(f"{editor}/history")).get_data(as_text=True)
    assert "Første" in history and "Anden" in history and planner.email in history
    with tenant_scope(tenant.id):
        first = await db.scalar(
            select(MessageTemplateVersion).where(MessageTemplateVersion.number == 1)
        )
    assert first is not None
    restored = await post_form(client, f"{editor}/versions/{first.id}/restore")
    assert restored.status_code == 302
    page = await (await client.get(editor)).get_data(as_text=True)
    assert "Første {{ person.first_name }}" in page
    reset = await post_form(client, f"{editor}/reset")
    assert reset.status_code == 302
    page = await (await client.get(editor)).get_data(as_text=True)
    assert "tilbyder dig en plads ved valget" in page


async def test_an_own_template_is_made_and_written(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    await login(client, planner)
    refused = await post_form(client, f"{_base(tenant)}/", {"name": ""})
    assert refused.status_code == 422
    made = await post_form(
        client, f"{_base(tenant)}/", {"name": "Tack för i år", "channels": "email"}
    )
    assert made.status_code == 302
    with tenant_scope(tenant.id):
        own = await db.scalar(select(MessageTemplate))
    assert own is not None and made.headers["Location"].endswith(f"/{own.key}/email/sv")
    page = await (await client.get(made.headers["Location"])).get_data(as_text=True)
    assert "Tack för i år" in page and "{{ station.name }}" in page
    assert (await client.get(f"{_base(tenant)}/{own.key}/sms/sv")).status_code == 404


async def test_outsiders_and_clerks_get_nothing(
    client: QuartClient, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    other = await make_tenant(db, "malmo", "Malmö")
    outsider = await make_user(db, other, "planner")
    person = await make_person(db, tenant, first_name="Hemlig")
    with tenant_scope(tenant.id):
        from app.domain.messaging import editing

        own = await editing.create_own(db, Actor(label="t"), {"name": "X", "channels": ["sms"]})
        version = await editing.save_text(db, Actor(label="t"), own.key, "sms", "sv", {"body": "A"})
    assert version is not None
    await login(client, outsider)
    theirs = _base(tenant)
    assert (await client.get(f"{theirs}/")).status_code == 404
    mine = _base(other)
    assert (await client.get(f"{mine}/{own.key}/sms/sv")).status_code == 404
    assert (await client.get(f"{mine}/{own.key}/sms/sv/history")).status_code == 404
    restore = await post_form(client, f"{mine}/staffing_offer/sms/sv/versions/{version.id}/restore")
    assert restore.status_code == 404
    preview = await post_form(
        client,
        f"{mine}/staffing_offer/sms/sv/preview",
        {"body": "{{ person.first_name }}", "person_id": str(person.id)},
        headers=HTMX,
    )
    assert preview.status_code == 404 or "Hemlig" not in await preview.get_data(as_text=True)
    found = await client.get(f"{mine}/people?person_query=Hemlig")
    assert "Hemlig" not in await found.get_data(as_text=True)
    await client.post("/logout")
    await login(client, coordinator)
    assert (await client.get(f"{_base(tenant)}/")).status_code == 403
