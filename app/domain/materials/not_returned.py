"""After the election: the equipment still out, per holder, with a phone to call; a
reminder to the holders through the outbox; and the list as a spreadsheet.

A station's items are followed up with its leads (chair and vice chair: their names and
mobiles, nothing more of them); a person's with the person. A reminder goes by SMS to
a mobile, or by mail when there is none, in the reader's language; the same holder is
reminded at most once a day (the outbox's idempotency key names the day).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.audit import Actor, record
from app.core.documents.spreadsheets import write_xlsx
from app.core.i18n import _, locale_scope
from app.core.models import OutboxMessage, utcnow
from app.core.outbox.rows import add_outbox_message
from app.core.tenancy import require_tenant_id
from app.domain.materials.handouts import HandoutError, holdings
from app.domain.models import (
    HOLDING_STATES,
    Assignment,
    Election,
    MaterialAsset,
    MaterialHandout,
    Person,
    RoleType,
)
from app.domain.ops.access import actor_may


@dataclass
class Contact:
    name: str
    phone: str
    email: str = ""
    locale: str = "sv"


@dataclass
class HolderItems:
    """One holder (a station or a person) and the items they have not returned."""

    key: str
    name: str
    is_station: bool
    contacts: list[Contact]
    handouts: list[MaterialHandout] = field(default_factory=list)


async def station_leads(session: AsyncSession, station_ids: set[int]) -> dict[int, list[Contact]]:
    found = await session.execute(
        select(
            Assignment.station_id,
            Person.first_name,
            Person.last_name,
            Person.mobile,
            Person.email,
            Person.preferred_language,
        )
        .join(Person, Person.id == Assignment.person_id)
        .join(RoleType, RoleType.id == Assignment.role_type_id)
        .where(
            Assignment.station_id.in_(station_ids),
            Assignment.state.in_(HOLDING_STATES),
            RoleType.leads_station.is_(True),
        )
        .distinct()
        .order_by(Person.last_name, Person.first_name)
    )
    leads: dict[int, list[Contact]] = defaultdict(list)
    for row in found:
        leads[row.station_id].append(
            Contact(f"{row.first_name} {row.last_name}", row.mobile or "", row.email or "",
                    row.preferred_language)
        )  # fmt: skip
    return leads


async def still_out(session: AsyncSession, election: Election) -> list[HolderItems]:
    """The election's items not taken back, per holder (stations first, then people,
    each by name), with whom to call."""
    found = list(
        await session.scalars(
            select(MaterialHandout)
            .where(
                MaterialHandout.election_id == election.id, MaterialHandout.returned_at.is_(None)
            )
            .options(selectinload(MaterialHandout.asset).selectinload(MaterialAsset.article))
            .order_by(MaterialHandout.handed_at)
        )
    )
    named = await holdings(session, found)
    leads = await station_leads(session, {h.station_id for h in found if h.station_id})
    people = {
        p.id: p
        for p in await session.scalars(
            select(Person).where(Person.id.in_({h.person_id for h in found if h.person_id}))
        )
    }
    holders: dict[str, HolderItems] = {}
    for holding in named:
        handout = holding.handout
        if handout.station_id is not None:
            key = f"station-{handout.station_id}"
            contacts = leads.get(handout.station_id, [])
        else:
            key = f"person-{handout.person_id}"
            person = people[handout.person_id or 0]
            contacts = [Contact(holding.holder_name, person.mobile or "", person.email or "",
                                person.preferred_language)]  # fmt: skip
        holder = holders.setdefault(
            key, HolderItems(key, holding.holder_name, handout.station_id is not None, contacts)
        )
        holder.handouts.append(handout)
    return sorted(holders.values(), key=lambda h: (not h.is_station, h.name.lower()))


def _reminder_text(holder: HolderItems, contact: Contact, tenant_name: str) -> str:
    items = ", ".join(f"{h.asset.article.name} {h.asset.tag}" for h in holder.handouts)
    with locale_scope(contact.locale):
        return _(
            "Hello %(name)s, the election office of %(office)s is missing equipment that has"
            " not been returned: %(items)s. Please return it to the depot as soon as possible.",
            name=contact.name.split(" ")[0],
            office=tenant_name,
            items=items,
        )


async def remind_holders(
    session: AsyncSession, actor: Actor, election: Election, tenant_name: str, today: dt.date
) -> int:
    """Queue a reminder to every holder of an item still out (a station's leads, or the
    person): by SMS to a mobile, by mail otherwise. Returns how many were queued."""
    if not await actor_may(session, actor, "materials.edit"):
        raise HandoutError(_("You may not hand out or take back equipment."))
    queued = 0
    now = utcnow()
    holders = await still_out(session, election)
    prefix = f"material-reminder:{election.id}:"
    sent_today = set(
        await session.scalars(
            select(OutboxMessage.idempotency_key).where(
                OutboxMessage.idempotency_key.startswith(prefix),
                OutboxMessage.idempotency_key.endswith(today.isoformat()),
            )
        )
    )
    for holder in holders:
        for contact in holder.contacts:
            channel, to = ("sms", contact.phone) if contact.phone else ("email", contact.email)
            key = f"{prefix}{holder.key}:{to}:{today.isoformat()}"
            if not to or key in sent_today:
                continue
            sent_today.add(key)
            text = _reminder_text(holder, contact, tenant_name)
            with locale_scope(contact.locale):
                subject = _("Equipment not returned")
            add_outbox_message(
                session,
                tenant_id=require_tenant_id(),
                channel=channel,
                recipient=to,
                subject=subject if channel == "email" else "",
                body_text=text,
                idempotency_key=key,
            )
            queued += 1
        for handout in holder.handouts:
            handout.reminded_at = now
    await record(
        session,
        actor,
        "materials.asset.reminded",
        election,
        data={"election": election.id, "messages": queued},
    )
    await session.commit()
    return queued


def report_xlsx(holders: list[HolderItems], today: dt.date) -> bytes:
    """What is still out, one row an item, with its holder and whom to call."""
    header = [
        _("Holder"),
        _("Contact"),
        _("Phone"),
        _("Asset tag"),
        _("Article"),
        _("Serial number"),
        _("Handed out"),
        _("Due back"),
        _("Days overdue"),
    ]
    rows = []
    for holder in holders:
        contact = "; ".join(c.name for c in holder.contacts)
        phone = "; ".join(c.phone for c in holder.contacts if c.phone)
        for handout in holder.handouts:
            due = handout.due_back
            rows.append(
                [
                    holder.name,
                    contact,
                    phone,
                    handout.asset.tag,
                    handout.asset.article.name,
                    handout.asset.serial,
                    handout.handed_at.date(),
                    due,
                    max((today - due).days, 0) if due else None,
                ]
            )
    return write_xlsx(_("Not returned"), header, rows)
