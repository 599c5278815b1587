"""The accessibility statement: what every statement must say, whatever the office writes
above it (the EU model statement, decision 2018/1523, as Sweden's lag (2018:1937) om
tillgänglighet till digital offentlig service and Denmark's webtilgængelighedslov ask):
who is responsible, how to report a problem or ask for content in an accessible form,
where to turn when the answer does not satisfy, and the statement's dates.

The office's part (its compliance status, what is not yet accessible and why, how it
was assessed) is the editable page ``accessibility``; its built-in text is here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant
from app.domain.models import SiteSettings, WebPartVersion


@dataclass(frozen=True)
class Supervision:
    """A country's supervisory authority for public bodies' web accessibility, named in
    the country's language (``lang``), with the page where a person reports a failure."""

    authority: str
    law: str
    report_url: str
    lang: str


#: The authority of the municipality's country (the country whose language the
#: municipality writes, as for the privacy notice's data protection authority).
SUPERVISION = {
    "sv": Supervision(
        authority="Myndigheten för digital förvaltning (Digg)",
        law="lagen (2018:1937) om tillgänglighet till digital offentlig service",
        report_url="https://www.digg.se/tdosanmalan",
        lang="sv",
    ),
    "da": Supervision(
        authority="Digitaliseringsstyrelsen",
        law="lov om tilgængelighed af offentlige organers websteder og mobilapplikationer",
        report_url=(
            "https://digst.dk/digital-inklusion/webtilgaengelighed/oplever-du-ikke-tilgaengeligt-indhold/"
        ),
        lang="da",
    ),
}


@dataclass(frozen=True)
class AccessibilityFacts:
    public_body: str
    office_email: str | None
    office_phone: str | None
    supervision: Supervision
    #: The country: Denmark asks for an answer within 10 working days before a complaint.
    country: str
    first_published: dt.datetime | None
    last_reviewed: dt.datetime | None


async def accessibility_facts(
    session: AsyncSession, tenant: Tenant, settings: SiteSettings, shown: WebPartVersion | None
) -> AccessibilityFacts:
    """The statement's fixed facts: the public body (the office's committee if named),
    its contact for reports, the country's authority, and the dates: first published
    (in the language read) and last reviewed (the version shown)."""
    first = None
    if shown is not None:
        first = await session.scalar(
            select(func.min(WebPartVersion.published_at)).where(
                WebPartVersion.key == "accessibility", WebPartVersion.locale == shown.locale
            )
        )
    country = tenant.locale if tenant.locale in SUPERVISION else "sv"
    return AccessibilityFacts(
        public_body=settings.controller_name or tenant.name,
        office_email=settings.office_email,
        office_phone=settings.office_phone,
        supervision=SUPERVISION[country],
        country=country,
        first_published=first,
        last_reviewed=shown.published_at if shown is not None else None,
    )


#: The built-in statement in each language: the office replaces the status and the
#: list of what is not accessible with its own assessment, and publishes it.
DEFAULT_STATEMENTS: dict[str, tuple[str, str]] = {
    "sv": (
        "Tillgänglighetsredogörelse",
        "Valnämnden står bakom den här webbplatsen för rekrytering av röstmottagare och "
        "portalen för dem som arbetar i valet. Vi vill att så många som möjligt ska kunna "
        "använda dem. Här beskriver vi hur webbplatsen uppfyller lagen om tillgänglighet "
        "till digital offentlig service, kända brister och hur du kan meddela oss "
        "problem.\n\n"
        "## Hur tillgänglig är webbplatsen?\n\n"
        "Webbplatsen är **delvis förenlig** med lagen om tillgänglighet till digital "
        "offentlig service, på grund av de brister som beskrivs nedan.\n\n"
        "## Innehåll som inte är tillgängligt\n\n"
        "* Text som kontoret har skrivit in (sidor, bilagor, bilder) kan sakna "
        "textalternativ eller rubriker. Vi rättar det när vi hittar det.\n"
        "* Dokument i PDF som laddats upp av kontoret kan vara otillgängliga. Be oss om "
        "innehållet i ett annat format.\n\n"
        "## Hur vi har testat webbplatsen\n\n"
        "Vi har gjort en egen bedömning (självskattning) mot WCAG 2.1 nivå AA, med "
        "automatiska tester och prov med enbart tangentbord och skärmläsare.",
    ),
    "da": (
        "Tilgængelighedserklæring",
        "Valgudvalget står bag dette websted til rekruttering af valgtilforordnede og "
        "portalen for dem, der arbejder ved valget. Vi vil gerne have, at så mange som "
        "muligt kan bruge dem. Her beskriver vi, hvordan webstedet overholder "
        "webtilgængelighedsloven, hvilke mangler vi kender, og hvordan du kan gøre os "
        "opmærksom på problemer.\n\n"
        "## Hvor tilgængeligt er webstedet?\n\n"
        "Webstedet **overholder delvist** webtilgængelighedsloven på grund af de "
        "mangler, der er beskrevet nedenfor.\n\n"
        "## Indhold, der ikke er tilgængeligt\n\n"
        "* Tekst, som kontoret har skrevet ind (sider, bilag, billeder), kan mangle "
        "tekstalternativer eller overskrifter. Vi retter det, når vi finder det.\n"
        "* PDF-dokumenter, som kontoret har lagt op, kan være utilgængelige. Bed os om "
        "indholdet i et andet format.\n\n"
        "## Sådan har vi testet webstedet\n\n"
        "Vi har selv vurderet webstedet (selvevaluering) efter WCAG 2.1 niveau AA, med "
        "automatiske test og afprøvning med kun tastatur og skærmlæser.",
    ),
    "en": (
        "Accessibility statement",
        "The election committee runs this site for recruiting poll clerks and the portal "
        "for those who work in the election. We want as many people as possible to be able "
        "to use them. This statement describes how the site meets the law on the "
        "accessibility of public bodies' websites, the problems we know of, and how to "
        "tell us about a problem.\n\n"
        "## How accessible is the site?\n\n"
        "The site is **partially compliant** with the law, because of the problems "
        "described below.\n\n"
        "## Content that is not accessible\n\n"
        "* Text the office has entered (pages, attachments, images) may lack text "
        "alternatives or headings. We correct it when we find it.\n"
        "* PDF documents the office has uploaded may not be accessible. Ask us for the "
        "content in another format.\n\n"
        "## How we tested the site\n\n"
        "We assessed the site ourselves (a self-assessment) against WCAG 2.1 level AA, "
        "with automatic tests and tests with a keyboard only and a screen reader.",
    ),
}
