"""Tickets onto the live socket for clients that have an API token but no browser session."""

from __future__ import annotations

from pydantic import BaseModel, Field
from quart_schema import tag, validate_request, validate_response

from app.api.schema import Id, problems
from app.core.i18n import _
from app.core.problems import ApiError
from app.core.routes import Routes
from app.core.web import db
from app.realtime.tickets import TICKET_SECONDS, issue_ticket

routes = Routes()


class TicketIn(BaseModel):
    user_id: Id = Field(description="The member of this municipality the socket acts for")


class TicketOut(BaseModel):
    ticket: str = Field(description="Open `/<tenant>/ws?ticket=...` with it, once")
    expires_in: int = Field(description="Seconds the ticket stays good")


@routes.post("/realtime/tickets")
@tag(["realtime"])
@problems(404)
@validate_request(TicketIn)
@validate_response(TicketOut, 201)
async def api_create_realtime_ticket(data: TicketIn) -> tuple[TicketOut, int]:
    """A one-time ticket onto the live socket for a member, good for one minute.

    The socket then hears what that user may hear. A user who is not an active member
    of the token's municipality answers 404, as if there were no such user.
    """
    ticket = await issue_ticket(db(), data.user_id)
    if ticket is None:
        raise ApiError(404, _("Not found."))
    return TicketOut(ticket=ticket, expires_in=TICKET_SECONDS), 201
