"""Letters by post to a chosen group of an election's people: their postal addresses
and places, as address labels on A4 sheets and as a mail-merge workbook.

The group is a dispatch's (``app.domain.dispatches.filters``): the election's staff
narrowed by district, station, role, state, shift day, unanswered offers, a course
booking or arrival, or its reserves. People who cannot be written to by post are left
out and counted by reason: an erased person, a person whose address is protected
(skyddad identitet: the address is never printed or exported), and one without a
postal address.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.documents.spreadsheets import write_xlsx_sheets
from app.core.i18n import _
from app.domain.dispatches.filters import RecipientFilter, check_objects, resolve
from app.domain.documents import DocumentError
from app.domain.elections.elections import get_election
from app.domain.models import (
    Assignment,
    Building,
    Election,
    Person,
    RoleType,
    Room,
    Shift,
    Station,
)
from app.domain.registers.protection import PostalAddress, postal_address
from app.domain.staffing.letters import (
    AppointedPlace,
    Appointment,
    appointed_place,
    sorted_by_name,
)

#: Why a person of the group gets no letter by post, in the order the page lists them.
LEFT_OUT_REASONS = ("erased", "protected", "no_address")
#: The groups of an election a letter by post can go to (applicants are written to
#: by e-mail: their address is the register's once they are in it).
GROUPS = ("staff", "reserves")
#: People read at a time (the database's limit on bound values).
_CHUNK = 5_000


@dataclass(frozen=True)
class Recipient(Appointment):
    """A person of the group with their places of the chosen kind (none for a reserve)."""

    @property
    def address_lines(self) -> list[str]:
        """The label's lines: name, street, postcode and town."""
        address = postal_address(self.person)
        return [self.person.full_name, *(address.lines if address else [])]


@dataclass
class Mailing:
    election: Election
    chosen: RecipientFilter
    recipients: list[Recipient]
    left_out: dict[str, int] = field(default_factory=dict)

    @property
    def left_out_total(self) -> int:
        return sum(self.left_out.values())


def clean_group(election_id: int, data: Mapping[str, Any]) -> RecipientFilter:
    """The group from a form's values (the dispatch form's names), for ``election_id``;
    what is not a choice is refused at its field."""
    group = str(data.get("group") or "staff")
    if group not in GROUPS:
        raise DocumentError(_("Choose one of the options."), field="group")
    return RecipientFilter.from_mapping({**data, "group": group, "election_id": election_id})


def left_out_reason(person: Person) -> str | None:
    """Why ``person`` gets no letter by post, or None when they can."""
    if person.erased_at is not None:
        return "erased"
    if person.address_protected:
        return "protected"
    address = postal_address(person)
    if address is None or not (address.street_address and address.postal_code and address.city):
        return "no_address"
    return None


async def _people(session: AsyncSession, ids: Sequence[int]) -> dict[int, Person]:
    found: dict[int, Person] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        found.update(
            (person.id, person)
            for person in await session.scalars(select(Person).where(Person.id.in_(chunk)))
        )
    return found


async def _places(
    session: AsyncSession, chosen: RecipientFilter, people: Mapping[int, Person]
) -> dict[int, list[AppointedPlace]]:
    """The staff's places the filter names (its states, district, station, role and
    day), by person; a reserve has none."""
    places: dict[int, list[AppointedPlace]] = {}
    if chosen.group != "staff" or not people:
        return places
    states = ("offered",) if chosen.unanswered else chosen.states
    statement = (
        select(Assignment.person_id, Station, Shift, RoleType, Building)
        .join(Station, Station.id == Assignment.station_id)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(RoleType, RoleType.id == Assignment.role_type_id)
        .outerjoin(Room, Room.id == Station.room_id)
        .outerjoin(Building, Building.id == Room.building_id)
        .where(Assignment.election_id == chosen.election_id, Assignment.state.in_(states))
        .order_by(Assignment.person_id, Shift.day, Shift.starts_at, Station.name)
    )
    if chosen.district_id is not None:
        statement = statement.where(Station.district_id == chosen.district_id)
    if chosen.station_id is not None:
        statement = statement.where(Assignment.station_id == chosen.station_id)
    if chosen.role_type_id is not None:
        statement = statement.where(Assignment.role_type_id == chosen.role_type_id)
    if chosen.day is not None:
        statement = statement.where(Shift.day == chosen.day)
    ids = sorted(people)
    for start in range(0, len(ids), _CHUNK):
        chunk = statement.where(Assignment.person_id.in_(ids[start : start + _CHUNK]))
        for person_id, station, shift, role, building in await session.execute(chunk):
            place = appointed_place(people[person_id], station, shift, role, building)
            places.setdefault(person_id, []).append(place)
    return places


async def mailing(session: AsyncSession, chosen: RecipientFilter) -> Mailing:
    """The people of the group who can be written to by post, by name in the reader's
    alphabet, each with their places the filter names; the others counted by reason."""
    assert chosen.election_id is not None and chosen.group in GROUPS
    election = await get_election(session, chosen.election_id)
    await check_objects(session, chosen)
    candidates = await resolve(session, chosen)
    people = await _people(session, [c.person_id for c in candidates if c.person_id])
    left_out: dict[str, int] = dict.fromkeys(LEFT_OUT_REASONS, 0)
    reachable: dict[int, Person] = {}
    for person in people.values():
        reason = left_out_reason(person)
        if reason is None:
            reachable[person.id] = person
        else:
            left_out[reason] += 1
    places = await _places(session, chosen, reachable)
    recipients = [Recipient(person, places.get(person.id, [])) for person in reachable.values()]
    return Mailing(election, chosen, sorted_by_name(recipients), left_out)


async def print_labels(session: AsyncSession, actor: Actor, chosen: RecipientFilter) -> Mailing:
    """The group's address labels to print, the printing audited with its counts (the
    entry names no one: a label holds a name and an address)."""
    found = await mailing(session, chosen)
    await _audit(session, actor, "staffing.labels.printed", found)
    return found


async def export_mail_merge(
    session: AsyncSession, actor: Actor, chosen: RecipientFilter
) -> Mailing:
    """The group's mail-merge rows to export, the export audited with its counts."""
    found = await mailing(session, chosen)
    await _audit(session, actor, "staffing.mail_merge.exported", found)
    return found


async def _audit(session: AsyncSession, actor: Actor, code: str, found: Mailing) -> None:
    """The entry names the group and the counts, no one in it."""
    data: dict[str, object] = {
        "count": len(found.recipients),
        "left_out": {k: v for k, v in found.left_out.items() if v},
        "group": found.chosen.as_dict(),
    }
    await record(session, actor, code, found.election, data=data)
    await session.commit()


def mail_merge_columns() -> list[str]:
    return [
        _("First name"),
        _("Last name"),
        _("Name"),
        _("Address"),
        _("Postcode"),
        _("Town"),
        _("Language"),
        _("Email"),
        _("Role"),
        _("Station"),
        _("Station address"),
        _("Day"),
        _("Starts"),
        _("Ends"),
        _("All places"),
    ]


def write_mail_merge_xlsx(found: Mailing) -> bytes:
    """One row per recipient: name, postal address, language and e-mail, then their
    first place (role, station and its address, day, start and end) and all their
    places as one text, for letters written in a word processor's mail merge."""
    rows = []
    for recipient in found.recipients:
        person = recipient.person
        address = postal_address(person) or PostalAddress("", "", "")
        row: list[Any] = [
            person.first_name,
            person.last_name,
            person.full_name,
            address.street_address,
            address.postal_code,
            address.city,
            person.preferred_language,
            person.email or "",
        ]
        if recipient.places:
            first = recipient.places[0]
            row += [first.role, first.station, first.address, first.day]
            row += [f"{first.starts_at:%H:%M}", f"{first.ends_at:%H:%M}"]
        else:
            row += ["", "", "", None, "", ""]  # a reserve: no place yet
        row.append("; ".join(_place_line(place) for place in recipient.places))
        rows.append(row)
    return write_xlsx_sheets([(_("Mail merge"), mail_merge_columns(), rows)])


def _place_line(place: AppointedPlace) -> str:
    return (
        f"{place.role}, {place.station}, {place.day.isoformat()} "
        f"{place.starts_at:%H:%M}–{place.ends_at:%H:%M}"
    )
