"""The municipality as sender: the From and Reply-To of its mail, its SMS sender id,
and (for administrators) the address the SMS gateway posts replies to."""

from __future__ import annotations

from typing import Any

from quart import flash, g, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.errors import DomainError
from app.core.i18n import _
from app.core.outbox import senders
from app.core.permissions import role_has
from app.core.routes import Routes
from app.core.web import app_settings, db, on_refusal, render

routes = Routes()


def _manages() -> bool:
    return role_has(g.membership.role if g.membership else None, "tenant.manage")


async def _page(values: dict[str, Any], errors: dict[str, str]) -> str:
    settings = app_settings()
    sender = await senders.get_sender(db())
    incoming = None
    if _manages() and sender is not None:
        incoming = senders.callback_url(
            settings.base_url,
            senders.SenderIdentity(
                tenant_id=g.tenant.id,
                tenant_slug=g.tenant.slug,
                mail_from_name="",
                mail_from_address="",
                mail_reply_to="",
                sms_sender="",
                callback_token=sender.callback_token,
            ),
            "incoming",
        )
    return await render(
        "planning/messaging/sender.html",
        values=values,
        errors=errors,
        fallback_from=settings.mail_from,
        fallback_sms=settings.sms_from,
        incoming_address=incoming,
        manages=_manages(),
    )


@routes.get("/messaging/sender")
@requires("messaging.send")
async def sender_settings() -> str:
    sender = await senders.get_sender(db())
    values = {field: getattr(sender, field) if sender else "" for field in senders.SENDER_FIELDS}
    return await _page(values, {})


@routes.post("/messaging/sender")
@requires("messaging.send")
async def sender_settings_save() -> WerkzeugResponse | tuple[str, int]:
    form = (await request.form).to_dict()

    async def refused(error: DomainError) -> tuple[str, int]:
        return await _page(form, error.errors), 422

    on_refusal(refused)
    await senders.update_sender(db(), current_actor(), form)
    await flash(_("The sender has been saved."), "success")
    return redirect(url_for("planning.sender_settings"))


@routes.post("/messaging/sender/callback")
@requires("tenant.manage")
async def sender_callback_renew() -> WerkzeugResponse:
    await senders.renew_callback_token(db(), current_actor())
    await flash(
        _("The addresses have a new secret: give the gateway the new address for replies."),
        "success",
    )
    return redirect(url_for("planning.sender_settings"))
