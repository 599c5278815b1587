"""The application form: the elections it offers, and checking what an applicant
chose for each of them (kinds of work, days, district wishes) with their details."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.i18n import _
from app.core.validation import Cleaner, FieldErrors, parse_id
from app.domain.elections.voting_days import voting_days
from app.domain.models import EXPERIENCE_LEVELS, WORK_KINDS, District, Election
from app.domain.registers.people import clean_person

MAX_MESSAGE = 5000
#: The value of the "all days" box: every voting day of the election.
ALL_DAYS = "all"


@dataclass(frozen=True)
class OpenElection:
    """An election taking applications, with what the form offers for it."""

    election: Election
    days: list[dt.date]
    advance_days: frozenset[dt.date]
    districts: list[District]

    @property
    def id(self) -> int:
        return self.election.id

    @property
    def work_kinds(self) -> tuple[str, ...]:
        if self.election.advance_start and self.election.advance_end:
            return WORK_KINDS
        return tuple(kind for kind in WORK_KINDS if kind != "advance")

    def fits(self, kind: str, day: dt.date) -> bool:
        """Whether work of ``kind`` can happen on ``day`` of this election."""
        if kind == "advance":
            return day in self.advance_days
        return day == self.election.election_day


async def open_elections(session: AsyncSession, today: dt.date) -> list[OpenElection]:
    """Elections still ahead that are being planned or run: the ones people apply for."""
    elections = await session.scalars(
        select(Election)
        .where(Election.status.in_(("planning", "active")), Election.election_day >= today)
        .options(selectinload(Election.districts))
        .order_by(Election.election_day, Election.id)
    )
    return [offer_for(election, list(election.districts)) for election in elections]


def offer_for(election: Election, districts: list[District]) -> OpenElection:
    days = voting_days(election)
    has_advance = bool(election.advance_start and election.advance_end)
    return OpenElection(election, days, frozenset(days if has_advance else ()), districts)


@dataclass
class Choice:
    election_id: int
    work_kinds: list[str]
    days: list[dt.date]
    district_ids: list[int]


@dataclass
class CleanApplication:
    values: dict[str, Any]
    choices: list[Choice] = field(default_factory=list)


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple | set):
        return list(value)
    return [value]


def clean_application(
    data: Mapping[str, Any],
    offered: Sequence[OpenElection],
    default_country: str,
    *,
    declaration_required: bool = False,
) -> CleanApplication:
    """Check a whole application and name every bad field at once. With
    ``declaration_required`` (the API's) an applicant who does not declare that they
    are no candidate is refused; the web form keeps the answer either way.

    ``data["elections"]`` is a list of ``{"election_id", "work_kinds", "days",
    "district_ids"}``; errors about one election are reported on ``kinds_<id>``,
    ``days_<id>`` and ``districts_<id>``.
    """
    errors: dict[str, str] = {}
    person = {
        key: data.get(key)
        for key in (
            "first_name", "last_name", "national_id_country", "national_id", "email",
            "mobile", "street_address", "postal_code", "city", "preferred_language",
        )
    }  # fmt: skip
    person["spoken_languages"] = data.get("spoken_languages") or []
    values: dict[str, Any] = {}
    try:
        values = clean_person(person, default_country)
    except FieldErrors as error:
        errors.update(error.errors)
    for name, message in (
        ("national_id", _("Enter your identity number.")),
        ("email", _("Enter your email address.")),
        ("mobile", _("Enter your mobile number.")),
    ):
        if not str(data.get(name) or "").strip():
            errors.setdefault(name, message)
    cleaner = Cleaner(data)
    values.update(
        experience=cleaner.choice("experience", EXPERIENCE_LEVELS, "none"),
        experience_notes=cleaner.text("experience_notes", 2000),
        preferred_areas=cleaner.text("preferred_areas", 300),
        message=cleaner.text("message", MAX_MESSAGE),
        # Candidates cannot serve: the answer is kept, and the office checks it against
        # the candidate lists it imports.
        declared_not_candidate=cleaner.boolean("not_candidate"),
    )
    if declaration_required and not values["declared_not_candidate"]:
        cleaner.fail(
            "not_candidate",
            _(
                "Candidates in an election cannot serve as poll clerks in it: "
                "declare that you are not one."
            ),
        )
    if not cleaner.boolean("consent"):
        cleaner.fail("consent", _("You must accept the privacy notice to apply."))
    errors.update({key: value for key, value in cleaner.errors.items() if key not in errors})
    choices = clean_choices(data.get("elections"), offered, errors)
    if errors:
        raise FieldErrors(errors)
    for key in ("notes", "tags", "status"):
        values.pop(key, None)
    return CleanApplication(values, choices)


def clean_choices(
    raw: Any, offered: Sequence[OpenElection], errors: dict[str, str]
) -> list[Choice]:
    """The applicant's choices for each election offered (at most ten); a problem is
    added to ``errors`` on the election's own fields."""
    by_id = {option.id: option for option in offered}
    choices: list[Choice] = []
    items = [item for item in _list(raw) if isinstance(item, Mapping)]
    if not items:
        errors.setdefault("elections", _("Choose at least one election."))
        return choices
    for item in items[:10]:
        election_id = parse_id(item.get("election_id"))
        option = by_id.get(election_id or 0)
        if option is None:
            errors.setdefault("elections", _("This election no longer takes applications."))
            continue
        kinds = _clean_work_kinds(item, option, errors)
        days = _clean_days(item, option, errors)
        if not days:
            errors.setdefault(f"days_{option.id}", _("Choose at least one day you can work."))
        else:
            _check_days_fit_work(kinds, days, option, errors)
        district_ids = _clean_district_wishes(item, option, errors)
        choices.append(Choice(option.id, sorted(set(kinds)), sorted(days), district_ids))
    return choices


def _clean_work_kinds(
    item: Mapping[str, Any], option: OpenElection, errors: dict[str, str]
) -> list[str]:
    """The kinds of work chosen for one election, each one it offers."""
    kinds = [str(kind) for kind in _list(item.get("work_kinds"))]
    if not kinds:
        errors.setdefault(f"kinds_{option.id}", _("Choose at least one kind of work."))
    elif any(kind not in option.work_kinds for kind in kinds):
        errors.setdefault(f"kinds_{option.id}", _("Choose one of the options."))
    return kinds


def _clean_days(
    item: Mapping[str, Any], option: OpenElection, errors: dict[str, str]
) -> list[dt.date]:
    """The voting days chosen for one election (at most 60 read), each once.

    ``all`` among them (the form's "all days" box) means every voting day."""
    raw_days = _list(item.get("days"))
    if ALL_DAYS in raw_days:
        return list(option.days)
    days: list[dt.date] = []
    for raw_day in raw_days[:60]:
        try:
            day = raw_day if isinstance(raw_day, dt.date) else dt.date.fromisoformat(str(raw_day))
        except ValueError:
            errors.setdefault(f"days_{option.id}", _("Enter a date as YYYY-MM-DD."))
            continue
        if day not in option.days:
            errors.setdefault(
                f"days_{option.id}",
                _("%(day)s is not a voting day of this election.", day=day.isoformat()),
            )
        elif day not in days:
            days.append(day)
    return days


def _check_days_fit_work(
    kinds: list[str], days: list[dt.date], option: OpenElection, errors: dict[str, str]
) -> None:
    """Each kind of work chosen needs a chosen day it can happen on."""
    for kind in kinds:
        if kind in option.work_kinds and not any(option.fits(kind, day) for day in days):
            message = (
                _("Advance voting needs at least one advance voting day.")
                if kind == "advance"
                else _("Work on election day and counting need election day.")
            )
            errors.setdefault(f"days_{option.id}", message)


def _clean_district_wishes(
    item: Mapping[str, Any], option: OpenElection, errors: dict[str, str]
) -> list[int]:
    """The districts wished for in one election (at most 50 read), each once."""
    district_ids = []
    known = {district.id for district in option.districts}
    for raw_district in _list(item.get("district_ids"))[:50]:
        district_id = parse_id(raw_district)
        if district_id not in known:
            errors.setdefault(f"districts_{option.id}", _("Choose one of the options."))
        elif district_id not in district_ids:
            district_ids.append(district_id)
    return district_ids
