"""The public site's pages: safe Markdown, drafts, publishing, history and settings."""

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.models import Tenant
from app.core.settings import SUPPORTED_LOCALES
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain.site import colours, webparts

ACTOR = Actor(label="planner@lund.test")


@pytest.mark.parametrize(
    "dangerous",
    [
        "<script>alert(1)</script>",
        '<img src="x.png" onerror="alert(1)">',
        "[click](javascript:alert(1))",
        '<a href="javascript:alert(1)">click</a>',
        '<a href="JaVaScRiPt:alert(1)">click</a>',
        '<p style="background:url(x)" onclick="alert(1)">hi</p>',
        '<iframe src="https://evil.example"></iframe>',
        "<svg><script>alert(1)</script></svg>",
        '<form action="https://evil.example"><input name="pw"></form>',
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
    ],
)
def test_it_strips_scripts_handlers_styles_and_javascript_links(dangerous: str) -> None:
    html = str(webparts.render_markdown(f"Text {dangerous} end")).lower()
    for forbidden in ("<script", "onerror=", "onclick=", 'href="javascript', "style=",
                      "<iframe", "<form", "<input", 'href="data:', "<svg"):  # fmt: skip
        assert forbidden not in html, html


def test_it_keeps_ordinary_markdown() -> None:
    html = str(
        webparts.render_markdown(
            "# Rubrik\n\n**fet** och *kursiv*\n\n* ett\n* två\n\n"
            "[Läs mer](https://lund.se/val) · [mejla](mailto:val@lund.se)\n\n"
            "| a | b |\n|---|---|\n| 1 | 2 |"
        )
    )
    assert "<h2>Rubrik</h2>" in html  # the page title is the only h1
    assert "<strong>fet</strong>" in html and "<em>kursiv</em>" in html
    assert "<li>ett</li>" in html
    assert 'href="https://lund.se/val"' in html and 'rel="noopener noreferrer nofollow"' in html
    assert 'href="mailto:val@lund.se"' in html
    assert "<table>" in html and "<td>1</td>" in html


async def test_it_shows_the_built_in_text_until_something_is_published(
    db: AsyncSession, tenant: Tenant
) -> None:
    with tenant_scope(tenant.id):
        assert (await webparts.shown(db, "work", "sv")).version is None
        draft = await webparts.save_draft(db, ACTOR, "work", "sv", {"title": "Jobba", "body": "A"})
        shown = await webparts.shown(db, "work", "sv")
        assert shown.version is None and shown.title == webparts.default_text("work", "sv")[0]
        published = await webparts.publish(db, ACTOR, "work", "sv", None)
        assert published.id == draft.id
        assert (await webparts.shown(db, "work", "sv")).body == "A"
        # Other languages keep their own (built-in) text.
        assert (await webparts.shown(db, "work", "da")).version is None


async def test_it_keeps_a_history_and_restores_an_old_version_as_a_draft(
    db: AsyncSession, tenant: Tenant
) -> None:
    with tenant_scope(tenant.id):
        first = await webparts.publish(db, ACTOR, "faq", "en", {"title": "FAQ", "body": "one"})
        await webparts.save_draft(db, ACTOR, "faq", "en", {"title": "FAQ", "body": "two"})
        # Saving the same text again writes nothing new.
        await webparts.save_draft(db, ACTOR, "faq", "en", {"title": "FAQ", "body": "two"})
        state = await webparts.part_state(db, "faq", "en")
        assert state.has_draft and state.published is not None
        assert state.published.id == first.id
        restored = await webparts.restore(db, ACTOR, "faq", "en", first.id)
        history = await webparts.history(db, "faq", "en")
    assert [v.number for v in history] == [3, 2, 1]
    assert restored.body == "one" and restored.published_at is None
    assert history[-1].created_by_label == "planner@lund.test"
    assert history[-1].published_by_label == "planner@lund.test"


async def test_it_refuses_unknown_parts_and_bad_text(db: AsyncSession, tenant: Tenant) -> None:
    with tenant_scope(tenant.id):
        with pytest.raises(NotFound):
            await webparts.save_draft(db, ACTOR, "secret", "sv", {"title": "x", "body": "y"})
        with pytest.raises(NotFound):
            await webparts.shown(db, "work", "xx")
        with pytest.raises(FieldErrors) as caught:
            await webparts.publish(db, ACTOR, "work", "sv", {"title": "", "body": "y"})
        assert "title" in caught.value.errors
        with pytest.raises(FieldErrors) as caught:
            await webparts.save_draft(
                db, ACTOR, "work", "sv", {"title": "x", "body": "y" * (webparts.MAX_BODY + 1)}
            )
        assert "body" in caught.value.errors
        assert await webparts.history(db, "work", "sv") == []


async def test_it_keeps_each_tenants_pages_apart(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    with tenant_scope(tenant.id):
        version = await webparts.publish(db, ACTOR, "start", "sv", {"title": "Lund", "body": "L"})
    with tenant_scope(other_tenant.id):
        assert (await webparts.shown(db, "start", "sv")).version is None
        with pytest.raises(NotFound):
            await webparts.restore(db, ACTOR, "start", "sv", version.id)


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_it_saves_colour_logo_and_retention_and_refuses_bad_values(
    db: AsyncSession, tenant: Tenant
) -> None:
    with tenant_scope(tenant.id):
        settings = await webparts.save_site_settings(
            db,
            ACTOR,
            {"brand_color": "#AA3300", "retention_months": "6", "applications_open": "1"},
            logo=PNG,
        )
        assert settings.brand_color == "#aa3300"
        assert settings.logo_content_type == "image/png"
        assert settings.retention_months == 6
        with pytest.raises(FieldErrors) as caught:
            await webparts.save_site_settings(
                db,
                ACTOR,
                {"brand_color": "red", "retention_months": "0", "office_email": "nope"},
                logo=b"<svg onload=alert(1)>",
            )
        assert set(caught.value.errors) == {
            "brand_color",
            "retention_months",
            "office_email",
            "logo",
        }
        assert (await webparts.site_settings(db)).brand_color == "#aa3300"


async def test_it_refuses_a_colour_no_text_can_be_read_on_naming_the_nearest_that_passes(
    db: AsyncSession, tenant: Tenant
) -> None:
    with tenant_scope(tenant.id):
        # #e07000 failed as a background for white text; dark text on it reads (5.1:1).
        saved = await webparts.save_site_settings(db, ACTOR, {"brand_color": "#E07000"})
        assert saved.brand_color == "#e07000"
        # Mid-grey: white text 3.95:1, dark text 4.19:1.
        with pytest.raises(FieldErrors) as caught:
            await webparts.save_site_settings(
                db, ACTOR, {"brand_color": "#808080", "office_email": "kansliet@lund.se"}
            )
        message = caught.value.errors["brand_color"]
        assert "#808080" in message and "4,5:1" in message  # in Swedish
        assert colours.nearest_carrying_text("#808080") in message
        assert list(caught.value.errors) == ["brand_color"]
        # Nothing half-written: the office's email was not saved with the refused colour.
        stored = await webparts.site_settings(db)
        assert (stored.brand_color, stored.office_email) == ("#e07000", None)
        suggestion = colours.nearest_carrying_text("#808080")
        saved = await webparts.save_site_settings(db, ACTOR, {"brand_color": suggestion})
        assert saved.brand_color == suggestion


async def test_it_has_a_built_in_text_for_every_part_in_every_language(
    db: AsyncSession, tenant: Tenant
) -> None:
    with tenant_scope(tenant.id):
        for key in webparts.KEYS:
            for locale in SUPPORTED_LOCALES:
                shown = await webparts.shown(db, key, locale)
                assert shown.body.strip(), (key, locale)
                assert bool(shown.title) == (key in webparts.PAGE_KEYS), (key, locale)


async def test_it_gives_an_overview_of_published_versions_and_drafts(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    with tenant_scope(tenant.id):
        await webparts.publish(db, ACTOR, "faq", "sv", {"title": "FAQ", "body": "ett"})
        await webparts.save_draft(db, ACTOR, "faq", "sv", {"title": "FAQ", "body": "två"})
        await webparts.save_draft(db, ACTOR, "pay", "da", {"title": "Løn", "body": "x"})
        states = {(s.key, s.locale): s for s in await webparts.overview(db)}
    faq, pay = states[("faq", "sv")], states[("pay", "da")]
    assert faq.published is not None and faq.published.number == 1
    assert faq.latest is not None and faq.latest.number == 2 and faq.has_draft
    assert pay.published is None and pay.has_draft
    assert states[("start", "en")].latest is None
    with tenant_scope(other_tenant.id):
        assert all(s.latest is None for s in await webparts.overview(db))
