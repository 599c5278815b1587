"""Where every way in goes once its first factor passed (password, mailed link, SMS
code): straight in, to the second step, or to enrolment; and where a user lands."""

from __future__ import annotations

from quart import redirect, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.accounts import remembered_devices, users
from app.core.auth import begin_second_step, login_user, remembered_device_token
from app.core.models import User
from app.core.permissions import home_face
from app.core.web import db


async def landing_for(user: User) -> str:
    memberships = await users.memberships_of(db(), user)
    if len(memberships) == 1:
        only = memberships[0]
        return url_for(f"{home_face(only.role)}.home", tenant=only.tenant.slug)
    return url_for("accounts.choose_tenant")


async def after_first_factor(user: User, next_path: str | None) -> WerkzeugResponse:
    """Sign in, or hold the sign-in until the second step or enrolment is done: no
    way in skips the second factor."""
    step = await remembered_devices.next_step_after_password(
        db(), user, remembered_device_token(user.id)
    )
    if step == "sign_in":
        await login_user(user)
        return redirect(next_path or await landing_for(user))
    await begin_second_step(user, step, next_path)
    if step == "enrol":
        return redirect(url_for("accounts.enrol_second_factor"))
    return redirect(url_for("accounts.second_step"))
