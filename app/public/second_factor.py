"""The second step of signing in, enrolling an authenticator app, and a user's own
security page (recovery codes, remembered browsers).

A sign-in held between its steps (``app.core.auth.begin_second_step``) has no session:
every other page sends it back here until the step is done.
"""

from __future__ import annotations

import re
from typing import Any

import segno
from markupsafe import Markup
from quart import Response, flash, redirect, request, session, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.accounts import remembered_devices, second_factor, users
from app.core.audit import Actor
from app.core.auth import (
    DEVICE_COOKIE,
    PENDING_KEY,
    current_actor,
    current_session_token,
    current_user,
    device_cookie_value,
    login_user,
    pending_second_step,
    requires_login,
)
from app.core.crypto import FieldCipher
from app.core.errors import DomainError
from app.core.forms import refused
from app.core.i18n import _
from app.core.models import User
from app.core.ratelimit import RateLimited
from app.core.routes import Routes
from app.core.web import app_settings, client_ip, db, on_refusal, render, safe_next
from app.public.forms import EnrolSecondFactorForm, SecondStepForm
from app.public.signin_flow import landing_for

routes = Routes()

#: The enrolment in progress in this browser: its user and the secret, encrypted.
ENROLMENT_KEY = "enrolment"
#: For the dates on the security page of an account that belongs to no municipality.
DEFAULT_TIMEZONE = "Europe/Stockholm"

_BROWSERS = (
    ("Edg/", "Edge"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS", "macOS"),
    ("Linux", "Linux"),
)


def _cipher() -> FieldCipher:
    return FieldCipher(app_settings().secret_key)


def device_label(user_agent: str) -> str:
    """A name the user recognises for a browser ("Firefox on Windows"), from its
    User-Agent; never the whole header."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), None)
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    return browser or system or _("Unknown browser")


def _too_many(limited: RateLimited) -> str:
    return _(
        "Too many attempts. Wait %(minutes)s minutes and try again.",
        minutes=max(1, -(-limited.retry_after // 60)),
    )


async def _waiting_user(stage: str) -> tuple[User | None, dict[str, Any] | None]:
    pending = pending_second_step()
    if pending is None or pending.get("stage") != stage:
        return None, None
    user = await second_factor.user_waiting(db(), int(pending["user"]))
    if user is None:
        session.pop(PENDING_KEY, None)
    return user, pending


@routes.route("/login/second-step", methods=["GET", "POST"])
async def second_step() -> WerkzeugResponse | str | tuple[str, int, dict[str, str]]:
    user, pending = await _waiting_user("verify")
    if user is None or pending is None:
        return redirect(url_for("accounts.login"))
    form = await SecondStepForm.from_request()
    if request.method == "POST" and form.validate():
        on_refusal(lambda error: render("public/second_step.html", form=refused(form, error)))
        remember_as = (
            device_label(request.headers.get("User-Agent", "")) if form.remember.data else None
        )
        try:
            done = await second_factor.verify_second_factor(
                db(), _cipher(), user, form.code.data or "", client_ip(), remember_as
            )
        except RateLimited as limited:
            form.add_error(_too_many(limited))
            page = await render("public/second_step.html", form=form)
            return page, 429, {"Retry-After": str(limited.retry_after)}
        next_path = safe_next(pending.get("next"))
        await login_user(user)
        response = redirect(next_path or await landing_for(user))
        if done.device_token:
            response.set_cookie(
                DEVICE_COOKIE,
                device_cookie_value(user.id, done.device_token),
                max_age=int(second_factor.REMEMBER_FOR.total_seconds()),
                httponly=True,
                secure=app_settings().secure_cookies,
                samesite="Lax",
            )
        if done.method == "recovery":
            await flash(
                _("That recovery code is used up now. Make new ones when few are left."),
                "warning",
            )
        return response
    return await render("public/second_step.html", form=form)


async def _enrolling_user() -> tuple[User | None, dict[str, Any] | None]:
    """Who is enrolling: a signed-in user, or a sign-in held until enrolment is done."""
    signed_in = current_user()
    if signed_in is not None:
        return signed_in, None
    return await _waiting_user("enrol")


def qr_code_svg(uri: str, title: str) -> Markup:
    """The ``otpauth:`` address as an inline ``<svg>`` for the app's camera: no style
    attribute or element, so it draws under the strict content security policy."""
    svg = segno.make_qr(uri, error="m").svg_inline(
        scale=5, border=4, omitsize=True, title=title, svgclass="enrol-qr", lineclass=None
    )
    return Markup(svg)  # noqa: S704 - written by segno, which escapes the title


def _enrolment_of_this_browser(user: User) -> second_factor.Enrolment:
    """The secret this browser is enrolling (kept sealed in its signed cookie, so the
    page drawn again after a wrong code shows the same one), or a new one."""
    held = session.get(ENROLMENT_KEY)
    if isinstance(held, dict) and held.get("user") == user.id:
        enrolment = second_factor.enrolment_from(_cipher(), user, str(held.get("sealed")))
        if enrolment is not None:
            return enrolment
    enrolment = second_factor.new_enrolment(_cipher(), user)
    session[ENROLMENT_KEY] = {"user": user.id, "sealed": enrolment.sealed}
    return enrolment


def _grouped(secret: str) -> str:
    return " ".join(re.findall(".{1,4}", secret))


@routes.route("/account/second-factor", methods=["GET", "POST"])
async def enrol_second_factor() -> WerkzeugResponse | str | tuple[str, int, dict[str, str]]:
    user, pending = await _enrolling_user()
    if user is None:
        return redirect(url_for("accounts.login"))
    if await second_factor.has_second_factor(db(), user.id):
        return redirect(url_for("accounts.security"))
    enrolment = _enrolment_of_this_browser(user)
    form = await EnrolSecondFactorForm.from_request()

    async def page(status: int = 200) -> tuple[str, int, dict[str, str]]:
        html = await render(
            "public/second_factor_enrol.html",
            form=form,
            required=pending is not None,
            secret=_grouped(enrolment.secret),
            qr=qr_code_svg(enrolment.uri, _("QR code for your authenticator app")),
        )
        return html, status, {}

    async def page_refused(error: DomainError) -> tuple[str, int, dict[str, str]]:
        refused(form, error)
        return await page(422)

    if request.method == "POST" and form.validate():
        on_refusal(page_refused)
        try:
            codes = await second_factor.confirm_enrolment(
                db(),
                _cipher(),
                Actor.for_user(user, client_ip()),
                user,
                enrolment.sealed,
                form.code.data or "",
                client_ip(),
                keep_session=current_session_token(),
            )
        except RateLimited as limited:
            form.add_error(_too_many(limited))
            html, _status, _headers = await page()
            return html, 429, {"Retry-After": str(limited.retry_after)}
        session.pop(ENROLMENT_KEY, None)
        if pending is not None:
            next_path = safe_next(pending.get("next"))
            await login_user(user)
            onward = next_path or await landing_for(user)
        else:
            onward = url_for("accounts.security")
        return await render("public/recovery_codes.html", codes=codes, onward=onward, first=True)
    return await page()


@routes.get("/account/security")
@requires_login
async def security() -> str:
    user = current_user()
    assert user is not None
    memberships = await users.memberships_of(db(), user)
    return await render(
        "public/security.html",
        timezone=memberships[0].tenant.timezone if memberships else DEFAULT_TIMEZONE,
        enrolled=await second_factor.has_second_factor(db(), user.id),
        required=await second_factor.second_factor_required(db(), user.id),
        codes_left=await second_factor.unused_recovery_codes(db(), user.id),
        devices=await remembered_devices.list_devices(db(), user.id),
    )


@routes.post("/account/security/recovery-codes")
@requires_login
async def renew_recovery_codes() -> str:
    user = current_user()
    assert user is not None
    codes = await second_factor.regenerate_recovery_codes(db(), current_actor(), user)
    return await render(
        "public/recovery_codes.html", codes=codes, onward=url_for("accounts.security"), first=False
    )


@routes.post("/account/security/turn-off")
@requires_login
async def turn_off_second_factor() -> WerkzeugResponse:
    user = current_user()
    assert user is not None

    async def refused_here(error: DomainError) -> WerkzeugResponse:
        await flash(error.message, "error")
        return redirect(url_for("accounts.security"))

    on_refusal(refused_here)
    await second_factor.turn_off_second_factor(db(), current_actor(), user, current_session_token())
    await flash(_("The authenticator app no longer protects your account."), "success")
    return redirect(url_for("accounts.security"))


@routes.post("/account/security/devices/<int:device_id>/forget")
@requires_login
async def forget_device(device_id: int) -> WerkzeugResponse | Response:
    user = current_user()
    assert user is not None
    await remembered_devices.forget_device(db(), current_actor(), user, device_id)
    await flash(_("The browser has been forgotten: it asks for a code again."), "success")
    return redirect(url_for("accounts.security"))
