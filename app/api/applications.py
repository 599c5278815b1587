"""Applications over the JSON API: a municipality's own website submits them; the office's
systems list and read them."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field, StrictBool
from quart import g
from quart_schema import tag, validate_querystring, validate_request, validate_response

from app.api.schema import Day, Id, PageNumber, PerPage, QueryId, Words
from app.core.routes import Routes
from app.core.web import app_settings, db
from app.domain.models import Application
from app.domain.recruitment import applications
from app.domain.registers.identity import mask_national_id

routes = Routes()


class ElectionChoiceIn(BaseModel):
    election_id: Id
    work_kinds: list[str] = Field(max_length=3, description="election_day, advance, counting")
    days: list[Day] = Field(max_length=100)
    district_ids: list[Id] = Field([], max_length=500)


class ApplicationIn(BaseModel):
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    national_id: str = Field(max_length=20, description="Written only; never returned in full.")
    national_id_country: str | None = Field(None, max_length=2, description="SE, DK or NO")
    email: str = Field(max_length=254)
    mobile: str = Field(max_length=30)
    street_address: str = Field("", max_length=200)
    postal_code: str = Field("", max_length=10)
    city: str = Field("", max_length=100)
    preferred_language: str = Field(
        "sv", max_length=8, description="sv, da or en: also the language of replies"
    )
    spoken_languages: Words = []
    experience: str = Field("none", max_length=8, description="none, some or much")
    experience_notes: str = Field("", max_length=5000)
    preferred_areas: str = Field("", max_length=300)
    message: str = Field("", max_length=5000)
    consent: StrictBool = Field(description="The applicant accepted the privacy notice")
    not_candidate: StrictBool = Field(
        description=(
            "The applicant declares that they are not a candidate in the elections they "
            "apply for: candidates cannot serve as poll clerks in an election they stand "
            "in (tell the applicant so on your form). Required; false is refused with a "
            "problem document naming this field."
        )
    )
    elections: list[ElectionChoiceIn] = Field(max_length=20)


class ElectionChoiceOut(BaseModel):
    election_id: int
    work_kinds: list[str]
    days: list[dt.date]
    district_ids: list[int]


class ApplicationOut(BaseModel):
    id: int
    status: str
    first_name: str
    last_name: str
    national_id_masked: str
    birth_date: dt.date | None
    email: str
    mobile: str
    street_address: str
    postal_code: str
    city: str
    preferred_language: str
    spoken_languages: list[str]
    experience: str
    experience_notes: str
    preferred_areas: str
    message: str
    source: str
    #: As the web form keeps it: whether the applicant declared not to be a candidate.
    declared_not_candidate: bool
    submitted_at: dt.datetime
    consented_at: dt.datetime
    privacy_notice_version: int
    person_id: int | None
    elections: list[ElectionChoiceOut]

    @classmethod
    def of(
        cls, application: Application, district_elections: dict[int, int] | None = None
    ) -> ApplicationOut:
        """``district_elections`` maps district ids to their election, so each election
        lists only its own district wishes."""
        district_elections = district_elections or {}
        return cls(
            id=application.id,
            status=application.status,
            first_name=application.first_name,
            last_name=application.last_name,
            national_id_masked=mask_national_id(
                application.national_id_country, application.national_id
            ),
            birth_date=application.birth_date,
            email=application.email,
            mobile=application.mobile,
            street_address=application.street_address,
            postal_code=application.postal_code,
            city=application.city,
            preferred_language=application.preferred_language,
            spoken_languages=application.spoken_languages,
            experience=application.experience,
            experience_notes=application.experience_notes,
            preferred_areas=application.preferred_areas,
            message=application.message,
            source=application.source,
            declared_not_candidate=application.declared_not_candidate,
            submitted_at=application.submitted_at,
            consented_at=application.consented_at,
            privacy_notice_version=application.privacy_version_number,
            person_id=application.person_id,
            elections=[
                ElectionChoiceOut(
                    election_id=choice.election_id,
                    work_kinds=choice.work_kinds,
                    days=[d.day for d in application.days if d.election_id == choice.election_id],
                    district_ids=[
                        d.district_id
                        for d in application.districts
                        if district_elections.get(d.district_id) == choice.election_id
                    ],
                )
                for choice in application.choices
            ],
        )


class SubmittedOut(BaseModel):
    received: bool = True


class ApplicationsQuery(BaseModel):
    status: str | None = Field(None, max_length=16)
    election_id: QueryId | None = None
    day: Day | None = None
    work_kind: str | None = Field(None, max_length=16)
    language: str | None = Field(None, max_length=8)
    district_id: QueryId | None = None
    experience: str | None = Field(None, max_length=8)
    page: PageNumber = 1
    per_page: PerPage = 100


class ApplicationsPage(BaseModel):
    items: list[ApplicationOut]
    total: int
    page: int
    pages: int


@routes.post("/applications")
@tag(["applications"])
@validate_request(ApplicationIn)
@validate_response(SubmittedOut, 202)
async def api_submit_application(data: ApplicationIn) -> tuple[SubmittedOut, int]:
    """Submit an application from the municipality's own website.

    The answer is the same whether the applicant applied before (their application is
    then updated), so it never tells whether a person exists. The applicant gets the
    confirmation email with the link to their data, as from the public site.
    """
    settings = app_settings()
    payload = data.model_dump()
    payload["national_id_country"] = payload["national_id_country"] or ""
    await applications.submit_application(
        db(),
        g.tenant,
        payload,
        locale=data.preferred_language if data.preferred_language in ("sv", "da", "en") else "sv",
        base_url=settings.base_url,
        today=dt.datetime.now(dt.UTC).date(),
        source="api",
        declaration_required=True,
    )
    return SubmittedOut(), 202


@routes.get("/applications")
@tag(["applications"])
@validate_querystring(ApplicationsQuery)
@validate_response(ApplicationsPage)
async def api_applications(query_args: ApplicationsQuery) -> ApplicationsPage:
    """Applications, newest first, with the same filters as the inbox."""
    filters = applications.ApplicationFilters(
        status=query_args.status,
        election_id=query_args.election_id,
        day=query_args.day,
        work_kind=query_args.work_kind,
        language=query_args.language,
        district_id=query_args.district_id,
        experience=query_args.experience,
    )
    page = await applications.search_applications(
        db(), filters, query_args.page, query_args.per_page
    )
    _elections, districts = await applications.names_for(db(), page.applications)
    mapping = {district.id: district.election_id for district in districts.values()}
    return ApplicationsPage(
        items=[ApplicationOut.of(a, mapping) for a in page.applications],
        total=page.total,
        page=page.page,
        pages=page.pages,
    )


@routes.get("/applications/<id:application_id>")
@tag(["applications"])
@validate_response(ApplicationOut)
async def api_application(application_id: int) -> ApplicationOut:
    application = await applications.get_application(db(), application_id)
    _elections, districts = await applications.names_for(db(), [application])
    return ApplicationOut.of(application, {d.id: d.election_id for d in districts.values()})
