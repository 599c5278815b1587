"""The election office's inbox: applications to review and messages from the contact form."""

from __future__ import annotations

import datetime as dt
from typing import Any

from quart import flash, g, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.errors import DomainError
from app.core.i18n import _, ngettext
from app.core.paging import page_number
from app.core.routes import Routes
from app.core.settings import SUPPORTED_LOCALES
from app.core.validation import parse_id, parse_ids
from app.core.web import app_settings, db, on_refusal, render
from app.domain.clerks import places as portal
from app.domain.labels import (
    APPLICATION_STATUS,
    EXPERIENCE,
    SPOKEN_LANGUAGES,
    WORK_KIND,
    choices,
)
from app.domain.models import APPLICATION_STATUSES, EXPERIENCE_LEVELS, WORK_KINDS
from app.domain.recruitment import application_form, applications, contact, register_match
from app.domain.recruitment import review as application_review
from app.domain.registers.identity import format_phone, mask_national_id
from app.domain.registers.people import get_person
from app.domain.site import webparts
from app.planning.person_staffing import standing_context

routes = Routes()


def _labels() -> dict[str, Any]:
    return {
        "status_labels": APPLICATION_STATUS,
        "work_kind_labels": WORK_KIND,
        "experience_labels": EXPERIENCE,
        "language_names": {code: str(name) for code, name in SPOKEN_LANGUAGES.items()},
        "mask": mask_national_id,
        "format_phone": format_phone,
    }


@routes.get("/applications/")
@requires("applications.review")
async def applications_list() -> str:
    filters = applications.ApplicationFilters.from_args(request.args)
    page = await applications.search_applications(
        db(), filters, page=page_number(request.args.get("page"))
    )
    elections, _districts = await applications.names_for(db(), page.applications)
    offered = await application_form.open_elections(db(), dt.date.min)
    return await render(
        "planning/applications/list.html",
        block="results",
        page=page,
        filters=filters,
        elections=elections,
        offered=offered,
        status_choices=[(s, str(APPLICATION_STATUS[s])) for s in APPLICATION_STATUSES],
        work_kind_choices=[(k, str(WORK_KIND[k])) for k in WORK_KINDS],
        experience_choices=[(e, str(EXPERIENCE[e])) for e in EXPERIENCE_LEVELS],
        language_choices=choices(SPOKEN_LANGUAGES),
        in_register=await register_match.matched_ids(db(), page.applications),
        **_labels(),
    )


async def _reply_texts(locale: str) -> dict[str, str]:
    language = locale if locale in SUPPORTED_LOCALES else "sv"
    shown = await webparts.shown_many(db(), ("reply_rejected", "reply_more_info"), language)
    return {key: part.body for key, part in shown.items()}


@routes.get("/applications/<int:application_id>")
@requires("applications.review")
async def application_detail(application_id: int) -> str:
    application = await applications.get_application(db(), application_id)
    return await _detail(application, {})


async def _detail(application: Any, problems: dict[str, str], status: int = 200) -> Any:
    elections, districts = await applications.names_for(db(), [application])
    page = await render(
        "planning/applications/detail.html",
        application=application,
        match=await register_match.register_match(db(), application),
        field_labels=register_match.FIELD_LABELS,
        elections=elections,
        districts=districts,
        replies=await _reply_texts(application.preferred_language),
        **await _standing(application),
        problems=problems,
        **_labels(),
    )
    return (page, status) if status != 200 else page


async def _standing(application: Any) -> dict[str, Any]:
    """An approved applicant's standing in the elections they applied to: what keeps
    them from a place, and the way to a course and a place."""
    if application.status != "approved" or application.person_id is None:
        return {"standings": None}
    person = await get_person(db(), application.person_id)
    election_ids = [choice.election_id for choice in application.choices]
    return await standing_context(person, election_ids, application.id)


@routes.post("/applications/approve")
@requires("applications.review")
async def applications_approve() -> Any:
    """Approve one application (from its page) or many (from the list), all or none."""
    form = await request.form
    ids = parse_ids(form.getlist("application_ids"))
    back = form.get("back") == "detail" and len(ids) == 1

    async def refused(error: DomainError) -> Any:
        problems = getattr(error, "problems", {})
        if back:
            application = await applications.get_application(db(), ids[0])
            return await _detail(application, {"approve": problems.get(ids[0], error.message)}, 409)
        await flash(error.message, "error")
        for application_id, problem in problems.items():
            await flash(
                _("Application %(id)s: %(problem)s", id=application_id, problem=problem), "error"
            )
        return redirect(url_for("planning.applications_list", **_kept_args()))

    decisions = {}
    if back:
        # Only the application's page shows the register's details beside the
        # application's, so only there can the office take a value or invite a match.
        decisions[ids[0]] = register_match.MatchDecision(
            take=frozenset(form.getlist("take")),
            invite=form.get("invite") == "1",
            seen_submission=parse_id(form.get("seen")),
        )
    on_refusal(refused)
    approval = await application_review.approve_applications(
        db(), current_actor(), g.tenant, ids, decisions
    )
    approved = approval.applications
    await flash(
        _("%(count)s applications approved. The people are in the register.", count=len(approved))
        if len(approved) != 1
        else _(
            "The application is approved. %(name)s is in the register.", name=approved[0].full_name
        ),
        "success",
    )
    await _invite_to_portal(approval.to_invite)
    if back:
        return redirect(url_for("planning.application_detail", application_id=ids[0]))
    return redirect(url_for("planning.applications_list", **_kept_args()))


async def _invite_to_portal(person_ids: list[int]) -> None:
    """Approved people get their clerk account and an invitation to the portal, each in
    its own transaction after the approval (which stands even if an invitation fails)."""
    invited = await portal.invite_each_to_portal(
        db(), current_actor(), app_settings(), g.tenant, person_ids
    )
    if invited:
        await flash(
            ngettext(
                "%(num)s invitation to the portal sent.",
                "%(num)s invitations to the portal sent.",
                invited,
            ),
            "success",
        )


def _kept_args() -> dict[str, Any]:
    kept = (
        "q",
        "status",
        "election",
        "day",
        "work_kind",
        "language",
        "district",
        "experience",
        "page",
    )
    return {key: request.args[key] for key in kept if key in request.args}


@routes.post("/applications/<int:application_id>/reject")
@requires("applications.review")
async def application_reject(application_id: int) -> Any:
    return await _answer(application_id, "reject")


@routes.post("/applications/<int:application_id>/more-info")
@requires("applications.review")
async def application_more_info(application_id: int) -> Any:
    return await _answer(application_id, "more_info")


async def _answer(application_id: int, action: str) -> Any:
    form = await request.form
    message = form.get("message", "")
    service = (
        application_review.reject_application
        if action == "reject"
        else application_review.request_more_information
    )

    async def refused(error: DomainError) -> Any:
        application = await applications.get_application(db(), application_id)
        return await _detail(application, {action: error.message}, 422)

    on_refusal(refused)
    await service(db(), current_actor(), g.tenant, application_id, message, app_settings().base_url)
    await flash(
        _("The application is rejected and the applicant has been told.")
        if action == "reject"
        else _("The question has been sent to the applicant."),
        "success",
    )
    return redirect(url_for("planning.application_detail", application_id=application_id))


# --- contact messages -------------------------------------------------------------------


@routes.get("/messages/")
@requires("applications.review")
async def messages_list() -> str:
    state = request.args.get("state") or None
    page = await contact.list_messages(db(), state, page=page_number(request.args.get("page")))
    return await render("planning/messages/list.html", page=page, state=state)


@routes.get("/messages/<int:message_id>")
@requires("applications.review")
async def message_detail(message_id: int) -> str:
    message = await contact.open_message(db(), current_actor(), message_id)
    return await render("planning/messages/detail.html", message=message)


@routes.post("/messages/<int:message_id>/answered")
@requires("applications.review")
async def message_answered(message_id: int) -> WerkzeugResponse:
    form = await request.form
    answered = form.get("answered") == "1"
    await contact.set_answered(db(), current_actor(), message_id, answered)
    await flash(_("Marked as answered.") if answered else _("Marked as not answered."), "success")
    return redirect(url_for("planning.message_detail", message_id=message_id))
