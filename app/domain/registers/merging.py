"""Merging two records of one person: the office chooses the record that stays and,
field by field, the value it keeps; everything the other record has moves to it.

Every table with a foreign key to ``people`` is handled here (``HANDLED_PERSON_TABLES``,
and a test fails when a new one is not). Rows move to the survivor; a row the survivor
already has its twin of (the same day's availability, the same reserve place, the same
reminder sent) is dropped as the duplicate it is. What would leave the person in two
places at once is a conflict: both holding a place on the same day, both booked on the
same course, both settled for the same shift, two different identity numbers or two
portal accounts. Conflicts are listed before the merge and refuse it; the office
resolves them first (cancels one booking, moves one place) and merges then.

The merged-away row is deleted; a ``PersonMerge`` keeps its id as a tombstone, so an
old link to it leads to the survivor. The audit entry names fields and counts, never
values; earlier entries about the old id stay as they were written, and the survivor's history
in the audit log finds them through ``former_ids``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.core.audit import Actor, record
from app.core.audit_search import AuditFilter
from app.core.errors import DomainError, NotFound
from app.core.i18n import _, lazy_gettext
from app.domain.labels import LANGUAGE, PERSON_STATUS
from app.domain.models import (
    ACTIVE_BOOKING_STATES,
    HOLDING_STATES,
    Application,
    Assignment,
    AutostaffRun,
    Availability,
    Candidate,
    CheckIn,
    Course,
    CourseBooking,
    DispatchRecipient,
    DistrictPreference,
    Election,
    IncomingSms,
    MaterialDelivery,
    MaterialHandout,
    PayAdjustment,
    PayEntry,
    PaySettlement,
    Person,
    PersonExclusion,
    PersonMerge,
    Qualification,
    ReminderSent,
    Reserve,
    SessionTeacher,
    Shift,
    UndertakingSignature,
)
from app.domain.registers.identity import format_phone, mask_national_id
from app.domain.registers.people import search_names

#: Every table with a foreign key to ``people``, and what a merge does with its rows.
HANDLED_PERSON_TABLES = {
    "applications": "moved",
    "availabilities": "moved; a day the survivor has already is dropped",
    "district_preferences": "moved; a district the survivor has already is dropped",
    "incoming_sms": "moved",
    "pay_adjustments": "moved",
    "pay_entries": "moved",
    "pay_settlements": "moved; both settled for one shift is a conflict",
    "person_exclusions": "moved",
    "person_merges": "moved (older tombstones lead to the survivor)",
    "reminders_sent": "moved; a reminder the survivor was sent already is dropped",
    "undertaking_signatures": "moved",
    "candidates": "moved (with dismissed matches)",
    "reserves": "moved; a reserve place in the same election is dropped",
    "course_bookings": "moved; both booked on one course is a conflict",
    "material_deliveries": "moved (the lead who confirmed)",
    "session_teachers": "moved; teaching the same session twice is dropped",
    "assignments": "moved; both holding a place on one day is a conflict",
    "material_handouts": "moved",
    "qualifications": "moved",
    "check_ins": "moved",
    "dispatch_recipients": "moved",
}

#: What the merge page calls the rows of each table that move.
TABLE_LABELS = {
    "applications": lazy_gettext("Applications"),
    "availabilities": lazy_gettext("Days available"),
    "district_preferences": lazy_gettext("Districts wished for"),
    "incoming_sms": lazy_gettext("Text messages received"),
    "pay_adjustments": lazy_gettext("Pay adjustments"),
    "pay_entries": lazy_gettext("Pay entries"),
    "pay_settlements": lazy_gettext("Pay settlements"),
    "person_exclusions": lazy_gettext("Exclusions"),
    "person_merges": lazy_gettext("Records merged into it before"),
    "reminders_sent": lazy_gettext("Reminders sent"),
    "undertaking_signatures": lazy_gettext("Confidentiality undertakings signed"),
    "candidates": lazy_gettext("Candidate matches"),
    "reserves": lazy_gettext("Reserve places"),
    "course_bookings": lazy_gettext("Course bookings"),
    "material_deliveries": lazy_gettext("Deliveries confirmed"),
    "session_teachers": lazy_gettext("Course sessions taught"),
    "assignments": lazy_gettext("Places in elections"),
    "material_handouts": lazy_gettext("Equipment handed out"),
    "qualifications": lazy_gettext("Qualifications"),
    "check_ins": lazy_gettext("Check-ins"),
    "dispatch_recipients": lazy_gettext("Messages sent to them"),
}

#: (model, person column, columns that make a row the twin of a survivor's row).
_MOVES: tuple[tuple[Any, str, tuple[str, ...]], ...] = (
    (Application, "person_id", ()),
    (Availability, "person_id", ("election_id", "day", "work_kind")),
    (DistrictPreference, "person_id", ("district_id",)),
    (IncomingSms, "person_id", ()),
    (PayAdjustment, "person_id", ()),
    (PayEntry, "person_id", ()),
    (PaySettlement, "person_id", ()),
    (PersonExclusion, "person_id", ()),
    (PersonMerge, "survivor_id", ()),
    (ReminderSent, "person_id", ("election_id", "occasion", "ref")),
    (UndertakingSignature, "person_id", ()),
    (Candidate, "person_id", ()),
    (Reserve, "person_id", ("election_id",)),
    (CourseBooking, "person_id", ()),
    (MaterialDelivery, "delivered_by_person_id", ()),
    (SessionTeacher, "person_id", ("session_id",)),
    (Assignment, "person_id", ()),
    (MaterialHandout, "person_id", ()),
    (Qualification, "person_id", ()),
    (CheckIn, "person_id", ()),
    (DispatchRecipient, "person_id", ()),
)

#: The fields the office chooses between, each with the columns that go with it.
FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "first_name": ("first_name",),
    "last_name": ("last_name",),
    "identity": ("national_id_country", "national_id", "birth_date"),
    "email": ("email",),
    "mobile": ("mobile",),
    "address": ("street_address", "postal_code", "city", "latitude", "longitude"),
    "preferred_language": ("preferred_language",),
    "status": ("status",),
    "bank_account": ("bank_account_encrypted",),
}
FIELD_LABELS = {
    "first_name": lazy_gettext("First name"),
    "last_name": lazy_gettext("Last name"),
    "identity": lazy_gettext("Identity number and birth date"),
    "email": lazy_gettext("Email"),
    "mobile": lazy_gettext("Mobile"),
    "address": lazy_gettext("Address"),
    "preferred_language": lazy_gettext("Language for messages"),
    "status": lazy_gettext("Status"),
    "bank_account": lazy_gettext("Bank account"),
}
#: Columns whose value another person may not share: cleared on the merged-away row
#: before the survivor takes it.
_UNIQUE = ("national_id", "email", "user_id", "calendar_token_hash")
KEEP = ("survivor", "merged")


class MergeError(DomainError):
    """Two records cannot be merged as asked."""


@dataclass(frozen=True)
class MergeField:
    name: str
    label: str
    survivor: str
    merged: str
    #: Which record's value is kept unless the office chooses otherwise.
    default: str

    @property
    def differs(self) -> bool:
        return self.survivor != self.merged


@dataclass
class MergePlan:
    survivor: Person
    merged: Person
    fields: list[MergeField] = field(default_factory=list)
    #: Why the two cannot be merged now, in the office's words.
    conflicts: list[str] = field(default_factory=list)
    #: Rows of the merged-away record that move, by table.
    moving: dict[str, int] = field(default_factory=dict)

    @property
    def differences(self) -> list[MergeField]:
        return [f for f in self.fields if f.differs]


def _shown(person: Person, name: str) -> str:
    """A field's value as the comparison shows it: masked where the register masks."""
    if name == "identity":
        masked = mask_national_id(person.national_id_country, person.national_id)
        born = person.birth_date.isoformat() if person.birth_date else ""
        return " · ".join(part for part in (masked, born) if part)
    if name == "mobile":
        return format_phone(person.mobile) if person.mobile else ""
    if name == "address":
        return ", ".join(
            part for part in (person.street_address, person.postal_code, person.city) if part
        )
    if name == "preferred_language":
        return str(LANGUAGE.get(person.preferred_language, person.preferred_language))
    if name == "status":
        return str(PERSON_STATUS.get(person.status, person.status))
    if name == "bank_account":
        return str(_("Given")) if person.bank_account_encrypted else ""
    return str(getattr(person, name) or "")


def _raw(person: Person, name: str) -> tuple[Any, ...]:
    return tuple(getattr(person, column) for column in FIELD_GROUPS[name])


def compare(survivor: Person, merged: Person) -> list[MergeField]:
    fields = []
    for name in FIELD_GROUPS:
        empty = not any(value not in (None, "") for value in _raw(survivor, name))
        default = "merged" if empty and _shown(merged, name) else "survivor"
        fields.append(
            MergeField(
                name, str(FIELD_LABELS[name]), _shown(survivor, name), _shown(merged, name), default
            )
        )
    return fields


async def _live_person(session: AsyncSession, person_id: int) -> Person:
    person = await session.scalar(select(Person).where(Person.id == person_id))
    if person is None or person.erased_at is not None:
        raise NotFound(_("Not found."))
    return person


async def _day_conflicts(session: AsyncSession, survivor_id: int, merged_id: int) -> list[str]:
    holding = (
        select(Assignment.person_id, Shift.day, Election.name)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(Election, Election.id == Assignment.election_id)
        .where(Assignment.state.in_(HOLDING_STATES))
    )
    days: dict[int, dict[Any, str]] = {survivor_id: {}, merged_id: {}}
    for person_id, day, election in await session.execute(
        holding.where(Assignment.person_id.in_((survivor_id, merged_id)))
    ):
        days[person_id][day] = election
    both = sorted(set(days[survivor_id]) & set(days[merged_id]))
    return [
        _(
            "Both records hold a place on %(day)s (%(election)s): take one of them off first.",
            day=day.isoformat(),
            election=days[survivor_id][day],
        )
        for day in both
    ]


async def _booking_conflicts(session: AsyncSession, survivor_id: int, merged_id: int) -> list[str]:
    rows = await session.execute(
        select(CourseBooking.person_id, Course.name)
        .join(Course, Course.id == CourseBooking.course_id)
        .where(
            CourseBooking.person_id.in_((survivor_id, merged_id)),
            CourseBooking.state.in_(ACTIVE_BOOKING_STATES),
        )
    )
    courses: dict[int, set[str]] = {survivor_id: set(), merged_id: set()}
    for person_id, name in rows:
        courses[person_id].add(name)
    return [
        _("Both records are booked on the course %(course)s: cancel one booking first.", course=c)
        for c in sorted(courses[survivor_id] & courses[merged_id])
    ]


async def _settlement_conflicts(
    session: AsyncSession, survivor_id: int, merged_id: int
) -> list[str]:
    twin = aliased(PaySettlement)
    both = await session.scalar(
        select(func.count(PaySettlement.id))
        .join(twin, twin.shift_id == PaySettlement.shift_id)
        .where(PaySettlement.person_id == merged_id, twin.person_id == survivor_id)
    )
    if not both:
        return []
    return [_("Both records have been settled for the same shift: ask the pay office first.")]


async def _conflicts(session: AsyncSession, survivor: Person, merged: Person) -> list[str]:
    conflicts: list[str] = []
    if survivor.national_id and merged.national_id and survivor.national_id != merged.national_id:
        conflicts.append(
            str(_("The two records have different identity numbers: they are two people."))
        )
    if survivor.user_id and merged.user_id and survivor.user_id != merged.user_id:
        conflicts.append(
            str(
                _(
                    "Both records have an account for the portal: a merged person would "
                    "lose one. Ask the clerk which one they use."
                )
            )
        )
    conflicts += await _day_conflicts(session, survivor.id, merged.id)
    conflicts += await _booking_conflicts(session, survivor.id, merged.id)
    conflicts += await _settlement_conflicts(session, survivor.id, merged.id)
    return conflicts


async def plan_merge(session: AsyncSession, survivor_id: int, merged_id: int) -> MergePlan:
    """The two records side by side, what would move and what stands in the way.

    Another municipality's (or an erased or merged-away) person is not found (404)."""
    if survivor_id == merged_id:
        raise MergeError(_("Choose two different records."), "merged")
    survivor = await _live_person(session, survivor_id)
    merged = await _live_person(session, merged_id)
    plan = MergePlan(survivor, merged, compare(survivor, merged))
    plan.conflicts = await _conflicts(session, survivor, merged)
    for model, column, _twin in _MOVES:
        count = await session.scalar(
            select(func.count()).select_from(model).where(getattr(model, column) == merged.id)
        )
        if count:
            plan.moving[model.__tablename__] = int(count)
    return plan


def _chosen(plan: MergePlan, choices: Mapping[str, str]) -> list[str]:
    """The fields to take from the merged-away record; refuses an unknown choice."""
    taken = []
    defaults = {f.name: f.default for f in plan.fields}
    for name, keep in choices.items():
        if name not in defaults or keep not in KEEP:
            raise MergeError(_("Choose one of the options."), name)
    for name, default in defaults.items():
        if choices.get(name, default) == "merged":
            taken.append(name)
    return taken


async def _drop_twins(
    session: AsyncSession, model: Any, column: str, keys: tuple[str, ...], s_id: int, m_id: int
) -> int:
    """Delete the merged-away record's rows the survivor has a twin of."""
    if not keys:
        return 0
    twin = aliased(model)
    ids = list(
        await session.scalars(
            select(model.id)
            .join(twin, and_(*(getattr(twin, key) == getattr(model, key) for key in keys)))
            .where(getattr(model, column) == m_id, getattr(twin, column) == s_id)
        )
    )
    for row_id in ids:
        row = await session.get(model, row_id)
        if row is not None:
            await session.delete(row)
    await session.flush()
    return len(ids)


async def _move_rows(session: AsyncSession, s_id: int, m_id: int) -> dict[str, int]:
    moved: dict[str, int] = {}
    for model, column, keys in _MOVES:
        dropped = await _drop_twins(session, model, column, keys, s_id, m_id)
        result = await session.execute(
            update(model)
            .where(getattr(model, column) == m_id)
            .values({column: s_id})
            .execution_options(synchronize_session=False)
        )
        count = int(getattr(result, "rowcount", 0) or 0)
        if count or dropped:
            moved[model.__tablename__] = count
        if dropped:
            moved[f"{model.__tablename__}_dropped"] = dropped
    runs = await session.scalars(select(AutostaffRun).where(AutostaffRun.status == "pending"))
    for run in runs:
        if any(item.get("person_id") == m_id for item in run.items):
            run.items = [
                {**item, "person_id": s_id} if item.get("person_id") == m_id else item
                for item in run.items
            ]
    return moved


def _combine(survivor: Person, merged: dict[str, Any]) -> None:
    """What is joined rather than chosen: languages, tags, notes, experience, the
    address protection (never lost), a removal request, the portal account."""
    languages = list(survivor.spoken_languages or [])
    survivor.spoken_languages = languages + [
        code for code in merged["spoken_languages"] or [] if code not in languages
    ]
    tags = list(survivor.tags or [])
    survivor.tags = tags + [tag for tag in merged["tags"] or [] if tag not in tags]
    if merged["notes"] and merged["notes"] not in (survivor.notes or ""):
        survivor.notes = "\n\n".join(part for part in (survivor.notes, merged["notes"]) if part)
    levels = ("none", "some", "much")
    if levels.index(merged["experience"] or "none") > levels.index(survivor.experience or "none"):
        survivor.experience = merged["experience"]
    survivor.address_protected = survivor.address_protected or merged["address_protected"]
    requested = merged["removal_requested_at"]
    before = survivor.removal_requested_at
    if requested and (before is None or requested > before):
        survivor.removal_requested_at = requested
    if survivor.user_id is None and merged["user_id"] is not None:
        survivor.user_id = merged["user_id"]


_KEPT_COLUMNS = (
    *(column for columns in FIELD_GROUPS.values() for column in columns),
    "spoken_languages", "tags", "notes", "experience", "address_protected",
    "removal_requested_at", "user_id",
)  # fmt: skip


async def merge_people(
    session: AsyncSession,
    actor: Actor,
    survivor_id: int,
    merged_id: int,
    choices: Mapping[str, str] | None = None,
) -> PersonMerge:
    """Merge ``merged_id`` into ``survivor_id``: per field the value ``choices`` names
    (``"survivor"`` or ``"merged"``; unnamed fields keep the default the page showed),
    every row of the merged-away record moved, the record deleted and its tombstone
    kept. Refuses (nothing written) on a conflict or a choice it does not know."""
    plan = await plan_merge(session, survivor_id, merged_id)
    taken = _chosen(plan, choices or {})
    if plan.conflicts:
        raise MergeError(plan.conflicts[0], "conflicts")
    survivor, merged = plan.survivor, plan.merged
    merged_values = {column: getattr(merged, column) for column in _KEPT_COLUMNS}
    moved = await _move_rows(session, survivor.id, merged.id)
    for column in _UNIQUE:
        setattr(merged, column, None)
    await session.flush()
    await session.delete(merged)
    await session.flush()
    for name in taken:
        for column in FIELD_GROUPS[name]:
            setattr(survivor, column, merged_values[column])
    _combine(survivor, merged_values)
    for key, value in search_names(survivor.first_name, survivor.last_name).items():
        setattr(survivor, key, value)
    tombstone = PersonMerge(
        merged_id=merged_id,
        survivor_id=survivor.id,
        fields_taken=sorted(taken),
        moved=moved,
        merged_by_id=actor.user_id,
        merged_by_label=actor.label,
    )
    session.add(tombstone)
    await session.flush()
    await record(
        session,
        actor,
        "people.person.merged",
        survivor,
        data={"merged": merged_id, "fields_taken": sorted(taken), "moved": moved},
    )
    await session.commit()
    return tombstone


async def merged_into(session: AsyncSession, person_id: int) -> int | None:
    """The person a merged-away id now leads to, or None."""
    return await session.scalar(
        select(PersonMerge.survivor_id)
        .where(PersonMerge.merged_id == person_id)
        .order_by(PersonMerge.id.desc())
        .limit(1)
    )


async def former_ids(session: AsyncSession, person_id: int) -> list[tuple[int, dt.datetime]]:
    """The ids of the records merged into this person (a later merge moves the tombstones
    on to the new survivor, so one look-up finds them all), each with when it was merged:
    what the audit log wrote under them until then is this person's history."""
    rows = await session.execute(
        select(PersonMerge.merged_id, PersonMerge.merged_at)
        .where(PersonMerge.survivor_id == person_id)
        .order_by(PersonMerge.id)
    )
    return [(merged_id, merged_at) for merged_id, merged_at in rows]


async def person_or_survivor(session: AsyncSession, person_id: int) -> tuple[Person | None, int]:
    """The person with this id, or else (None, the id a merged-away record now leads
    to); (None, 0) when there is neither. The person comes first: on SQLite a new
    person may be given the id a merged-away one had."""
    person = await session.scalar(select(Person).where(Person.id == person_id))
    if person is not None:
        return person, person.id
    return None, await merged_into(session, person_id) or 0


async def person_history(
    session: AsyncSession, person_id: int, audit_filter: AuditFilter
) -> AuditFilter:
    """``audit_filter`` narrowed to one person's entries: those about them and those
    written under the records merged into them until the merge. A person not in this
    municipality (another's, or no one) is not found."""
    if await session.scalar(select(Person.id).where(Person.id == person_id)) is None:
        raise NotFound(_("Not found."))
    former = await former_ids(session, person_id)
    return replace(
        audit_filter,
        object_type="Person",
        object_id=str(person_id),
        former_ids=tuple((str(merged_id), merged_at) for merged_id, merged_at in former),
    )
