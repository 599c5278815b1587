"""Letters by post to a chosen group of an election's staff: the people, their postal
addresses and places, as address labels on A4 sheets and as a mail-merge workbook.

The group is the staffing selection: an election, optionally one district, and the
states of the places (accepted by default). People who cannot be written to by post are
left out and counted by reason: an erased person, a person whose address is protected
(skyddad identitet: the address is never printed or exported), and one without a
postal address.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.documents.spreadsheets import write_xlsx_sheets
from app.core.errors import NotFound
from app.core.i18n import _
from app.domain.documents import DocumentError
from app.domain.elections.elections import get_election
from app.domain.models import (
    ASSIGNMENT_STATES,
    Assignment,
    Building,
    District,
    Election,
    Person,
    RoleType,
    Room,
    Shift,
    Station,
)
from app.domain.staffing.letters import (
    AppointedPlace,
    Appointment,
    appointed_place,
    sorted_by_name,
)

#: Why a person of the group gets no letter by post, in the order the page lists them.
LEFT_OUT_REASONS = ("erased", "protected", "no_address")


@dataclass(frozen=True)
class MailingGroup:
    """Who a mailing goes to: the people with a place of one of ``states`` in the
    election (at a station of ``district_id`` when given)."""

    election_id: int
    district_id: int | None = None
    states: tuple[str, ...] = ("accepted",)


@dataclass(frozen=True)
class Recipient(Appointment):
    """A person of the group with their places of the chosen states."""

    @property
    def address_lines(self) -> list[str]:
        """The label's lines: name, street, postcode and town."""
        person = self.person
        lines = [person.full_name, person.street_address]
        lines.append(f"{person.postal_code} {person.city}".strip())
        return [line.strip() for line in lines if line.strip()]


@dataclass
class Mailing:
    election: Election
    district: District | None
    recipients: list[Recipient]
    left_out: dict[str, int] = field(default_factory=dict)

    @property
    def left_out_total(self) -> int:
        return sum(self.left_out.values())


def clean_group(election_id: int, district: str | None, states: Sequence[str]) -> MailingGroup:
    """The group from a form's values; an unknown state is refused at its field."""
    chosen = tuple(state for state in ASSIGNMENT_STATES if state in set(states))
    if not states:
        chosen = ("accepted",)
    elif len(chosen) != len(set(states)):
        raise DocumentError(_("Choose one of the options."), field="state")
    district_id = None
    if district:
        if not district.isdigit() or len(district) > 12:
            raise DocumentError(_("Choose one of the options."), field="district")
        district_id = int(district)
    return MailingGroup(election_id, district_id, chosen)


def left_out_reason(person: Person) -> str | None:
    """Why ``person`` gets no letter by post, or None when they can."""
    if person.erased_at is not None:
        return "erased"
    if person.address_protected:
        return "protected"
    if not person.street_address.strip() or not (
        person.postal_code.strip() and person.city.strip()
    ):
        return "no_address"
    return None


async def mailing(session: AsyncSession, group: MailingGroup) -> Mailing:
    """The people of ``group`` who can be written to by post, by name in the reader's
    alphabet, each with their places of the chosen states; the others counted by
    reason."""
    election = await get_election(session, group.election_id)
    district = None
    if group.district_id is not None:
        district = await session.scalar(
            select(District).where(
                District.id == group.district_id, District.election_id == election.id
            )
        )
        if district is None:
            raise NotFound(_("Not found."))
    statement = (
        select(Person, Station, Shift, RoleType, Building)
        .select_from(Assignment)
        .join(Person, Person.id == Assignment.person_id)
        .join(Station, Station.id == Assignment.station_id)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(RoleType, RoleType.id == Assignment.role_type_id)
        .outerjoin(Room, Room.id == Station.room_id)
        .outerjoin(Building, Building.id == Room.building_id)
        .where(Assignment.election_id == election.id, Assignment.state.in_(group.states))
        .order_by(Person.id, Shift.day, Shift.starts_at, Station.name)
    )
    if district is not None:
        statement = statement.where(Station.district_id == district.id)
    recipients: dict[int, Recipient] = {}
    left_out: dict[str, int] = dict.fromkeys(LEFT_OUT_REASONS, 0)
    skipped: set[int] = set()
    for person, station, shift, role, building in await session.execute(statement):
        if person.id in skipped:
            continue
        reason = left_out_reason(person)
        if reason is not None:
            skipped.add(person.id)
            left_out[reason] += 1
            continue
        recipient = recipients.setdefault(person.id, Recipient(person, []))
        recipient.places.append(appointed_place(person, station, shift, role, building))
    return Mailing(election, district, sorted_by_name(list(recipients.values())), left_out)


async def print_labels(session: AsyncSession, actor: Actor, group: MailingGroup) -> Mailing:
    """The group's address labels to print, the printing audited with its counts (the
    entry names no one: a label holds a name and an address)."""
    found = await mailing(session, group)
    await _audit(session, actor, "staffing.labels.printed", found, group)
    return found


async def export_mail_merge(session: AsyncSession, actor: Actor, group: MailingGroup) -> Mailing:
    """The group's mail-merge rows to export, the export audited with its counts."""
    found = await mailing(session, group)
    await _audit(session, actor, "staffing.mail_merge.exported", found, group)
    return found


async def _audit(
    session: AsyncSession, actor: Actor, code: str, found: Mailing, group: MailingGroup
) -> None:
    data: dict[str, object] = {
        "count": len(found.recipients),
        "left_out": {k: v for k, v in found.left_out.items() if v},
        "states": list(group.states),
    }
    if group.district_id is not None:
        data["district"] = group.district_id
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
        person, first = recipient.person, recipient.places[0]
        rows.append(
            [
                person.first_name,
                person.last_name,
                person.full_name,
                person.street_address,
                person.postal_code,
                person.city,
                person.preferred_language,
                person.email or "",
                first.role,
                first.station,
                first.address,
                first.day,
                f"{first.starts_at:%H:%M}",
                f"{first.ends_at:%H:%M}",
                "; ".join(_place_line(place) for place in recipient.places),
            ]
        )
    return write_xlsx_sheets([(_("Mail merge"), mail_merge_columns(), rows)])


def _place_line(place: AppointedPlace) -> str:
    return (
        f"{place.role}, {place.station}, {place.day.isoformat()} "
        f"{place.starts_at:%H:%M}–{place.ends_at:%H:%M}"
    )
