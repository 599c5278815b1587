"""What every privacy notice must say, whatever the office writes above it: who is
responsible for the data and how to reach them and the data protection officer, how
long the data are kept, the person's rights, and where to complain (GDPR art. 13)."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.models import Tenant
from app.domain.models import SiteSettings


@dataclass(frozen=True)
class Authority:
    """A country's data protection authority, where a person may complain."""

    name: str
    url: str


#: The supervisory authority of the municipality's country (the country is the one the
#: municipality's language names: a Danish municipality writes Danish).
AUTHORITIES = {
    "sv": Authority("Integritetsskyddsmyndigheten (IMY)", "https://www.imy.se"),
    "da": Authority("Datatilsynet", "https://www.datatilsynet.dk"),
}


@dataclass(frozen=True)
class PrivacyFacts:
    controller: str
    controller_contact: str | None
    dpo_contact: str | None
    application_months: int
    inactive_months: int | None
    pay_years: int
    authority: Authority


def privacy_facts(tenant: Tenant, settings: SiteSettings) -> PrivacyFacts:
    """The notice's facts from the municipality's settings: the controller is the
    municipality unless the office names its committee; its contact is the office's
    email unless the office gives one."""
    return PrivacyFacts(
        controller=settings.controller_name or tenant.name,
        controller_contact=settings.controller_contact or settings.office_email,
        dpo_contact=settings.dpo_contact,
        application_months=settings.retention_months,
        inactive_months=settings.inactive_retention_months,
        pay_years=settings.pay_retention_years,
        authority=AUTHORITIES.get(tenant.locale, AUTHORITIES["sv"]),
    )
