"""Administration: the audit log, people who sign in, API tokens."""

from __future__ import annotations

from quart import flash, g, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.accounts.api_tokens import SCOPE_LABELS, create_api_token, list_api_tokens
from app.core.accounts.api_tokens import revoke_api_token as revoke_token
from app.core.accounts.passwords import invite_user
from app.core.accounts.second_factor import users_with_second_factor
from app.core.accounts.users import change_role as change_member_role
from app.core.accounts.users import list_members
from app.core.audit_search import AuditFilter, object_types, search_audit
from app.core.auth import current_actor, requires
from app.core.errors import DomainError
from app.core.forms import refused
from app.core.i18n import _, get_locale
from app.core.models import utcnow
from app.core.paging import page_number
from app.core.routes import Routes
from app.core.web import app_settings, db, on_refusal, render
from app.domain.labels import OBJECT_TYPE
from app.domain.registers import merging
from app.planning.forms import AddUserForm, ApiTokenForm, AuditFilterForm, ChangeRoleForm

routes = Routes()


@routes.get("/admin/audit")
@requires("audit.view")
async def audit_log() -> str:
    form = AuditFilterForm(request.args)
    kinds = [(name, str(OBJECT_TYPE.get(name, name))) for name in await object_types(db())]
    form.object_type.choices = [
        ("", _("All")),
        *sorted(kinds, key=lambda choice: choice[1].casefold()),
    ]
    form.validate()
    object_type = form.object_type.data or None
    object_id = form.object_id.data if (form.object_id.data or "").isdigit() else None
    # A person's history includes what was written under the records merged into them.
    former = (
        await merging.former_ids(db(), int(object_id))
        if object_type == "Person" and object_id
        else []
    )
    audit_filter = AuditFilter(
        code=form.code.data or None,
        actor=form.actor.data or None,
        object_type=object_type,
        object_id=object_id,
        former_ids=tuple((str(merged_id), merged_at) for merged_id, merged_at in former),
        date_from=None if form.date_from.errors else form.date_from.data,
        date_to=None if form.date_to.errors else form.date_to.data,
        timezone=g.tenant.timezone,
    )
    page = await search_audit(db(), audit_filter, page=page_number(request.args.get("page")))
    return await render(
        "planning/audit.html", block="results", form=form, page=page, object_labels=OBJECT_TYPE
    )


@routes.route("/admin/tokens", methods=["GET", "POST"])
@requires("tokens.manage")
async def api_tokens() -> str:
    form = await ApiTokenForm.from_request()

    async def page(form: ApiTokenForm, new_secret: str | None = None) -> str:
        tokens = await list_api_tokens(db())
        return await render(
            "planning/tokens.html",
            form=form,
            tokens=tokens,
            new_secret=new_secret,
            scope_labels=SCOPE_LABELS,
            now=utcnow(),
        )

    if request.method == "POST" and form.validate():
        on_refusal(lambda error: page(refused(form, error)))
        _token, new_secret = await create_api_token(
            db(),
            current_actor(),
            form.name.data or "",
            scopes=form.scopes.data or [],
            expires_on=form.expires_on.data,
        )
        return await page(ApiTokenForm(), new_secret)
    return await page(form)


@routes.post("/admin/tokens/<int:token_id>/revoke")
@requires("tokens.manage")
async def revoke_api_token(token_id: int) -> WerkzeugResponse:
    token = await revoke_token(db(), current_actor(), token_id)
    await flash(_("The token \u201c%(name)s\u201d no longer works.", name=token.name), "success")
    return redirect(url_for("planning.api_tokens"))


@routes.route("/admin/users", methods=["GET", "POST"])
@requires("users.manage")
async def users() -> str | WerkzeugResponse:
    form = await AddUserForm.from_request()

    async def page(form: AddUserForm) -> str:
        members = await list_members(db())
        return await render(
            "planning/users.html",
            form=form,
            members=members,
            role_form=ChangeRoleForm(),
            with_second_factor=await users_with_second_factor(
                db(), [member.user_id for member in members]
            ),
        )

    if request.method == "POST" and form.validate():
        on_refusal(lambda error: page(refused(form, error)))
        await invite_user(
            db(),
            current_actor(),
            app_settings(),
            g.tenant,
            email=form.email.data or "",
            name=form.name.data or "",
            role=form.role.data or "",
            locale=get_locale(),
        )
        await flash(
            _(
                "%(email)s has been added and sent a link to choose a password.",
                email=form.email.data,
            ),
            "success",
        )
        return redirect(url_for("planning.users"))
    return await page(form)


@routes.post("/admin/users/<int:membership_id>/role")
@requires("users.manage")
async def change_role(membership_id: int) -> WerkzeugResponse:
    form = await ChangeRoleForm.from_request()
    if not form.validate():
        await flash(_("Choose a role."), "error")
        return redirect(url_for("planning.users"))

    async def refused(error: DomainError) -> WerkzeugResponse:
        await flash(error.message, "error")
        return redirect(url_for("planning.users"))

    on_refusal(refused)
    await change_member_role(db(), current_actor(), membership_id, form.role.data or "")
    await flash(_("The role has been changed."), "success")
    return redirect(url_for("planning.users"))
