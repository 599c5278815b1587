"""The back office's recruitment pages: the public-site editor, its settings, and the
inbox of applications and contact messages."""

from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import AuditEntry, OutboxMessage, Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import Application, Availability, ContactMessage, Person
from app.domain.recruitment import contact
from app.domain.site import colours, webparts
from tests.factories import (
    csrf_token,
    login,
    make_application,
    make_open_election,
    make_person,
    post_form,
)


async def test_it_edits_previews_and_publishes_a_page(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    await login(client, planner)
    editor = await client.get("/lund/planning/site/work/da")
    assert "Sådan er det at arbejde ved valget" in await editor.get_data(as_text=True)
    draft = {"title": "Arbejd hos os", "body": "Vi **søger** dig <script>x()</script>"}
    preview = await post_form(client, "/lund/planning/site/work/da", {**draft, "action": "preview"})
    body = await preview.get_data(as_text=True)
    assert "<strong>søger</strong>" in body and "<script>x()" not in body
    saved = await post_form(client, "/lund/planning/site/work/da", {**draft, "action": "save"})
    assert saved.status_code == 302
    public = await (await client.get("/lund/work", headers={"Cookie": ""})).get_data(as_text=True)
    assert "Arbejd hos os" not in public
    draft_view = await client.get("/lund/planning/site/work/da/preview")
    assert "Arbejd hos os" in await draft_view.get_data(as_text=True)
    published = await post_form(
        client, "/lund/planning/site/work/da", {**draft, "action": "publish"}
    )
    assert published.status_code == 302
    visitor = client.app.test_client()
    await post_form(visitor, "/lang", {"lang": "da"})
    assert "Arbejd hos os" in await (await visitor.get("/lund/work")).get_data(as_text=True)
    history = await (await client.get("/lund/planning/site/work/da/history")).get_data(as_text=True)
    assert planner.email in history
    with tenant_scope(tenant.id):
        codes = [e.code for e in await db.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert "webparts.version.saved" in codes and "webparts.version.published" in codes


async def test_the_previews_links_lead_where_they_do_on_the_public_site(
    client: QuartClient, planner: User
) -> None:
    """The office links a page's neighbours relatively ([apply](apply)); shown in the
    back office, the preview's links still go to the public pages, not to a 404."""
    await login(client, planner)
    draft = {"title": "Jobba", "body": "[Ansök](apply) · [Start](/lund/) · [IMY](https://imy.se)"}
    preview = await post_form(client, "/lund/planning/site/work/sv", {**draft, "action": "preview"})
    body = await preview.get_data(as_text=True)
    assert 'href="/lund/apply"' in body and 'href="apply"' not in body
    assert 'href="/lund/"' in body and 'href="https://imy.se"' in body
    await post_form(client, "/lund/planning/site/work/sv", {**draft, "action": "save"})
    page = await (await client.get("/lund/planning/site/work/sv/preview")).get_data(as_text=True)
    assert 'href="/lund/apply"' in page
    # The public page itself keeps the address as written (it is already there).
    assert "lund" not in webparts.render_markdown("[Ansök](apply)")


async def test_it_shows_the_editor_errors_and_refuses_unknown_pages(
    client: QuartClient, planner: User
) -> None:
    await login(client, planner)
    response = await post_form(
        client, "/lund/planning/site/faq/sv", {"title": "", "body": "x", "action": "publish"}
    )
    assert response.status_code == 422
    assert 'id="field-title-error"' in await response.get_data(as_text=True)
    assert (await client.get("/lund/planning/site/nope/sv")).status_code == 404
    assert (await client.get("/lund/planning/site/faq/fi")).status_code == 404


async def test_it_saves_the_site_settings_with_a_logo(
    client: QuartClient, db: AsyncSession, tenant: Tenant, admin: User
) -> None:
    from quart.datastructures import FileStorage

    await login(client, admin)
    token = await csrf_token(client)
    from io import BytesIO

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    response = await client.post(
        "/lund/planning/site/settings",
        form={
            "csrf_token": token,
            "brand_color": "#123456",
            "retention_months": "18",
            "applications_open": "1",
        },
        files={"logo": FileStorage(BytesIO(png), filename="logo.png", content_type="image/png")},
    )
    assert response.status_code == 302, await response.get_data(as_text=True)
    with tenant_scope(tenant.id):
        settings = await webparts.site_settings(db)
    assert (settings.brand_color, settings.retention_months) == ("#123456", 18)
    assert settings.logo == png
    bad = await client.post(
        "/lund/planning/site/settings",
        form={"csrf_token": token, "brand_color": "#123456", "retention_months": "18"},
        files={"logo": FileStorage(BytesIO(b"GIF89a"), filename="x.gif")},
    )
    assert bad.status_code == 422
    assert "PNG, JPEG" in await bad.get_data(as_text=True)


async def test_a_colour_no_text_reads_on_comes_back_with_the_nearest_one_in_the_field(
    client: QuartClient, db: AsyncSession, tenant: Tenant, admin: User
) -> None:
    await login(client, admin)
    page = await (await client.get("/lund/planning/site/settings")).get_data(as_text=True)
    assert "4,5:1" in page  # the help text says what is refused, and why
    token = await csrf_token(client)
    fields = {"csrf_token": token, "retention_months": "12"}
    refused = await client.post(
        "/lund/planning/site/settings", form={**fields, "brand_color": "#808080"}
    )
    assert refused.status_code == 422
    page = await refused.get_data(as_text=True)
    suggestion = colours.nearest_carrying_text("#808080")
    assert 'id="field-brand_color-error"' in page and "#808080" in page
    # The suggestion is in the field: saving again takes it.
    assert f'value="{suggestion}"' in page
    with tenant_scope(tenant.id):
        assert (await webparts.site_settings(db)).brand_color != "#808080"
    saved = await client.post(
        "/lund/planning/site/settings", form={**fields, "brand_color": suggestion}
    )
    assert saved.status_code == 302
    with tenant_scope(tenant.id):
        assert (await webparts.site_settings(db)).brand_color == suggestion


async def test_it_saves_whom_the_privacy_notice_names(
    client: QuartClient, db: AsyncSession, tenant: Tenant, admin: User
) -> None:
    await login(client, admin)
    page = await (await client.get("/lund/planning/site/settings")).get_data(as_text=True)
    # No data protection officer yet: the page says the notice needs one.
    assert 'name="dpo_contact"' in page and "dataskyddsombudet" in page
    token = await csrf_token(client)
    fields = {"csrf_token": token, "brand_color": "#123456", "retention_months": "12"}
    response = await client.post(
        "/lund/planning/site/settings",
        form={
            **fields,
            "controller_name": "Valnämnden",
            "controller_contact": "Stadshuset\nvalnamnden@lund.se",
            "dpo_contact": "dso@lund.se",
        },
    )
    assert response.status_code == 302, await response.get_data(as_text=True)
    with tenant_scope(tenant.id):
        settings = await webparts.site_settings(db)
    assert settings.controller_name == "Valnämnden"
    assert settings.controller_contact == "Stadshuset\nvalnamnden@lund.se"
    assert settings.dpo_contact == "dso@lund.se"
    too_long = await client.post(
        "/lund/planning/site/settings", form={**fields, "controller_name": "x" * 201}
    )
    assert too_long.status_code == 422
    assert 'id="field-controller_name-error"' in await too_long.get_data(as_text=True)


async def test_it_lists_filters_and_shows_applications(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    election = await make_open_election(db, tenant)
    await make_application(db, tenant, election, message="<script>alert(1)</script>")
    await login(client, planner)
    listing = await (await client.get("/lund/planning/applications/")).get_data(as_text=True)
    assert "Lind, Sara" in listing and "19900101-****" in listing
    assert "199001010017" not in listing
    filtered = await client.get(
        f"/lund/planning/applications/?election={election.id}&work_kind=advance",
        headers={"HX-Request": "true"},
    )
    fragment = await filtered.get_data(as_text=True)
    assert "Lind, Sara" not in fragment and "<html" not in fragment
    with tenant_scope(tenant.id):
        application = await db.scalar(select(Application))
    assert application is not None
    detail = await client.get(f"/lund/planning/applications/{application.id}")
    page = await detail.get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    # The reply boxes start from the office's templates in the applicant's language.
    assert webparts.default_text("reply_rejected", "sv")[1] in page


async def test_it_approves_from_the_detail_page_and_the_person_is_in_the_register(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User, owner_db: AsyncSession
) -> None:
    election = await make_open_election(db, tenant)
    application = (await make_application(db, tenant, election)).application
    await login(client, planner)
    response = await post_form(
        client,
        "/lund/planning/applications/approve",
        {"application_ids": str(application.id), "back": "detail"},
    )
    assert response.status_code == 302
    with tenant_scope(tenant.id):
        person = await db.scalar(select(Person))
        assert person is not None
        days = [a.day for a in await db.scalars(select(Availability))]
    assert days == [election.election_day]
    # The approved person got a clerk account and an invitation to the portal.
    assert person.user_id is not None
    mail = list(await owner_db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert [m.recipient for m in mail[-2:]] == ["sara.lind@example.se"] * 2
    assert "/password/reset?token=" in mail[-1].body_text  # the invitation's link
    page = await (await client.get(f"/lund/planning/people/{person.id}")).get_data(as_text=True)
    assert election.name in page and 'id="availability-heading"' in page
    again = await post_form(
        client,
        "/lund/planning/applications/approve",
        {"application_ids": str(application.id), "back": "detail"},
    )
    assert again.status_code == 409
    assert "redan hanterats" in await again.get_data(as_text=True)


async def test_it_rejects_with_the_message_and_needs_one(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User, owner_db: AsyncSession
) -> None:
    election = await make_open_election(db, tenant)
    application = (await make_application(db, tenant, election)).application
    await login(client, planner)
    path = f"/lund/planning/applications/{application.id}"
    empty = await post_form(client, f"{path}/reject", {"message": " "})
    assert empty.status_code == 422
    assert 'id="field-reject-error"' in await empty.get_data(as_text=True)
    done = await post_form(client, f"{path}/reject", {"message": "Tyvärr, inte nu."})
    assert done.status_code == 302
    mail = list(await owner_db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert "Tyvärr, inte nu." in mail[-1].body_text
    asked = await post_form(client, f"{path}/more-info", {"message": "Fråga"})
    assert asked.status_code == 422  # already handled


async def test_it_shows_contact_messages_and_marks_them_read_and_answered(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    with tenant_scope(tenant.id):
        message = await contact.submit_contact_message(
            db,
            tenant,
            {"name": "Eva", "email": "eva@example.se", "subject": "Fråga", "message": "Hej"},
            locale="sv",
            ip_address="192.0.2.1",
        )
    await login(client, planner)
    unread = await (await client.get("/lund/planning/messages/?state=unread")).get_data(
        as_text=True
    )
    assert "Fråga" in unread
    await client.get(f"/lund/planning/messages/{message.id}")
    assert "Fråga" not in await (
        await client.get("/lund/planning/messages/?state=unread")
    ).get_data(as_text=True)
    response = await post_form(
        client, f"/lund/planning/messages/{message.id}/answered", {"answered": "1"}
    )
    assert response.status_code == 302
    with tenant_scope(tenant.id):
        stored = await db.scalar(select(ContactMessage))
        assert stored is not None
        await db.refresh(stored)
    assert stored.read_at is not None and stored.answered_by_label == planner.email


async def test_it_keeps_the_inbox_from_coordinators_and_outsiders(
    client: QuartClient,
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    outsider: User,
) -> None:
    election = await make_open_election(db, tenant)
    application = (await make_application(db, tenant, election)).application
    await login(client, coordinator)
    assert (await client.get("/lund/planning/applications/")).status_code == 403
    outsider_client = client.app.test_client()
    await login(outsider_client, outsider)
    assert (
        await outsider_client.get(f"/lund/planning/applications/{application.id}")
    ).status_code == 404
    # The outsider's own municipality does not know the id either.
    assert (
        await outsider_client.get(f"/malmo/planning/applications/{application.id}")
    ).status_code == 404
    response = await post_form(
        outsider_client,
        "/malmo/planning/applications/approve",
        {"application_ids": str(application.id)},
    )
    assert response.status_code == 302
    with tenant_scope(tenant.id):
        assert (await db.scalar(select(Application))).status == "new"  # type: ignore[union-attr]


async def test_it_shows_a_register_match_side_by_side_and_changes_nothing_unless_chosen(
    client: QuartClient,
    db: AsyncSession,
    owner_db: AsyncSession,
    tenant: Tenant,
    planner: User,
) -> None:
    election = await make_open_election(db, tenant)
    person = await make_person(
        db,
        tenant,
        first_name="Sara",
        last_name="Lind",
        national_id="19900101-0017",
        email="sara@example.se",
        mobile="0701111111",
    )
    forged = (
        await make_application(db, tenant, election, email="evil@example.se", mobile="0709999999")
    ).application
    await login(client, planner)
    inbox = await (await client.get("/lund/planning/applications/")).get_data(as_text=True)
    assert "Finns redan i registret" in inbox
    page = await (await client.get(f"/lund/planning/applications/{forged.id}")).get_data(
        as_text=True
    )
    assert "register-match" in page
    assert "sara@example.se" in page and "evil@example.se" in page
    assert 'name="take" value="email"' in page and 'name="invite"' in page
    response = await post_form(
        client,
        "/lund/planning/applications/approve",
        {"application_ids": str(forged.id), "back": "detail", "seen": "1"},
    )
    assert response.status_code == 302
    with tenant_scope(tenant.id):
        stored = await db.scalar(
            select(Person).where(Person.id == person.id).execution_options(populate_existing=True)
        )
    assert stored is not None
    assert (stored.email, stored.mobile, stored.user_id) == (
        "sara@example.se",
        "+46701111111",
        None,
    )
    # No account was made and nothing was mailed to the application's address but its receipt.
    assert await db.scalar(select(User).where(User.email == "evil@example.se")) is None
    mail = list(await owner_db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert [m.idempotency_key.split(":")[0] for m in mail if m.recipient == "evil@example.se"] == [
        "application-received"
    ]


async def test_it_takes_a_chosen_value_and_invites_only_when_asked(
    client: QuartClient,
    db: AsyncSession,
    owner_db: AsyncSession,
    tenant: Tenant,
    planner: User,
) -> None:
    election = await make_open_election(db, tenant)
    person = await make_person(
        db, tenant, first_name="Sara", last_name="Lind", national_id="19900101-0017",
        email="sara@example.se",
    )  # fmt: skip
    application = (
        await make_application(db, tenant, election, email="sara.ny@example.se")
    ).application
    await login(client, planner)
    response = await post_form(
        client,
        "/lund/planning/applications/approve",
        {
            "application_ids": str(application.id),
            "back": "detail",
            "seen": "1",
            "take": "email",
            "invite": "1",
        },
    )
    assert response.status_code == 302
    with tenant_scope(tenant.id):
        stored = await db.scalar(
            select(Person).where(Person.id == person.id).execution_options(populate_existing=True)
        )
    assert stored is not None and stored.email == "sara.ny@example.se"
    assert stored.user_id is not None
    mail = list(await owner_db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    told = [m.idempotency_key.split(":")[0] for m in mail if m.recipient == "sara@example.se"]
    assert "person-contact-changed" in told
    assert "/password/reset?token=" in mail[-1].body_text and mail[-1].recipient == (
        "sara.ny@example.se"
    )
