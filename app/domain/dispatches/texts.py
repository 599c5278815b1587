"""A dispatch's words: what the office wrote per language, or a message template, checked
when the dispatch is saved and rendered per recipient in their language.

Each (channel, language) is compiled once per dispatch and rendered for every
recipient with the merge fields (``app.domain.messaging.fields``), which are built for
the whole list at once (``fields_for_rows``): a 15,000-person dispatch reads a few
hundred stations and shifts, not 15,000 people one by one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.i18n import _, locale_scope, named
from app.core.models import Tenant
from app.core.tenancy import require_tenant_id
from app.domain.dispatches import DispatchError
from app.domain.messaging import MessagingError
from app.domain.messaging.catalog import LOCALES
from app.domain.messaging.editing import all_kinds, kind_of
from app.domain.messaging.fields import (
    address_of,
    day_text,
    field_names,
    fields_for,
    map_link,
    nest,
)
from app.domain.messaging.render import check_source, frame_html, only_printed, render_source
from app.domain.messaging.sources import current_source
from app.domain.models import Building, Dispatch, Election, RoleType, Room, Shift, Station
from app.domain.site.webparts import site_settings
from app.domain.staffing.offer_terms import fee_text

#: The merge-field groups a dispatch offers: the common ones, the election and the place
#: (empty for someone with no place, such as a reserve or an applicant).
GROUPS = ("election", "place")
ALLOWED = field_names(GROUPS)
#: The longest text the office may write for one channel.
MAX_EMAIL = 20_000
MAX_SMS = 1_600
MAX_SUBJECT = 200


async def template_choices(session: AsyncSession) -> list[tuple[str, str]]:
    """The message templates a dispatch may send: the office's own and the system's
    whose fields a dispatch can fill (no offer link, no sign-in code)."""
    return [
        (kind.key, kind.title)
        for kind in await all_kinds(session)
        if set(kind.fields) <= set(GROUPS)
    ]


def clean_texts(
    raw: Mapping[str, Mapping[str, Any]], channels: Iterable[str]
) -> dict[str, dict[str, str]]:
    """The written texts by language, checked: each chosen channel has a text in at
    least one language, an e-mail has a subject, and every text names known fields
    only (the refusal names the field and the line)."""
    texts: dict[str, dict[str, str]] = {}
    for locale in LOCALES:
        given = raw.get(locale) or {}
        entry = {
            "subject": str(given.get("subject") or "").strip(),
            "email": str(given.get("email") or "").strip(),
            "sms": str(given.get("sms") or "").strip(),
        }
        for name, limit in (("subject", MAX_SUBJECT), ("email", MAX_EMAIL), ("sms", MAX_SMS)):
            field = f"{name}_{locale}"
            if len(entry[name]) > limit:
                raise DispatchError(_("At most %(count)s characters.", count=limit), field)
            if entry[name]:
                try:
                    check_source(entry[name], ALLOWED, field)
                except MessagingError as error:
                    raise DispatchError(error.message, field) from None
        if entry["email"] and not entry["subject"]:
            raise DispatchError(_("Write the e-mail's subject."), f"subject_{locale}")
        if any(entry.values()):
            texts[locale] = entry
    for channel in channels:
        if not any(entry[channel] for entry in texts.values()):
            field = f"{channel}_sv"
            if channel == "email":
                raise DispatchError(_("Write the e-mail, at least in one language."), field)
            raise DispatchError(_("Write the text message, at least in one language."), field)
    return texts


async def check_message_key(session: AsyncSession, key: str, channels: Iterable[str]) -> None:
    """Refuse a template this municipality does not have, or one that a dispatch cannot
    fill or send on the chosen channels."""
    try:
        kind = await kind_of(session, key)
    except NotFound:
        raise DispatchError(_("Choose from the list."), "message_key") from None
    if not set(kind.fields) <= set(GROUPS) or any(c not in kind.channels for c in channels):
        raise DispatchError(_("This template cannot be sent on this channel."), "message_key")


@dataclass(frozen=True)
class Source:
    subject: str | None
    body: str

    @property
    def person_only_printed(self) -> bool:
        """The person's fields are only printed (see ``render.only_printed``)."""
        return all(only_printed(text, "person.") for text in (self.subject or "", self.body))


#: What stands for the person's fields in a text rendered once for many: NUL is in no
#: name (the database and the forms refuse it), so a mark cannot meet a real value.
FIRST_NAME_MARK = "\x00first_name\x00"
NAME_MARK = "\x00name\x00"
_MARKED_PERSON = {"first_name": FIRST_NAME_MARK, "name": NAME_MARK}


class Texts:
    """The compiled texts of one dispatch, by (channel, language); ``render`` picks the
    recipient's language, else Swedish, else the first the office wrote."""

    def __init__(self, sources: dict[tuple[str, str], Source]) -> None:
        self.sources = sources
        self._plain = {place: source.person_only_printed for place, source in sources.items()}
        self._marked: dict[tuple[str, str, object], tuple[str, str | None]] = {}

    @classmethod
    async def of(cls, session: AsyncSession, dispatch: Dispatch) -> Texts:
        sources: dict[tuple[str, str], Source] = {}
        for channel in dispatch.channels:
            for locale in LOCALES:
                source = await _source(session, dispatch, channel, locale)
                if source is None:
                    continue
                subject, body = source
                sources[channel, locale] = Source(subject if channel == "email" else None, body)
        return cls(sources)

    def language(self, channel: str, locale: str) -> str | None:
        for candidate in (locale, "sv", *LOCALES):
            if (channel, candidate) in self.sources:
                return candidate
        return None

    def render(self, channel: str, locale: str, fields: dict[str, Any]) -> tuple[str, str, str]:
        """(subject, text, html) of one message; html only for e-mail."""
        language = self.language(channel, locale)
        if language is None:
            raise DispatchError(_("The dispatch has no text for this channel."), channel)
        source = self.sources[channel, language]
        try:
            text = render_source(source.body, fields, channel)
            if source.subject is None:
                return "", text.strip(), ""
            subject = " ".join(render_source(source.subject, fields, "subject").split())
        except MessagingError as error:
            raise DispatchError(error.message, error.field) from None
        return subject, text, frame_html(subject, text, language, fields)

    def render_shared(
        self,
        channel: str,
        locale: str,
        shared_key: object,
        shared: dict[str, Any],
        first_name: str,
        name: str,
    ) -> tuple[str, str, str]:
        """``render`` for one of many who share ``shared`` (their fields but the
        person's, ``FieldMaker.shared``): the text is rendered once per ``shared_key``
        with marks for the person's fields, and each person's values are put in its
        place; the very text ``render`` makes, at a fraction of its cost. A text that
        tests or filters the person's fields is rendered for each person."""
        language = self.language(channel, locale)
        if language is None or not self._plain[channel, language]:
            person = {"first_name": first_name, "name": name}
            return self.render(channel, locale, {**shared, "person": person})
        place = (channel, language, shared_key)
        marked = self._marked.get(place)
        if marked is None:
            source = self.sources[channel, language]
            fields = {**shared, "person": _MARKED_PERSON}
            try:
                body = render_source(source.body, fields, channel)
                subject = (
                    None
                    if source.subject is None
                    else render_source(source.subject, fields, "subject")
                )
            except MessagingError as error:
                raise DispatchError(error.message, error.field) from None
            marked = self._marked[place] = (body, subject)
        body, subject = marked
        text = body.replace(FIRST_NAME_MARK, first_name).replace(NAME_MARK, name)
        if subject is None:
            return "", text.strip(), ""
        subject = " ".join(
            subject.replace(FIRST_NAME_MARK, first_name).replace(NAME_MARK, name).split()
        )
        return subject, text, frame_html(subject, text, language, shared)


async def _source(
    session: AsyncSession, dispatch: Dispatch, channel: str, locale: str
) -> tuple[str, str] | None:
    if dispatch.message_key:
        subject, body = await current_source(session, dispatch.message_key, channel, locale)
        # An own template with no text in this language: the recipient gets another.
        return (subject, body) if body.strip() else None
    entry = dispatch.texts.get(locale) or {}
    if not entry.get(channel):
        return None
    return entry.get("subject", ""), entry[channel]


@dataclass(frozen=True)
class FieldRow:
    """What one recipient's merge fields are made of (a row of the frozen list)."""

    name: str
    first_name: str
    locale: str
    station_id: int | None = None
    shift_id: int | None = None
    role_type_id: int | None = None


class FieldMaker:
    """Builds recipients' merge fields in their languages from a few lookups shared by
    all: the municipality, the election, and the stations, shifts and roles named."""

    def __init__(self, common: dict[str, str], election: Election | None) -> None:
        self.common = common
        self.election = election
        self.stations: dict[int, Station] = {}
        self.buildings: dict[int, Building] = {}
        self.rooms: dict[int, Room] = {}
        self.shifts: dict[int, Shift] = {}
        self.roles: dict[int, RoleType] = {}
        self._place_cache: dict[tuple[int | None, int | None, int | None, str], dict[str, str]] = {}
        self._election_cache: dict[str, dict[str, str]] = {}
        self._shared: dict[tuple[int | None, int | None, int | None, str], dict[str, Any]] = {}

    @classmethod
    async def of(cls, session: AsyncSession, dispatch: Dispatch, base_url: str) -> FieldMaker:
        tenant = await session.get(Tenant, require_tenant_id())
        settings = await site_settings(session)
        assert tenant is not None
        common = {
            "municipality.name": tenant.name,
            "contact.email": settings.office_email or "",
            "contact.phone": settings.office_phone or "",
            "portal_link": f"{base_url}/{tenant.slug}/portal" if base_url else "",
            # Not a field to write: the HTML mail's frame shows it.
            "municipality.logo": f"{base_url}/{tenant.slug}/logo"
            if base_url and settings.logo
            else "",
        }
        election = (
            await session.get(Election, dispatch.election_id) if dispatch.election_id else None
        )
        return cls(common, election)

    async def load(self, session: AsyncSession, rows: Iterable[FieldRow]) -> None:
        """Read the stations, shifts and roles the rows name that are not read yet."""
        rows = list(rows)
        station_ids = {r.station_id for r in rows if r.station_id} - set(self.stations)
        if station_ids:
            stations = await session.scalars(select(Station).where(Station.id.in_(station_ids)))
            self.stations.update({station.id: station for station in stations})
        shift_ids = {r.shift_id for r in rows if r.shift_id} - set(self.shifts)
        if shift_ids:
            shifts = await session.scalars(select(Shift).where(Shift.id.in_(shift_ids)))
            self.shifts.update({shift.id: shift for shift in shifts})
        role_ids = {r.role_type_id for r in rows if r.role_type_id} - set(self.roles)
        if role_ids:
            roles = await session.scalars(select(RoleType).where(RoleType.id.in_(role_ids)))
            self.roles.update({role.id: role for role in roles})
        room_ids = {s.room_id for s in self.stations.values() if s.room_id} - set(self.rooms)
        if room_ids:
            rooms = await session.scalars(select(Room).where(Room.id.in_(room_ids)))
            self.rooms.update({room.id: room for room in rooms})
        building_ids = {r.building_id for r in self.rooms.values()} - set(self.buildings)
        if building_ids:
            found = await session.scalars(select(Building).where(Building.id.in_(building_ids)))
            self.buildings.update({b.id: b for b in found})

    def _place(self, row: FieldRow) -> dict[str, str]:
        key = (row.station_id, row.shift_id, row.role_type_id, row.locale)
        cached = self._place_cache.get(key)
        if cached is not None:
            return cached
        station = self.stations.get(row.station_id) if row.station_id else None
        shift = self.shifts.get(row.shift_id) if row.shift_id else None
        role = self.roles.get(row.role_type_id) if row.role_type_id else None
        room = self.rooms.get(station.room_id) if station and station.room_id else None
        building = self.buildings.get(room.building_id) if room else None
        place = {
            "role.name": named(role, row.locale) if role else "",
            "station.name": station.name if station else "",
            "room.name": room.name if room else "",
            "address": address_of(building),
            "map_link": map_link(building),
            "shift.day": day_text(shift.day) if shift else "",
            "shift.starts": shift.starts_at.strftime("%H:%M") if shift else "",
            "shift.ends": shift.ends_at.strftime("%H:%M") if shift else "",
            "pay": fee_text(role.pay_amount, role.pay_unit) if role else "",
        }
        self._place_cache[key] = place
        return place

    def _election(self, locale: str) -> dict[str, str]:
        cached = self._election_cache.get(locale)
        if cached is None:
            election = self.election
            cached = {
                "election.name": election.name if election else "",
                "election.day": day_text(election.election_day) if election else "",
            }
            self._election_cache[locale] = cached
        return cached

    def shared(self, row: FieldRow) -> tuple[object, dict[str, Any]]:
        """The fields a station's recipients share in one language (all but the
        person's), made once and shared read only, with the key they are kept under."""
        key = (row.station_id, row.shift_id, row.role_type_id, row.locale)
        shared = self._shared.get(key)
        if shared is None:
            with locale_scope(row.locale):
                shared = nest({**self.common, **self._election(row.locale), **self._place(row)})
            self._shared[key] = shared
        return key, shared

    def fields(self, row: FieldRow) -> dict[str, Any]:
        """The nested merge fields of one recipient, every field of ``ALLOWED`` present."""
        _key, shared = self.shared(row)
        return {**shared, "person": {"first_name": row.first_name, "name": row.name}}


def example_fields() -> dict[str, Any]:
    """Every field a dispatch offers, with its example value (the preview with nobody)."""
    return nest({field.name: field.example for field in fields_for(GROUPS)})
