"""Message templates over the JSON API, read only: every message the municipality
sends (the system's and its own) with the state of each channel and language, and
the text of one, as it is sent now (the office's newest version, else the default)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field
from quart_schema import tag, validate_response

from app.core.errors import NotFound
from app.core.i18n import _
from app.core.routes import Routes
from app.core.web import db
from app.domain.messaging import editing
from app.domain.messaging.catalog import CHANNELS, LOCALES
from app.domain.messaging.fields import fields_for

routes = Routes()

Channel = Literal["email", "sms"]
Language = Literal["sv", "da", "en"]
TextStateName = Literal["default", "edited", "missing"]


class FieldOut(BaseModel):
    name: str = Field(description="Written `{{ name }}` in a text, e.g. `person.first_name`")
    description: str
    example: str


class TextStateOut(BaseModel):
    channel: Channel
    locale: Language
    state: TextStateName = Field(
        description="default: the built-in text is sent; edited: the office's own text "
        "(`version`) is sent; missing: an own template with no text in this language"
    )
    version: int | None = Field(description="The number of the office's newest version")
    saved_at: dt.datetime | None
    saved_by: str | None


class TemplateOut(BaseModel):
    key: str = Field(description="The message's key; an own template's starts with `own_`")
    title: str
    own: bool = Field(description="Made by the office for dispatches")
    channels: list[Channel]
    texts: list[TextStateOut]


class TemplateList(BaseModel):
    items: list[TemplateOut]


class TemplateText(TextStateOut):
    key: str
    subject: str = Field(description="The e-mail's subject as a template; empty for SMS")
    body: str = Field(description="The text as a template, with `{{ field }}` merge fields")
    fields: list[FieldOut] = Field(description="The merge fields this message offers")


def _state(state: editing.TextState) -> TextStateOut:
    latest = state.latest if state.edited else None
    name: TextStateName = "edited" if state.edited else "missing" if state.missing else "default"
    return TextStateOut(
        channel=state.channel,
        locale=state.locale,
        state=name,
        version=latest.number if latest else None,
        saved_at=latest.created_at if latest else None,
        saved_by=latest.created_by_label if latest else None,
    )


@routes.get("/message-templates")
@tag(["messaging"])
@validate_response(TemplateList)
async def api_message_templates() -> TemplateList:
    """The system's messages in the catalogue's order, then the office's own by name."""
    return TemplateList(
        items=[
            TemplateOut(
                key=kind.key,
                title=kind.title,
                own=kind.is_own,
                channels=list(kind.channels),
                texts=[_state(state) for state in states],
            )
            for kind, states in await editing.overview(db())
        ]
    )


@routes.get("/message-templates/<key>/<channel>/<locale>")
@tag(["messaging"])
@validate_response(TemplateText)
async def api_message_template(key: str, channel: str, locale: str) -> TemplateText:
    """One text of a message as it is sent now: the office's newest version, else the
    default. A key, channel or language the message does not have answers 404."""
    if channel not in CHANNELS or locale not in LOCALES or len(key) > 64:
        raise NotFound(_("Not found."))
    kind = await editing.kind_of(db(), key)
    state = await editing.text_state(db(), kind, channel, locale)
    text = await editing.current_text(db(), kind, channel, locale)
    return TemplateText(
        **_state(state).model_dump(),
        key=key,
        subject=text["subject"],
        body=text["body"],
        fields=[
            FieldOut(name=field.name, description=str(field.description), example=field.example)
            for field in fields_for(kind.fields)
        ],
    )
