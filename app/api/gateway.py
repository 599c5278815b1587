"""The SMS gateway's callbacks: delivery reports and incoming SMS, per municipality.

``/api/gateway/<tenant>/sms/delivered`` and ``.../sms/incoming``, posted by the
gateway as forms. The gateway signs nothing; each municipality's callback addresses
carry a random secret as the password of Basic auth (``app.core.outbox.senders``),
compared in constant time. A wrong or missing secret answers 401 and is logged; so is
a repeated, late or unknown report, which changes nothing. Outside the API's bearer
tokens and its OpenAPI document: these are the gateway's, not an integrator's.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging

from quart import Blueprint, Response, g, request

from app.core.hygiene import body_limit, body_too_large
from app.core.outbox.reports import ReportOutcome, record_delivery_report
from app.core.outbox.senders import get_sender
from app.core.routes import Routes
from app.core.web import db
from app.domain.replies.incoming import receive_sms

log = logging.getLogger(__name__)

routes = Routes()

#: A report or an SMS is a short form; anything longer is no gateway's.
CALLBACK_BODY_LIMIT = 32 * 1024

#: What the gateway is answered for each outcome of a report: 2xx ends its retries;
#: an unknown id is answered 404 so that a report that came before the worker recorded
#: the id is posted again later.
_REPORT_ANSWERS = {
    ReportOutcome.RECORDED: 204,
    ReportOutcome.DUPLICATE: 200,
    ReportOutcome.UNKNOWN: 404,
    ReportOutcome.INVALID: 400,
}


def create_blueprint() -> Blueprint:
    blueprint = Blueprint("gateway", __name__, url_prefix="/api/gateway/<tenant>")
    routes.register_on(blueprint)
    return blueprint


def _password() -> str | None:
    scheme, _sep, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2]


async def _refused() -> Response | None:
    """401 unless the request carries this municipality's callback secret (413 for a
    body no gateway sends, unread)."""
    if body_too_large():
        return Response("", status=413)
    sender = await get_sender(db())
    password = _password()
    if (
        sender is not None
        and password is not None
        and hmac.compare_digest(password.encode(), sender.callback_token.encode())
    ):
        return None
    log.warning("gateway callback for %s refused: wrong or no secret", g.tenant.slug)
    return Response("", status=401, headers={"WWW-Authenticate": 'Basic realm="stemma-gateway"'})


@routes.post("/sms/delivered")
@body_limit(CALLBACK_BODY_LIMIT)
async def sms_delivered() -> Response:
    refused = await _refused()
    if refused is not None:
        return refused
    form = await request.form
    outcome = await record_delivery_report(
        db(), str(form.get("id", "")), str(form.get("status", ""))
    )
    return Response("", status=_REPORT_ANSWERS[outcome])


@routes.post("/sms/incoming")
@body_limit(CALLBACK_BODY_LIMIT)
async def sms_incoming() -> Response:
    refused = await _refused()
    if refused is not None:
        return refused
    form = await request.form
    await receive_sms(
        db(),
        provider_id=str(form.get("id", "")),
        from_number=str(form.get("from", "")),
        to_number=str(form.get("to", "")),
        message=str(form.get("message", "")),
    )
    # An empty answer: no automatic reply to the clerk.
    return Response("", status=200)
