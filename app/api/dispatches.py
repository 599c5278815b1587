"""Dispatches over the JSON API: create one from a filter (and send it now or at a time),
and read where its messages are.

``request_key`` makes a create idempotent: the same key answers the dispatch it made
the first time, whatever else the body says, so a client may retry after a lost answer.
A filter naming another municipality's election, district, station, role or course is
refused at its field (422), as an unknown one is.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field
from quart_schema import tag, validate_request, validate_response

from app.api.registers import api_actor
from app.api.schema import Day, Id, Moment, problems
from app.core.models import utcnow
from app.core.routes import Routes
from app.core.web import app_settings, db
from app.domain.dispatches import sending, status
from app.domain.dispatches.filters import RecipientFilter
from app.domain.models import Dispatch

routes = Routes()

Group = Literal["staff", "reserves", "applicants", "course", "register"]
StaffState = Literal["proposed", "offered", "accepted", "declined"]
CourseState = Literal["booked", "not_booked", "attended", "absent"]
ApplicationStatus = Literal["new", "more_info", "approved", "rejected"]
Channel = Literal["email", "sms"]


class FilterIn(BaseModel):
    """Who the dispatch is for. ``staff`` and ``reserves`` need ``election_id``;
    ``course`` needs ``course_id``; ``register`` is everyone active in the register."""

    group: Group = "staff"
    election_id: Id | None = None
    district_id: Id | None = None
    station_id: Id | None = None
    role_type_id: Id | None = None
    states: list[StaffState] = Field(
        ["accepted"], max_length=4, description="The place's states (staff)"
    )
    day: Day | None = Field(None, description="Only places on shifts of this day (staff)")
    unanswered: bool = Field(False, description="Only offers not yet answered (staff)")
    course_id: Id | None = None
    course_state: CourseState | None = Field(
        None, description="Their booking of `course_id` (staff, reserves, register, course)"
    )
    arrival: Literal["arrived", "not_arrived"] | None = Field(
        None, description="Checked in on their shift or not (staff)"
    )
    application_statuses: list[ApplicationStatus] = Field(
        [], max_length=4, description="Applicants: new and more_info when none is given"
    )


class TextIn(BaseModel):
    subject: str = Field("", max_length=200, description="The e-mail's subject")
    email: str = Field("", max_length=20_000, description="The e-mail's text")
    sms: str = Field("", max_length=1_600, description="The text message")


class DispatchIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    request_key: str = Field(
        min_length=16, max_length=64, description="The client's own key: a retry with it "
        "answers the dispatch already made"
    )  # fmt: skip
    channels: list[Channel] = Field(min_length=1, max_length=2)
    filter: FilterIn
    texts: dict[Literal["sv", "da", "en"], TextIn] = Field(
        {},
        description="The words per language, with merge fields such as "
        "`{{ person.first_name }}`; a recipient whose language has none gets Swedish "
        "(else the first given). Not used with `message_key`.",
    )
    message_key: str | None = Field(
        None, max_length=64, description="A message template to send instead of `texts`"
    )
    send: bool = Field(False, description="Send now (or at `send_at`); otherwise a draft")
    send_at: Moment | None = Field(None, description="When to send, with its offset")


class StateCounts(BaseModel):
    email: int = 0
    sms: int = 0


class DispatchOut(BaseModel):
    id: int
    title: str
    state: Literal["draft", "scheduled", "queueing", "sent", "cancelled"]
    channels: list[Channel]
    filter: dict[str, object] = Field(description="The filter as stored")
    send_at: dt.datetime | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    resend_of_id: int | None
    counts: dict[
        Literal["waiting", "queued", "sent", "delivered", "failed", "refused", "left_out"],
        StateCounts,
    ] = Field(description="Messages per state and channel (empty for a draft)")


async def _out(dispatch: Dispatch) -> DispatchOut:
    counts = await status.counts(db(), dispatch) if dispatch.state != "draft" else None
    return DispatchOut(
        id=dispatch.id,
        title=dispatch.title,
        state=dispatch.state,
        channels=dispatch.channels,
        filter=dispatch.filters,
        send_at=dispatch.send_at,
        created_at=dispatch.created_at,
        sent_at=dispatch.sent_at,
        resend_of_id=dispatch.resend_of_id,
        counts={
            state: StateCounts(**by_channel)
            for state, by_channel in (counts.by_state.items() if counts else ())
        },
    )


@routes.post("/dispatches")
@tag(["dispatches"])
@problems(422)
@validate_request(DispatchIn)
@validate_response(DispatchOut, 201)
async def api_create_dispatch(data: DispatchIn) -> tuple[DispatchOut, int]:
    """Create a dispatch from a filter; with `send`, send it now or at `send_at`."""
    chosen = RecipientFilter.from_mapping(data.filter.model_dump())
    if data.send:
        # A time that cannot be is refused before anything is written.
        sending.scheduled_time(data.send_at, utcnow())
    draft = sending.DispatchDraft(
        title=data.title.strip(),
        filters=chosen,
        channels=tuple(c for c in ("email", "sms") if c in data.channels),
        message_key=data.message_key,
        texts={locale: text.model_dump() for locale, text in data.texts.items()},
        request_key=data.request_key,
    )
    dispatch = await sending.create_dispatch(db(), api_actor(), draft)
    dispatch_id = dispatch.id
    if data.send:
        await sending.send_dispatch(
            db(), api_actor(), dispatch_id, app_settings().base_url, send_at=data.send_at
        )
    return await _out(await sending.get_dispatch(db(), dispatch_id)), 201


@routes.get("/dispatches/<id:dispatch_id>")
@tag(["dispatches"])
@problems(404)
@validate_response(DispatchOut)
async def api_dispatch(dispatch_id: int) -> DispatchOut:
    """A dispatch and its messages' counts per state and channel."""
    return await _out(await sending.get_dispatch(db(), dispatch_id))
