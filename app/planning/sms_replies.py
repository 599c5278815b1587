"""The office's inbox of SMS replies from clerks, beside the contact messages."""

from __future__ import annotations

from quart import request

from app.core.auth import current_actor, requires
from app.core.paging import page_number
from app.core.routes import Routes
from app.core.web import db, render
from app.domain.replies import incoming

routes = Routes()


@routes.get("/messages/sms/")
@requires("messaging.send")
async def sms_replies_list() -> str:
    state = request.args.get("state") if request.args.get("state") in incoming.FILTERS else None
    page = await incoming.list_replies(db(), state, page=page_number(request.args.get("page")))
    return await render("planning/messaging/replies.html", page=page, state=state)


@routes.get("/messages/sms/<int:reply_id>")
@requires("messaging.send")
async def sms_reply_detail(reply_id: int) -> str:
    opened = await incoming.open_reply(db(), current_actor(), reply_id)
    return await render("planning/messaging/reply.html", opened=opened)
