"""A clerk's own pay: per election, the lines so far and the pay statement as PDF."""

from __future__ import annotations

import asyncio

from quart import Response, g

from app.core.auth import requires
from app.core.downloads import attachment, slug
from app.core.i18n import _
from app.core.routes import Routes
from app.core.web import db, render
from app.domain.pay import statement
from app.domain.pay.labels import PAY_LINE_KIND
from app.portal.me import my_person, my_person_or_404

routes = Routes()


@routes.get("/pay/")
@requires("portal.use")
async def my_pay() -> str:
    person = await my_person()
    return await render(
        "portal/pay.html",
        statements=await statement.my_pay(db(), person) if person else [],
        kind_labels=PAY_LINE_KIND,
    )


@routes.get("/pay/<int:election_id>/statement.pdf")
@requires("portal.use")
async def my_pay_statement(election_id: int) -> Response:
    """The clerk's own statement; another person's is never reachable from here."""
    person = await my_person_or_404()
    found = await statement.person_statement(db(), election_id, person.id)
    body = await asyncio.to_thread(
        statement.write_statement_pdf, g.tenant.name, g.tenant.timezone, found
    )
    return attachment(body, "pdf", f"{slug(_('Pay statement'))}-{found.election.id}")
