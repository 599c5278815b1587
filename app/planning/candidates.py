"""An election's candidates kept off its stations (the authority's file, matched to the
register), and the municipality's own exclusions of people."""

from __future__ import annotations

from typing import Any

from quart import abort, flash, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.errors import DomainError
from app.core.i18n import _
from app.core.routes import Routes
from app.core.validation import FieldErrors
from app.core.web import db, on_refusal, render
from app.domain.elections.elections import get_election
from app.domain.registers import candidates, exclusions, people
from app.planning.people import default_country
from app.planning.staged_files import (
    back_to_upload,
    errors_at_file,
    preview_status,
    uploaded_file,
)

routes = Routes()


def _column_names() -> dict[str, str]:
    return {
        "first_name": _("First name"),
        "last_name": _("Last name"),
        "name": _("Name"),
        "birth_date": _("Birth date"),
        "national_id": _("Identity number"),
        "party": _("Party"),
        "list_name": _("List"),
        "ignored": _("Read past"),
    }


@routes.route("/elections/<int:election_id>/candidates", methods=["GET", "POST"])
@requires("registers.edit")
async def candidates_page(election_id: int) -> str | WerkzeugResponse | tuple[str, int]:
    """The election's candidate lists, and the upload of another."""
    election = await get_election(db(), election_id)

    async def page(errors: dict[str, str]) -> str:
        return await render(
            "planning/candidates/lists.html",
            election=election,
            lists=await candidates.candidate_lists(db(), election.id),
            errors=errors,
        )

    async def refused(error: DomainError) -> tuple[str, int]:
        return await page(errors_at_file(error)), 422

    if request.method == "POST":
        on_refusal(refused)
        filename, content = await uploaded_file()
        preview = await candidates.stage_candidates(
            db(), current_actor(), election.id, filename, content, default_country()
        )
        return redirect(
            url_for(
                "planning.candidates_preview", election_id=election.id, batch_id=preview.batch.id
            )
        )
    return await page({})


@routes.route(
    "/elections/<int:election_id>/candidates/import/<int:batch_id>", methods=["GET", "POST"]
)
@requires("registers.edit")
async def candidates_preview(
    election_id: int, batch_id: int
) -> str | WerkzeugResponse | tuple[str, int]:
    """What a candidate file holds, row by row, and whom it matches; confirm to save."""
    election = await get_election(db(), election_id)
    batch = await candidates.get_candidate_batch(db(), batch_id)
    if batch.election_id != election.id:
        abort(404)

    on_refusal(back_to_upload(url_for("planning.candidates_page", election_id=election.id)))
    if request.method == "POST":
        preview = await candidates.commit_candidates(
            db(), current_actor(), batch_id, default_country()
        )
        if preview.ok:
            await flash(
                _(
                    "The candidates are saved: %(count)s, of whom %(matched)s match the register.",
                    count=len(preview.rows),
                    matched=len({match.person_id for match in preview.matches}),
                ),
                "success",
            )
            return redirect(
                url_for(
                    "planning.candidate_list",
                    election_id=election.id,
                    list_id=preview.list_id,
                )
            )
    else:
        preview = await candidates.preview_candidates(db(), batch_id, default_country())
    page = await render(
        "planning/candidates/preview.html",
        election=election,
        preview=preview,
        column_names=_column_names(),
    )
    return page, preview_status(preview.ok)


@routes.get("/elections/<int:election_id>/candidates/<int:list_id>")
@requires("registers.edit")
async def candidate_list(election_id: int, list_id: int) -> str:
    return await _list_page(election_id, list_id, {})


async def _list_page(
    election_id: int, list_id: int, errors: dict[int, str], reason: str = ""
) -> str:
    election = await get_election(db(), election_id)
    kept, rows = await candidates.get_candidate_list(db(), election.id, list_id)
    return await render(
        "planning/candidates/list.html",
        election=election,
        kept=kept,
        rows=rows,
        errors=errors,
        reason=reason,
    )


@routes.post("/elections/<int:election_id>/candidates/<int:list_id>/<int:candidate_id>/dismiss")
@requires("registers.edit")
async def candidate_match_dismiss(
    election_id: int, list_id: int, candidate_id: int
) -> WerkzeugResponse | tuple[str, int]:
    """A likely match (name and birth date) is someone else: say why, and the person
    is no longer kept off the election."""
    reason = (await request.form).get("reason", "")

    async def refused(error: DomainError) -> tuple[str, int]:
        return await _list_page(election_id, list_id, {candidate_id: error.message}, reason), 422

    on_refusal(refused)
    await candidates.dismiss_match(
        db(), current_actor(), election_id, list_id, candidate_id, reason
    )
    await flash(_("The match is dismissed: the person is no longer kept off."), "success")
    return redirect(url_for("planning.candidate_list", election_id=election_id, list_id=list_id))


@routes.post("/elections/<int:election_id>/candidates/<int:list_id>/remove")
@requires("registers.edit")
async def candidate_list_remove(election_id: int, list_id: int) -> WerkzeugResponse:
    await candidates.remove_candidate_list(db(), current_actor(), election_id, list_id)
    await flash(_("The candidate list is removed."), "success")
    return redirect(url_for("planning.candidates_page", election_id=election_id))


# --- the municipality's own exclusions ----------------------------------------------------


@routes.get("/exclusions")
@requires("registers.edit")
async def exclusions_page() -> str:
    return await render(
        "planning/candidates/exclusions.html", rows=await exclusions.all_exclusions(db())
    )


@routes.route("/people/<int:person_id>/exclusions", methods=["GET", "POST"])
@requires("registers.edit")
async def person_exclusions(person_id: int) -> str | WerkzeugResponse | tuple[str, int]:
    """A person's exclusions, and the form to add one with its reason."""
    person = await people.get_person(db(), person_id)
    values: dict[str, Any] = {}

    async def page(errors: dict[str, str]) -> str:
        return await render(
            "planning/candidates/person_exclusions.html",
            person=person,
            rows=await exclusions.exclusions_of(db(), person.id),
            values=values,
            errors=errors,
        )

    async def refused(error: DomainError) -> tuple[str, int]:
        errors = error.errors if isinstance(error, FieldErrors) else {"reason": error.message}
        return await page(errors), 422

    if request.method == "POST":
        values = (await request.form).to_dict()
        on_refusal(refused)
        await exclusions.exclude_person(db(), current_actor(), person.id, values.get("reason", ""))
        await flash(_("%(name)s is excluded.", name=person.full_name), "success")
        return redirect(url_for("planning.person_exclusions", person_id=person.id))
    return await page({})


@routes.post("/people/<int:person_id>/exclusions/<int:exclusion_id>/lift")
@requires("registers.edit")
async def person_exclusion_lift(person_id: int, exclusion_id: int) -> WerkzeugResponse:
    await exclusions.lift_exclusion(db(), current_actor(), person_id, exclusion_id)
    await flash(_("The exclusion is lifted."), "success")
    return redirect(url_for("planning.person_exclusions", person_id=person_id))
