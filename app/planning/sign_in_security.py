"""An administrator's say over second factors: the municipality's policy, and
resetting a member's second factor when they lost their phone."""

from __future__ import annotations

from quart import flash, g, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.accounts.second_factor_admin import reset_second_factor, set_second_factor_policy
from app.core.auth import current_actor, requires
from app.core.errors import DomainError
from app.core.i18n import _, get_locale
from app.core.routes import Routes
from app.core.web import db, on_refusal

routes = Routes()


async def _back_to_users(error: DomainError) -> WerkzeugResponse:
    await flash(error.message, "error")
    return redirect(url_for("planning.users"))


@routes.post("/admin/users/second-factor-policy")
@requires("users.manage")
async def second_factor_policy() -> WerkzeugResponse:
    form = await request.form
    on_refusal(_back_to_users)
    await set_second_factor_policy(db(), current_actor(), g.tenant, form.get("policy", ""))
    await flash(_("The sign-in policy has been saved."), "success")
    return redirect(url_for("planning.users"))


@routes.post("/admin/users/<int:membership_id>/second-factor/reset")
@requires("users.manage")
async def second_factor_reset(membership_id: int) -> WerkzeugResponse:
    on_refusal(_back_to_users)
    user = await reset_second_factor(db(), current_actor(), membership_id, get_locale())
    await flash(
        _(
            "The second factor of %(name)s has been reset and they have been told by email.",
            name=user.name,
        ),
        "success",
    )
    return redirect(url_for("planning.users"))
