"""Letters by post for a group of an election's people (the dispatches' groups): the
page that counts who gets one and who is left out, and the address labels (PDF) and
mail-merge workbook (Excel)."""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Response, request
from werkzeug.datastructures import MultiDict

from app.core.auth import current_actor, requires
from app.core.documents.label_sheets import DEFAULT_LAYOUT, LAYOUTS, write_labels_pdf
from app.core.downloads import attachment, slug
from app.core.i18n import _, lazy_gettext
from app.core.routes import Routes
from app.core.web import db, is_htmx, on_refusal, render
from app.domain.dispatches.filters import STAFF_STATES, RecipientFilter, choices_for
from app.domain.documents import DocumentError
from app.domain.documents import mailing as letters_by_post
from app.domain.elections.elections import get_election
from app.domain.labels import ASSIGNMENT_STATE
from app.domain.models import Election
from app.domain.ops.access import local_today

routes = Routes()

LEFT_OUT_LABELS = {
    "erased": lazy_gettext("Erased"),
    "protected": lazy_gettext("Protected address"),
    "no_address": lazy_gettext("No postal address"),
}
GROUP_LABELS = {
    "staff": lazy_gettext("People with a place"),
    "reserves": lazy_gettext("Reserves"),
}


def _form_data(args: MultiDict[str, str]) -> dict[str, Any]:
    """The query as the dispatch filter reads it (its lists as lists)."""
    data: dict[str, Any] = args.to_dict()
    data["states"] = args.getlist("states")
    return data


def _choices(args: MultiDict[str, str], election_id: int) -> tuple[RecipientFilter, str, int]:
    """The group, the label layout and the labels to skip from the query."""
    chosen = letters_by_post.clean_group(election_id, _form_data(args))
    layout = args.get("layout") or DEFAULT_LAYOUT
    if layout not in LAYOUTS:
        raise DocumentError(_("Choose one of the options."), field="layout")
    skip = args.get("skip", "0").strip() or "0"
    if not skip.isdigit() or int(skip) >= LAYOUTS[layout].per_sheet:
        raise DocumentError(
            _("Enter a number from 0 to %(most)s.", most=LAYOUTS[layout].per_sheet - 1),
            field="skip",
        )
    return chosen, layout, int(skip)


async def _page(
    election: Election,
    chosen: RecipientFilter,
    layout: str,
    skip: int,
    errors: dict[str, str],
    status: int = 200,
) -> tuple[str, int]:
    found = await letters_by_post.mailing(db(), chosen)
    query: dict[str, Any] = {**chosen.as_dict(), "layout": layout, "skip": skip}
    query.pop("election_id", None)
    options = await choices_for(db(), election.id)
    page = await render(
        "planning/staffing/mailing.html",
        block="count" if is_htmx() and not errors else None,
        election=election,
        found=found,
        query=query,
        values={**query, "states": list(chosen.states)},
        errors=errors,
        group_choices=list(GROUP_LABELS.items()),
        district_choices=options.districts,
        station_choices=options.stations,
        role_choices=[(role.id, role.name) for role in options.roles],
        day_choices=[(day.isoformat(), day.isoformat()) for day in options.days],
        state_choices=[(state, ASSIGNMENT_STATE[state]) for state in STAFF_STATES],
        layout_choices=[(key, layout.label) for key, layout in LAYOUTS.items()],
        left_out_labels=LEFT_OUT_LABELS,
    )
    return page, status


async def _election_refused_on_page(election_id: int) -> Election:
    """The election; a refused choice answers the page with the message at its field."""
    election = await get_election(db(), election_id)
    default = RecipientFilter(election_id=election.id)
    on_refusal(lambda error: _page(election, default, DEFAULT_LAYOUT, 0, error.errors, 422))
    return election


@routes.get("/elections/<int:election_id>/staffing/mailing")
@requires("staffing.edit")
async def mailing(election_id: int) -> tuple[str, int]:
    """Who of a group gets a letter by post, who is left out and why; the downloads."""
    election = await _election_refused_on_page(election_id)
    chosen, layout, skip = _choices(request.args, election.id)
    return await _page(election, chosen, layout, skip, {})


@routes.get("/elections/<int:election_id>/staffing/mailing/labels.pdf")
@requires("staffing.edit")
async def mailing_labels(election_id: int) -> Response:
    """The group's address labels on the chosen sheet, one per person."""
    election = await _election_refused_on_page(election_id)
    chosen, layout, skip = _choices(request.args, election.id)
    found = await letters_by_post.print_labels(db(), current_actor(), chosen)
    title = _("Address labels")
    body = await asyncio.to_thread(
        write_labels_pdf,
        [recipient.address_lines for recipient in found.recipients],
        LAYOUTS[layout],
        title=f"{title} – {found.election.name}",
        author=found.election.name,
        skip=skip,
    )
    return attachment(body, "pdf", f"{slug(title)}-{slug(found.election.name)}")


@routes.get("/elections/<int:election_id>/staffing/mailing/mail-merge.xlsx")
@requires("staffing.edit")
async def mailing_workbook(election_id: int) -> Response:
    """The group as one row per person, for a word processor's mail merge."""
    election = await _election_refused_on_page(election_id)
    chosen, _layout, _skip = _choices(request.args, election.id)
    found = await letters_by_post.export_mail_merge(db(), current_actor(), chosen)
    body = await asyncio.to_thread(letters_by_post.write_mail_merge_xlsx, found)
    today = (await local_today(db())).isoformat()
    name = f"{slug(_('Mail merge'))}-{slug(found.election.name)}-{today}"
    return attachment(body, "xlsx", name)
