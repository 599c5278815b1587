"""Signing in (by password, mailed link or SMS code) and out, password reset, language,
and choosing a municipality."""

from __future__ import annotations

from quart import Response, flash, g, redirect, request, session, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.accounts import passwords, sessions, signin_links, users
from app.core.auth import current_user, logout_user, requires_login
from app.core.errors import DomainError
from app.core.forms import refused
from app.core.i18n import _, get_locale, pick_locale, set_locale
from app.core.models import User
from app.core.permissions import home_face
from app.core.ratelimit import RateLimited
from app.core.routes import Routes
from app.core.settings import SUPPORTED_LOCALES
from app.core.validation import parse_id
from app.core.web import app_settings, client_ip, db, on_refusal, render, safe_next
from app.domain.clerks import signin_codes
from app.public.forms import (
    ForgotPasswordForm,
    LoginForm,
    ResetPasswordForm,
    SignInCodeForm,
    SignInCodeRequestForm,
    SignInLinkForm,
)
from app.public.signin_flow import after_first_factor

routes = Routes()

RESET_SESSION_KEY = "password_reset_token"
#: A mailed sign-in link's token, moved out of the address bar into the signed cookie.
SIGNIN_LINK_SESSION_KEY = "signin_link_token"
#: The pending sign-in that a code from an SMS completes; never in a URL.
SIGNIN_PENDING_SESSION_KEY = "signin_pending"
#: Where to go after signing in by link or code (a same-site path).
SIGNIN_NEXT_SESSION_KEY = "signin_next"
LINK_MINUTES = int(signin_links.LINK_VALID.total_seconds() // 60)
CODE_MINUTES = int(signin_codes.CODE_VALID.total_seconds() // 60)


@routes.get("/")
async def index() -> WerkzeugResponse | str:
    if current_user() is not None:
        return redirect(url_for("accounts.choose_tenant"))
    return redirect(url_for("accounts.login"))


@routes.route("/login", methods=["GET", "POST"])
async def login() -> WerkzeugResponse | Response | str | tuple[str, int, dict[str, str]]:
    form = await LoginForm.from_request()
    next_path = safe_next(request.args.get("next"))
    if request.method == "POST" and form.validate():
        limits = sessions.LoginLimits.from_settings(app_settings())
        try:
            user = await sessions.authenticate(
                db(), limits, form.email.data or "", form.password.data or "", client_ip()
            )
        except RateLimited as limited:
            form.add_error(
                _(
                    "Too many attempts. Wait %(minutes)s minutes and try again.",
                    minutes=max(1, -(-limited.retry_after // 60)),
                )
            )
            page = await render("public/login.html", form=form, next=next_path)
            return page, 429, {"Retry-After": str(limited.retry_after)}
        if user is None:
            form.add_error(_("Wrong email or password."))
        else:
            return await after_first_factor(user, next_path)
    return await render("public/login.html", form=form, next=next_path)


@routes.get("/account/municipalities")
@requires_login
async def choose_tenant() -> str:
    user = current_user()
    assert user is not None
    memberships = await users.memberships_of(db(), user)
    choices = [
        (m.tenant, m.role, url_for(f"{home_face(m.role)}.home", tenant=m.tenant.slug))
        for m in memberships
    ]
    return await render("public/choose_tenant.html", choices=choices)


@routes.post("/logout")
async def logout() -> WerkzeugResponse:
    await logout_user()
    await flash(_("You have been signed out."), "success")
    response = redirect(url_for("accounts.login"))
    # The portal's offline copy of "My assignments" goes with the session.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@routes.post("/lang")
async def set_language() -> WerkzeugResponse:
    form = await request.form
    language = pick_locale(form.get("lang"))
    if form.get("lang") in SUPPORTED_LOCALES:
        session["lang"] = language
        user = current_user()
        if user is not None:
            await users.set_user_locale(db(), user, language)
    return redirect(safe_next(form.get("next")) or url_for("accounts.index"))


@routes.route("/password/forgot", methods=["GET", "POST"])
async def forgot_password() -> WerkzeugResponse | str | tuple[str, int, dict[str, str]]:
    form = await ForgotPasswordForm.from_request()
    if request.method == "POST" and form.validate():
        try:
            await passwords.request_password_reset(
                db(), app_settings(), form.email.data or "", get_locale(), client_ip()
            )
        except RateLimited as limited:
            form.add_error(_("Too many attempts. Wait a while and try again."))
            page = await render("public/password_forgot.html", form=form, sent=False)
            return page, 429, {"Retry-After": str(limited.retry_after)}
        return await render("public/password_forgot.html", form=form, sent=True)
    return await render("public/password_forgot.html", form=form, sent=False)


@routes.route("/password/reset", methods=["GET", "POST"])
async def reset_password() -> WerkzeugResponse | str | tuple[str, int]:
    link_token = request.args.get("token")
    if link_token:
        # Move the token out of the address bar (and out of history and referrers).
        session[RESET_SESSION_KEY] = link_token
        return redirect(url_for("accounts.reset_password"))
    token = session.get(RESET_SESSION_KEY)
    reset = await passwords.find_reset_token(db(), str(token)) if token else None
    if reset is None:
        session.pop(RESET_SESSION_KEY, None)
        return await render("public/password_reset.html", form=None), 410
    await _in_the_accounts_language(reset.user_id)
    form = await ResetPasswordForm.from_request()
    if request.method == "POST" and form.validate():
        on_refusal(lambda error: render("public/password_reset.html", form=refused(form, error)))
        await passwords.reset_password(db(), str(token), form.password.data or "", client_ip())
        session.pop(RESET_SESSION_KEY, None)
        await flash(_("Your password has been changed. Sign in with the new one."), "success")
        return redirect(url_for("accounts.login"))
    return await render("public/password_reset.html", form=form)


async def _in_the_accounts_language(user_id: int) -> None:
    """A mailed link (an invitation, a reset) opens in its account's language, as the mail
    was written, unless the visitor has chosen one; the sign-in page after it too."""
    if session.get("lang"):
        return
    user = await db().get(User, user_id)
    if user is not None and user.locale in SUPPORTED_LOCALES:
        session["lang"] = user.locale
        set_locale(user.locale)


# --- signing in without a password ------------------------------------------------------


def _remember_next() -> None:
    next_path = safe_next(request.args.get("next"))
    if next_path:
        session[SIGNIN_NEXT_SESSION_KEY] = next_path


async def _sign_in_and_land(user: User) -> WerkzeugResponse:
    # Read before signing in, which starts the session afresh.
    next_path = safe_next(session.get(SIGNIN_NEXT_SESSION_KEY))
    return await after_first_factor(user, next_path)


def _too_many(limited: RateLimited) -> dict[str, str]:
    return {"Retry-After": str(limited.retry_after)}


@routes.route("/login/link", methods=["GET", "POST"])
async def login_link() -> str | tuple[str, int, dict[str, str]]:
    form = await SignInLinkForm.from_request()
    if request.method == "GET":
        _remember_next()
    if request.method == "POST" and form.validate():
        try:
            await signin_links.request_signin_link(
                db(), app_settings(), form.email.data or "", get_locale(), client_ip()
            )
        except RateLimited as limited:
            form.add_error(_("Too many attempts. Wait a while and try again."))
            page = await render(
                "public/login_link.html", form=form, sent=False, minutes=LINK_MINUTES
            )
            return page, 429, _too_many(limited)
        return await render("public/login_link.html", form=form, sent=True, minutes=LINK_MINUTES)
    return await render("public/login_link.html", form=form, sent=False, minutes=LINK_MINUTES)


@routes.route("/login/link/open", methods=["GET", "POST"])
async def open_login_link() -> WerkzeugResponse | str | tuple[str, int]:
    """A mailed link lands here. Signing in takes one more tap (a POST), so a mail
    scanner that opens every link cannot use it up before its owner does."""
    link_token = request.args.get("token")
    if link_token:
        # Move the token out of the address bar (and out of history and referrers).
        session[SIGNIN_LINK_SESSION_KEY] = link_token
        return redirect(url_for("accounts.open_login_link"))
    token = str(session.get(SIGNIN_LINK_SESSION_KEY) or "")
    user = await signin_links.user_of_signin_link(db(), token) if token else None
    if user is None:
        return await _link_gone()
    if request.method == "POST":
        on_refusal(_link_gone)
        user = await signin_links.sign_in_with_link(db(), token, client_ip())
        return await _sign_in_and_land(user)
    return await render("public/login_link_open.html", account=user)


async def _link_gone(_error: DomainError | None = None) -> tuple[str, int]:
    """The page for a sign-in link that is unknown, expired or used: the same for all."""
    session.pop(SIGNIN_LINK_SESSION_KEY, None)
    return await render("public/login_link_open.html", account=None), 410


@routes.route("/login/code", methods=["GET", "POST"])
async def login_code() -> WerkzeugResponse | str | tuple[str, int, dict[str, str]]:
    form = await SignInCodeRequestForm.from_request()
    if request.method == "GET":
        _remember_next()
    if request.method == "POST" and form.validate():
        on_refusal(lambda error: render("public/login_code.html", form=refused(form, error)))
        try:
            pending = await signin_codes.request_signin_code(
                db(), app_settings(), form.login.data or "", get_locale(), client_ip()
            )
        except RateLimited as limited:
            form.add_error(_("Too many attempts. Wait a while and try again."))
            page = await render("public/login_code.html", form=form)
            return page, 429, _too_many(limited)
        session[SIGNIN_PENDING_SESSION_KEY] = pending
        return redirect(url_for("accounts.enter_login_code"))
    return await render("public/login_code.html", form=form)


@routes.route("/login/code/enter", methods=["GET", "POST"])
async def enter_login_code() -> WerkzeugResponse | str | tuple[str, int, dict[str, str]]:
    pending = session.get(SIGNIN_PENDING_SESSION_KEY)
    if not pending:
        return redirect(url_for("accounts.login_code"))
    form = await SignInCodeForm.from_request()
    if request.method == "POST" and form.validate():
        on_refusal(
            lambda error: render(
                "public/login_code_enter.html", form=refused(form, error), minutes=CODE_MINUTES
            )
        )
        try:
            user = await signin_codes.sign_in_with_code(
                db(), app_settings(), str(pending), form.code.data or "", client_ip()
            )
        except RateLimited as limited:
            form.add_error(_("Too many attempts. Wait a while and try again."))
            page = await render("public/login_code_enter.html", form=form, minutes=CODE_MINUTES)
            return page, 429, _too_many(limited)
        if user is None:
            return redirect(url_for("accounts.choose_login_account"))
        return await _sign_in_and_land(user)
    return await render("public/login_code_enter.html", form=form, minutes=CODE_MINUTES)


@routes.route("/login/code/account", methods=["GET", "POST"])
async def choose_login_account() -> WerkzeugResponse | str | tuple[str, int]:
    """After the right code for a number several accounts share: which one to open."""
    pending = str(session.get(SIGNIN_PENDING_SESSION_KEY) or "")
    choices = await signin_codes.account_choices(db(), pending) if pending else []
    if not choices:
        return redirect(url_for("accounts.login_code"))
    if request.method == "POST":
        form = await request.form

        async def refused(error: DomainError) -> tuple[str, int]:
            page = await render(
                "public/login_code_account.html", choices=choices, error=error.message
            )
            return page, 422

        on_refusal(refused)
        user = await signin_codes.sign_in_with_choice(
            db(), pending, parse_id(form.get("account")), client_ip()
        )
        return await _sign_in_and_land(user)
    return await render("public/login_code_account.html", choices=choices, error=None)


@routes.app_context_processor
async def _current_face() -> dict[str, object]:
    return {"face": request.blueprint or "", "tenant_slug": g.get("tenant_slug")}
