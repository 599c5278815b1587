"""Election-day check-ins over the JSON API: from integrations (a bearer token) and from
the clerk's own phone (the signed-in session, which may check in only its own person)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field
from quart import g
from quart_schema import tag, validate_headers, validate_request, validate_response

from app.api.registers import api_actor
from app.api.schema import Id, Moment, problems
from app.core.audit import Actor
from app.core.auth import current_actor, current_user
from app.core.csrf import csrf_is_valid
from app.core.i18n import _
from app.core.problems import ApiError
from app.core.routes import Routes
from app.core.tenant_gate import enter_request_tenant
from app.core.web import db
from app.domain.models import CheckIn
from app.domain.ops.checkins import MAX_KEY_LENGTH, check_in, municipality_of_own_person

routes = Routes()

IDEMPOTENCY_HEADER = "Idempotency-Key"


class CheckInHeaders(BaseModel):
    idempotency_key: str = Field(
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        pattern=r"\S",
        description="New for every check-in; the same again when resending one",
    )


class CheckInIn(BaseModel):
    person_id: Id
    shift_id: Id
    kind: Literal["arrived", "left"]
    device_time: Moment | None = Field(
        None, description="The phone's clock; without an offset, the municipality's local time"
    )


class CheckInOut(BaseModel):
    id: int
    election_id: int
    station_id: int
    shift_id: int
    person_id: int
    kind: str
    checked_at: dt.datetime = Field(description="The server's time: the one that counts")
    device_time: dt.datetime | None
    source: str = Field(description="api, portal or coordinator")
    idempotency_key: str

    @classmethod
    def of(cls, row: CheckIn) -> CheckInOut:
        return cls(
            id=row.id,
            election_id=row.election_id,
            station_id=row.station_id,
            shift_id=row.shift_id,
            person_id=row.person_id,
            kind=row.kind,
            checked_at=row.checked_at,
            device_time=row.device_time,
            source=row.source,
            idempotency_key=row.idempotency_key,
        )


@routes.post("/checkins")
@tag(["operations"])
@problems(403, 404, 409)
@validate_headers(CheckInHeaders)
@validate_request(CheckInIn)
@validate_response(CheckInOut, 201)
@validate_response(CheckInOut, 200)
async def api_check_in(
    data: CheckInIn, headers: CheckInHeaders
) -> tuple[CheckInOut, int, dict[str, str]]:
    """Check a person in ("arrived") or out ("left") of their shift.

    Send an `Idempotency-Key` header (1-100 characters, new for every check-in) and send
    again with the same key and body when the answer was lost: the first check-in comes
    back with 200 and `Idempotent-Replayed: true`. The same key with another body is
    refused (422). Besides a bearer token, a signed-in clerk's session (with its
    `X-CSRF-Token`) may check in its own person only.
    """
    key = headers.idempotency_key.strip()
    if g.get("api_token") is not None:
        actor, source = api_actor(), "api"
    else:
        actor, source = await _clerk_session(data.person_id), "portal"
    row, replayed = await check_in(
        db(),
        actor,
        person_id=data.person_id,
        shift_id=data.shift_id,
        kind=data.kind,
        idempotency_key=key,
        device_time=data.device_time,
        source=source,
    )
    replay = {"Idempotent-Replayed": "true"} if replayed else {}
    return CheckInOut.of(row), 200 if replayed else 201, replay


async def _clerk_session(person_id: int) -> Actor:
    """The signed-in user checking in their own person: the person names the municipality.

    Anyone else's person (or one in a municipality the user left) answers 404.
    """
    if not await csrf_is_valid():
        raise ApiError(400, _("The request is not valid."), _("The CSRF token is missing."))
    user = current_user()
    assert user is not None  # the blueprint lets only a signed-in session through
    tenant = await municipality_of_own_person(db(), user.id, person_id)
    if tenant is None:
        raise ApiError(404, _("Not found."))
    enter_request_tenant(tenant)
    return current_actor()
