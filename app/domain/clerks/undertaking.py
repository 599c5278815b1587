"""The confidentiality undertaking (tystnadsförbindelse): the office writes its text per
language as a document (``documents.catalog``, versioned with author and time), turns
the requirement on, and a clerk signs it in the portal before their first shift.

A signature keeps the language, the version and a digest of the words read, the time
and the browser. A new version of the text does not ask for new signatures by itself:
the office asks for them (``ask_to_sign_again``), and signatures older than that no
longer count. Until the requirement is on, nobody needs to sign and nothing is marked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import DomainError
from app.core.i18n import _
from app.core.models import Tenant
from app.core.models.base import utcnow
from app.core.tenancy import require_tenant_id
from app.core.validation import Cleaner
from app.domain.documents.catalog import LOCALES
from app.domain.documents.texts import document_state, render_in_use
from app.domain.messaging.fields import nest
from app.domain.models import (
    HOLDING_STATES,
    Assignment,
    Election,
    MessageTemplateVersion,
    Person,
    UndertakingSignature,
    WorkingRules,
)
from app.domain.site.webparts import site_settings
from app.domain.staffing.working_rules import rules_row
from app.domain.staffing.working_time import working_rules_row

KEY = "confidentiality_undertaking"
MAX_USER_AGENT = 300


class UndertakingError(DomainError):
    """A signature that cannot be taken as given."""


@dataclass(frozen=True)
class UndertakingText:
    """The text a person reads: its language, version (None: the default text) and the
    words filled in for them, with their digest (what the signature binds to)."""

    locale: str
    version: MessageTemplateVersion | None
    text: str

    @property
    def number(self) -> int:
        return 0 if self.version is None or self.version.is_default else self.version.number

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


@dataclass(frozen=True)
class UndertakingStatus:
    """Whether the municipality requires the undertaking, since when signatures count,
    and how many people holding a place in a coming election have signed."""

    required: bool
    signed_since: dt.datetime | None
    signed: int
    unsigned: int


def reading_locale(person: Person) -> str:
    return person.preferred_language if person.preferred_language in LOCALES else LOCALES[0]


async def undertaking_text(session: AsyncSession, person: Person, locale: str) -> UndertakingText:
    """The undertaking in ``locale`` as the office wrote it, filled in for ``person``."""
    state = await document_state(session, KEY, locale)
    tenant = await session.get(Tenant, require_tenant_id())
    assert tenant is not None
    settings = await site_settings(session)
    fields = nest(
        {
            "municipality.name": tenant.name,
            "contact.email": settings.office_email or "",
            "contact.phone": settings.office_phone or "",
            "person.first_name": person.first_name,
            "person.name": person.full_name,
        }
    )
    return UndertakingText(locale, state.latest, render_in_use(KEY, locale, state.text, fields))


def _counts(rules: WorkingRules | None) -> Any:
    """The condition of a signature that counts."""
    condition: Any = UndertakingSignature.id.is_not(None)
    if rules is not None and rules.undertaking_signed_since is not None:
        condition = UndertakingSignature.signed_at >= rules.undertaking_signed_since
    return condition


async def valid_signature(session: AsyncSession, person_id: int) -> UndertakingSignature | None:
    """The person's newest signature that still counts, if any."""
    rules = await working_rules_row(session)
    return await session.scalar(
        select(UndertakingSignature)
        .where(UndertakingSignature.person_id == person_id, _counts(rules))
        .order_by(UndertakingSignature.signed_at.desc(), UndertakingSignature.id.desc())
        .limit(1)
    )


async def must_sign(session: AsyncSession, person: Person) -> bool:
    """The municipality requires the undertaking and the person has no signature that
    counts."""
    rules = await working_rules_row(session)
    if rules is None or not rules.undertaking_required:
        return False
    return await valid_signature(session, person.id) is None


async def unsigned_among(session: AsyncSession, person_ids: Collection[int]) -> set[int]:
    """Those of ``person_ids`` who must sign and have not (empty when the undertaking is
    not required: one query then, none per person)."""
    rules = await working_rules_row(session)
    if rules is None or not rules.undertaking_required or not person_ids:
        return set()
    signed = set(
        await session.scalars(
            select(UndertakingSignature.person_id)
            .where(UndertakingSignature.person_id.in_(list(person_ids)), _counts(rules))
            .distinct()
        )
    )
    return set(person_ids) - signed


async def sign_undertaking(
    session: AsyncSession,
    actor: Actor,
    person: Person,
    data: Mapping[str, Any],
    *,
    ip_address: str = "",
    user_agent: str = "",
) -> UndertakingSignature:
    """The person signs the text they read: ``data`` holds the language, the digest of
    the text shown and the tick. A text changed since it was shown is refused (read it
    again); nothing is written on a refusal. Audited without the text."""
    cleaner = Cleaner(data)
    locale = cleaner.choice("locale", LOCALES, reading_locale(person))
    digest = cleaner.raw("digest")
    if not cleaner.boolean("agree"):
        cleaner.fail("agree", _("Tick the box to confirm that you have read the undertaking."))
    if cleaner.errors:
        error = UndertakingError(next(iter(cleaner.errors.values())), next(iter(cleaner.errors)))
        error.errors = dict(cleaner.errors)
        raise error
    shown = await undertaking_text(session, person, locale)
    if digest != shown.digest:
        raise UndertakingError(
            _("The text was changed while you read it. Read it again and sign."), "agree"
        )
    signature = UndertakingSignature(
        person_id=person.id,
        version_id=shown.version.id if shown.version is not None else None,
        locale=locale,
        version_number=shown.number,
        text_digest=shown.digest,
        signed_at=utcnow(),
        ip_address=ip_address[:45],
        user_agent=user_agent[:MAX_USER_AGENT],
    )
    session.add(signature)
    await session.flush()
    await record(
        session,
        actor,
        "clerks.undertaking.signed",
        signature,
        data={"person": person.id, "locale": locale, "version": shown.number},
    )
    await session.commit()
    return signature


async def undertaking_status(session: AsyncSession) -> UndertakingStatus:
    """The requirement and how many of the people holding a place in an election not
    yet past have a signature that counts."""
    rules = await working_rules_row(session)
    tenant = await session.get(Tenant, require_tenant_id())
    assert tenant is not None
    today = dt.datetime.now(ZoneInfo(tenant.timezone)).date()
    holding = set(
        await session.scalars(
            select(Assignment.person_id)
            .join(Election, Election.id == Assignment.election_id)
            .where(Assignment.state.in_(HOLDING_STATES), Election.election_day >= today)
            .distinct()
        )
    )
    signed = 0
    if holding:
        signed = (
            await session.scalar(
                select(func.count(func.distinct(UndertakingSignature.person_id))).where(
                    UndertakingSignature.person_id.in_(list(holding)), _counts(rules)
                )
            )
            or 0
        )
    return UndertakingStatus(
        required=bool(rules and rules.undertaking_required),
        signed_since=rules.undertaking_signed_since if rules else None,
        signed=signed,
        unsigned=len(holding) - signed,
    )


async def set_required(session: AsyncSession, actor: Actor, required: bool) -> None:
    """Turn the requirement on or off (audited)."""
    row = await rules_row(session, actor)
    if row.undertaking_required == required:
        return
    row.undertaking_required = required
    row.updated_by_label = actor.label
    await record(session, actor, "clerks.undertaking.required", row, data={"required": required})
    await session.commit()


async def ask_to_sign_again(session: AsyncSession, actor: Actor) -> None:
    """Signatures given until now no longer count: everyone signs the text in use again
    (after a new version the office wants signed). Audited."""
    row = await rules_row(session, actor)
    row.undertaking_signed_since = utcnow()
    row.updated_by_label = actor.label
    await record(
        session,
        actor,
        "clerks.undertaking.resign_asked",
        row,
        data={"since": row.undertaking_signed_since.isoformat()},
    )
    await session.commit()
