"""Staffing templates: a set of shifts with norms, applied to many stations at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.validation import Cleaner, FieldErrors
from app.domain.elections.elections import get_election
from app.domain.elections.norms import apply_norms, not_counted_message
from app.domain.elections.voting_days import voting_days
from app.domain.local_names import names_from, own_language
from app.domain.models import STATION_KINDS, NormTemplate, RoleType, Shift, Station
from app.domain.saving import has_name, is_taken
from app.domain.staffing.rules import role_may_work, work_kinds_for

#: Defaults from Swedish practice: two shifts on election day; advance voting by day.
#: Names are the municipality's data, so they are written in its language.
_WORDS = {
    "sv": {"polling": "Standardvallokal", "advance": "Förtidsröstning vardag",
           "early": "Förmiddag", "late": "Eftermiddag", "day": "Dag"},
    "da": {"polling": "Standardafstemningssted", "advance": "Brevstemmested hverdag",
           "early": "Formiddag", "late": "Eftermiddag", "day": "Dag"},
    "en": {"polling": "Standard polling station", "advance": "Advance voting weekday",
           "early": "Early", "late": "Late", "day": "Day"},
}  # fmt: skip


def standard_templates(locale: str) -> list[tuple[str, str, list[dict[str, Any]]]]:
    words = _WORDS.get(locale, _WORDS["en"])

    def named(word: str) -> dict[str, Any]:
        # A shift's name in the municipality's language, and in the others beside it.
        others = {code: names[word] for code, names in _WORDS.items() if code != locale}
        return {"name": words[word], "names": others}

    return [
        (words["polling"], "polling", [
            {**named("early"), "starts_at": "07:30", "ends_at": "14:00",
             "norms": {"chair": [1, 1], "vice_chair": [0, 1], "clerk": [3, 4]}},
            {**named("late"), "starts_at": "13:30", "ends_at": "22:00",
             "norms": {"chair": [0, 1], "vice_chair": [1, 1], "clerk": [3, 5]}},
        ]),
        (words["advance"], "advance", [
            {**named("day"), "starts_at": "09:30", "ends_at": "18:30",
             "norms": {"chair": [1, 1], "clerk": [2, 3]}},
        ]),
    ]  # fmt: skip


def clean_template_shifts(
    raw: Any, role_codes: set[str], own_locale: str = "sv"
) -> list[dict[str, Any]]:
    """Validate a template's shift list (from a form or the API); a shift's ``names``
    in the other languages than the municipality's are optional."""
    if not isinstance(raw, list) or not raw:
        raise FieldErrors({"shifts": _("Add at least one shift.")})
    shifts = []
    for index, item in enumerate(raw):
        cleaner = Cleaner(item if isinstance(item, Mapping) else {})
        name = cleaner.text("name", 100, required=True)
        starts = cleaner.time("starts_at")
        ends = cleaner.time("ends_at")
        if starts and ends and ends <= starts:
            cleaner.fail("ends_at", _("A shift must end after it starts."))
        norms: dict[str, list[int]] = {}
        raw_norms = item.get("norms", {}) if isinstance(item, Mapping) else {}
        if not isinstance(raw_norms, Mapping):
            raw_norms = {}
            cleaner.fail("norms", _("Give a minimum and a target for each role."))
        for code, pair in (raw_norms or {}).items():
            if code not in role_codes:
                cleaner.fail("norms", _("Unknown role: %(code)s.", code=code))
                continue
            try:
                minimum, target = (int(value) for value in pair)
            except (TypeError, ValueError):
                cleaner.fail("norms", _("Give a minimum and a target for each role."))
                continue
            if not 0 <= minimum <= target <= 100:
                cleaner.fail("norms", _("The target cannot be below the minimum."))
            norms[code] = [minimum, target]
        if cleaner.errors:
            problem = next(iter(cleaner.errors.values()))
            raise FieldErrors(
                {"shifts": _("Shift %(number)s: %(problem)s", number=index + 1, problem=problem)}
            )
        assert starts and ends
        shifts.append(
            {
                "name": name,
                "names": names_from(item.get("names"), own_locale),
                "starts_at": starts.isoformat("minutes"),
                "ends_at": ends.isoformat("minutes"),
                "norms": norms,
            }
        )
    return shifts


async def list_templates(session: AsyncSession) -> list[NormTemplate]:
    return list(await session.scalars(select(NormTemplate).order_by(NormTemplate.name)))


async def save_template(
    session: AsyncSession, actor: Actor, data: Mapping[str, Any], template_id: int | None = None
) -> NormTemplate:
    roles = {role.code: role for role in await session.scalars(select(RoleType))}
    template = None if template_id is None else await get_template(session, template_id)
    # A retired role stays in the template that has it, and goes into no other.
    kept = {code for shift in (template.shifts if template else []) for code in shift["norms"]}
    role_codes = {code for code, role in roles.items() if not role.retired or code in kept}
    cleaner = Cleaner(data)
    name = cleaner.text("name", 100, required=True)
    kind = cleaner.choice("station_kind", STATION_KINDS, "polling")
    cleaner.done()
    same_name = select(NormTemplate.id).where(has_name(NormTemplate.name, name))
    if await is_taken(session, same_name, NormTemplate.id, template_id):
        raise FieldErrors({"name": _("A template with this name already exists.")})
    shifts = clean_template_shifts(data.get("shifts"), role_codes, await own_language(session))
    for index, shift in enumerate(shifts):
        shift_kinds = work_kinds_for(kind, dt.time.fromisoformat(shift["ends_at"]))
        if any(
            target and not role_may_work(roles[code].work_kinds, shift_kinds)
            for code, (_minimum, target) in shift["norms"].items()
        ):
            problem = _("This role does not work at this kind of station or shift.")
            raise FieldErrors(
                {"shifts": _("Shift %(number)s: %(problem)s", number=index + 1, problem=problem)}
            )
        if any(
            minimum and not roles[code].counts_toward_minimum
            for code, (minimum, _target) in shift["norms"].items()
        ):
            problem = not_counted_message()
            raise FieldErrors(
                {"shifts": _("Shift %(number)s: %(problem)s", number=index + 1, problem=problem)}
            )
    template = template or NormTemplate()
    template.name, template.station_kind, template.shifts = name, kind, shifts
    session.add(template)
    await session.flush()
    await record(session, actor, "elections.template.saved", template, data={"name": name})
    await session.commit()
    return template


async def get_template(session: AsyncSession, template_id: int) -> NormTemplate:
    template = await session.scalar(select(NormTemplate).where(NormTemplate.id == template_id))
    if template is None:
        raise NotFound(_("Not found."))
    return template


async def apply_template(
    session: AsyncSession,
    actor: Actor,
    election_id: int,
    template_id: int,
    station_ids: list[int],
    day: dt.date,
) -> int:
    """Create the template's shifts (with norms) on ``day`` at each chosen station.

    A shift of the same name that day is updated, not duplicated. Stations of another
    kind than the template's are refused, all or nothing. Returns the number of shifts.
    """
    election = await get_election(session, election_id)
    template = await get_template(session, template_id)
    if day not in voting_days(election):
        raise FieldErrors({"day": _("Choose a day of the advance voting period or election day.")})
    stations = list(
        await session.scalars(
            select(Station)
            .where(Station.election_id == election.id, Station.id.in_(station_ids))
            .options(selectinload(Station.shifts).selectinload(Shift.norms))
        )
    )
    if not stations or len(stations) != len(set(station_ids)):
        raise FieldErrors({"station_ids": _("Choose stations of this election.")})
    wrong_kind = [s.name for s in stations if s.kind != template.station_kind]
    if wrong_kind:
        raise FieldErrors(
            {
                "station_ids": _(
                    "The template is for another kind of station: %(names)s.",
                    names=", ".join(wrong_kind[:5]),
                )
            }
        )
    if template.station_kind == "polling" and day != election.election_day:
        raise FieldErrors({"day": _("A polling station is open on election day only.")})
    # A retired role's norms are neither added nor taken away.
    role_ids = {
        code: role_id
        for role_id, code in await session.execute(
            select(RoleType.id, RoleType.code).where(RoleType.retired.is_(False))
        )
    }
    count = 0
    for station in stations:
        for item in template.shifts:
            shift = next(
                (s for s in station.shifts if s.day == day and s.name == item["name"]), None
            )
            if shift is None:
                shift = Shift(name=item["name"], day=day, norms=[])
                station.shifts.append(shift)
            shift.names = dict(item.get("names") or {})
            shift.starts_at = dt.time.fromisoformat(item["starts_at"])
            shift.ends_at = dt.time.fromisoformat(item["ends_at"])
            wanted = {role_id: (0, 0) for role_id in role_ids.values()}
            for code, (minimum, target) in item["norms"].items():
                if code in role_ids:
                    wanted[role_ids[code]] = (minimum, target)
            apply_norms(shift, wanted)
            count += 1
    await session.flush()
    await record(
        session,
        actor,
        "elections.template.applied",
        template,
        data={
            "election": election.id,
            "day": day.isoformat(),
            "stations": len(stations),
        },
    )
    await session.commit()
    return count
