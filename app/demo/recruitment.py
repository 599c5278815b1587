"""Demo data for recruiting: the next election, the public pages a planner wrote,
applications waiting in the inbox and a few contact messages.

Everything goes through the same services the site uses, so the demo shows what a real
municipality would see (including the confirmation emails in the outbox).
"""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant
from app.core.settings import SUPPORTED_LOCALES
from app.core.tenancy import tenant_scope
from app.demo.data import FIRST_NAMES, LAST_NAMES, STREETS, personnummer
from app.domain.elections.rollover import roll_over
from app.domain.models import Election
from app.domain.recruitment import applications, contact
from app.domain.recruitment import review as application_review
from app.domain.site import webparts

NEXT_ELECTION = {
    "name": "Val till Europaparlamentet 2029",
    "kind": "eu",
    "election_day": "2029-06-10",
    "advance_start": "2029-05-23",
    "advance_end": "2029-06-10",
}
START_PAGE = {
    "sv": "Inför valet till Europaparlamentet söker {name} röstmottagare till vallokaler "
    "och förtidsröstning. Du får utbildning och arvode.\n\n"
    "[Så är det att arbeta i valet](work) · [Arvode och utbildning](pay) · "
    "[Ansök här](apply)",
    "da": "Til valget til Europa-Parlamentet søger {name} valgtilforordnede til "
    "afstemningssteder og brevstemmeafgivning. Du får undervisning og honorar.\n\n"
    "[Sådan er arbejdet](work) · [Honorar og undervisning](pay) · [Ansøg her](apply)",
    "en": "For the European Parliament election, {name} is looking for poll clerks at "
    "polling stations and in advance voting. You get training and a fee.\n\n"
    "[What the work is like](work) · [Pay and training](pay) · [Apply here](apply)",
}
PAY_PAGE = {
    "sv": "| Uppdrag | Arvode |\n|---|---|\n| Ordförande | 3 700 kr |\n"
    "| Vice ordförande | 2 900 kr |\n| Röstmottagare | 2 400 kr |\n"
    "| Förtidsröstning | 170 kr per timme |\n\n"
    "Utbildningen (cirka 3 timmar) är obligatorisk och ersätts med 300 kr.",
    "da": "| Hverv | Honorar |\n|---|---|\n| Valgstyrer | 3.700 kr. |\n"
    "| Næstformand | 2.900 kr. |\n| Valgtilforordnet | 2.400 kr. |\n"
    "| Brevstemmeafgivning | 170 kr. pr. time |\n\n"
    "Undervisningen (cirka 3 timer) er obligatorisk og honoreres med 300 kr.",
    "en": "| Role | Fee |\n|---|---|\n| Chair | SEK 3,700 |\n| Vice chair | SEK 2,900 |\n"
    "| Poll clerk | SEK 2,400 |\n| Advance voting | SEK 170 per hour |\n\n"
    "Training (about 3 hours) is mandatory and paid SEK 300.",
}
#: What the demo office adds to the built-in accessibility statement: its own finding.
ACCESSIBILITY_FINDING = {
    "sv": "\n\n## Kända brister just nu\n\n* Kartan över vallokaler på kommunens "
    "webbplats saknar en textversion. Adresserna finns i listan under varje valdistrikt. "
    "Vi räknar med att rätta det före valet.\n\nBedömningen gjordes i december 2026.",
    "da": "\n\n## Kendte mangler lige nu\n\n* Kortet over valgsteder på kommunens "
    "websted har ingen tekstversion. Adresserne står i listen under hvert valgdistrikt. "
    "Vi regner med at rette det før valget.\n\nVurderingen blev foretaget i december 2026.",
    "en": "\n\n## Known problems right now\n\n* The map of polling stations on the "
    "municipality's site has no text version. The addresses are in the list under each "
    "district. We expect to fix it before the election.\n\nThe assessment was made in "
    "December 2026.",
}
CONTACT_MESSAGES = (
    ("Eva Lind", "eva.lind@example.se", "Kan jag jobba bara på eftermiddagen?",
     "Hej! Jag kan arbeta på valdagen men först efter klockan 13. Går det bra?"),
    ("Omar Haddad", "omar.haddad@example.se", "Tolk i vallokalen",
     "Jag talar arabiska och somaliska och hjälper gärna till där det behövs."),
    ("Karin Ek", "karin.ek@example.se", "Parkering vid Hamnenskolan",
     "Finns det parkering för personalen vid Hamnenskolan på valdagen?"),
)  # fmt: skip

#: Where the demo's contact messages come from (documentation addresses, RFC 5737).
CONTACT_ADDRESSES = {"small": "192.0.2.10", "large": "198.51.100.10"}


async def fill_recruitment(
    session: AsyncSession, tenant: Tenant, planner_email: str, base_url: str, size: str = "small"
) -> Election:
    """Add the next election (rolled over from the demo election), published public
    pages, applications and contact messages to a demo municipality."""
    planner = Actor(label=planner_email)
    rng = random.Random(f"stemma-recruitment-{size}")  # noqa: S311 - demo data
    with tenant_scope(tenant.id):
        source = await session.scalar(select(Election).order_by(Election.id).limit(1))
        assert source is not None
        election = await roll_over(session, planner, source.id, NEXT_ELECTION)
        await _publish_site(session, planner, tenant)
        await session.refresh(election, ["districts"])
        districts = list(election.districts)
        today = dt.datetime.now(dt.UTC).date()
        used: set[str] = set()
        ids = []
        for index in range(12 if size == "small" else 300):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            kinds = rng.choice((["election_day"], ["election_day", "counting"], ["advance"]))
            days = (
                [NEXT_ELECTION["election_day"]]
                if "advance" not in kinds
                else [f"2029-06-0{day}" for day in rng.sample(range(1, 9), 3)]
            )
            submitted = await applications.submit_application(
                session,
                tenant,
                {
                    "first_name": first,
                    "last_name": last,
                    "national_id": personnummer(rng, used, first_year=1950, years=55),
                    "email": f"{first}.{last}.{index}@example.se".lower()
                    .replace("å", "a")
                    .replace("ä", "a")
                    .replace("ö", "o")
                    .replace("é", "e"),
                    "mobile": f"+4670{rng.randrange(1_000_000, 9_999_999)}",
                    "street_address": f"{rng.choice(STREETS)} {rng.randrange(1, 60)}",
                    "postal_code": f"{rng.randrange(100, 999)} {rng.randrange(10, 99)}",
                    "city": "Demostad",
                    "preferred_language": "sv",
                    "spoken_languages": rng.sample(["sv", "en", "ar", "fi", "so"], 2),
                    "experience": rng.choice(("none", "none", "some", "much")),
                    "consent": True,
                    "elections": [
                        {
                            "election_id": election.id,
                            "work_kinds": kinds,
                            "days": days,
                            "district_ids": [d.id for d in rng.sample(districts, 2)],
                        }
                    ],
                },
                locale="sv",
                base_url=base_url,
                today=today,
                source="web",
            )
            ids.append(submitted.application.id)
        await application_review.request_more_information(
            session,
            planner,
            tenant,
            ids[-1],
            "Tack för din ansökan! Kan du arbeta hela valdagen, även under rösträkningen?",
            base_url,
        )
        await fill_contact_messages(session, tenant, size)
    return election


async def fill_contact_messages(session: AsyncSession, tenant: Tenant, size: str) -> None:
    """The demo's contact messages, sent from an address of each size's own (the public
    form allows five messages an hour per address: the large demo is often made within
    the hour after `make run` made the small one)."""
    address = CONTACT_ADDRESSES[size]
    with tenant_scope(tenant.id):
        for name, email, subject, message in CONTACT_MESSAGES:
            await contact.submit_contact_message(
                session,
                tenant,
                {"name": name, "email": email, "subject": subject, "message": message},
                locale="sv",
                ip_address=address,
            )


async def _publish_site(session: AsyncSession, planner: Actor, tenant: Tenant) -> None:
    """The public pages in every language (the start and pay pages written for the demo,
    the rest as shipped), the site's colour and office address, applications open."""
    for locale in SUPPORTED_LOCALES:
        title, _body = webparts.default_text("start", locale)
        body = START_PAGE[locale].format(name=tenant.name)
        await webparts.publish(session, planner, "start", locale, {"title": title, "body": body})
        pay_title, _pay_body = webparts.default_text("pay", locale)
        await webparts.publish(
            session, planner, "pay", locale, {"title": pay_title, "body": PAY_PAGE[locale]}
        )
        for key in ("work", "faq", "privacy"):
            title, body = webparts.default_text(key, locale)
            await webparts.publish(session, planner, key, locale, {"title": title, "body": body})
        title, body = webparts.default_text("accessibility", locale)
        body += ACCESSIBILITY_FINDING[locale]
        await webparts.publish(
            session, planner, "accessibility", locale, {"title": title, "body": body}
        )
    await webparts.save_site_settings(
        session,
        planner,
        {
            "brand_color": "#1f5f8b",
            "office_email": f"valkansliet@{tenant.slug}.stemma.test",
            "controller_name": f"Valnämnden, {tenant.name}",
            "controller_contact": f"valnamnden@{tenant.slug}.stemma.test, 010-100 00 00",
            "dpo_contact": f"dataskyddsombud@{tenant.slug}.stemma.test",
            "office_phone": "+46 8 508 000 00",
            "offer_answer_days": "7",
            "retention_months": "12",
            "applications_open": "1",
        },
    )
