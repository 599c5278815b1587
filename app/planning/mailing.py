"""Letters by post for a group of an election's staff: the page that counts who gets
one and who is left out, and the address labels (PDF) and mail-merge workbook (Excel)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from quart import Response, request
from werkzeug.datastructures import MultiDict

from app.core.auth import current_actor, requires
from app.core.documents.label_sheets import DEFAULT_LAYOUT, LAYOUTS, write_labels_pdf
from app.core.downloads import attachment, slug
from app.core.i18n import _, lazy_gettext
from app.core.routes import Routes
from app.core.web import db, is_htmx, on_refusal, render
from app.domain.documents import mailing as letters_by_post
from app.domain.elections.districts import districts_of
from app.domain.elections.elections import get_election
from app.domain.labels import ASSIGNMENT_STATE
from app.domain.models import Election

routes = Routes()

LEFT_OUT_LABELS = {
    "erased": lazy_gettext("Erased"),
    "protected": lazy_gettext("Protected address"),
    "no_address": lazy_gettext("No postal address"),
}
STATES = ("proposed", "offered", "accepted", "declined")


def _choices(
    args: MultiDict[str, str], election_id: int
) -> tuple[letters_by_post.MailingGroup, str, int]:
    """The group, the label layout and the labels to skip from the query."""
    group = letters_by_post.clean_group(election_id, args.get("district"), args.getlist("state"))
    layout = args.get("layout") or DEFAULT_LAYOUT
    if layout not in LAYOUTS:
        raise letters_by_post.DocumentError(_("Choose one of the options."), field="layout")
    skip = args.get("skip", "0").strip() or "0"
    if not skip.isdigit() or int(skip) >= LAYOUTS[layout].per_sheet:
        raise letters_by_post.DocumentError(
            _("Enter a number from 0 to %(most)s.", most=LAYOUTS[layout].per_sheet - 1),
            field="skip",
        )
    return group, layout, int(skip)


async def _page(
    election: Election,
    group: letters_by_post.MailingGroup,
    layout: str,
    skip: int,
    errors: dict[str, str],
    status: int = 200,
) -> tuple[str, int]:
    found = await letters_by_post.mailing(db(), group)
    query: dict[str, Any] = {"state": list(group.states), "layout": layout, "skip": skip}
    if group.district_id is not None:
        query["district"] = group.district_id
    values = {**query, "district": group.district_id or ""}
    page = await render(
        "planning/staffing/mailing.html",
        block="count" if is_htmx() and not errors else None,
        election=election,
        found=found,
        query=query,
        values=values,
        errors=errors,
        district_choices=[("", _("All districts"))]
        + [(d.id, f"{d.code} {d.name}") for d in await districts_of(db(), election.id)],
        state_choices=[(state, ASSIGNMENT_STATE[state]) for state in STATES],
        layout_choices=[(key, layout.label) for key, layout in LAYOUTS.items()],
        left_out_labels=LEFT_OUT_LABELS,
    )
    return page, status


@routes.get("/elections/<int:election_id>/staffing/mailing")
@requires("staffing.edit")
async def mailing(election_id: int) -> tuple[str, int]:
    """Who of a group gets a letter by post, who is left out and why; the downloads."""
    election = await _election_refused_on_page(election_id)
    group, layout, skip = _choices(request.args, election.id)
    return await _page(election, group, layout, skip, {})


async def _election_refused_on_page(election_id: int) -> Election:
    """The election; a refused choice answers the page with the message at its field."""
    election = await get_election(db(), election_id)
    default = letters_by_post.MailingGroup(election.id)
    on_refusal(lambda error: _page(election, default, DEFAULT_LAYOUT, 0, error.errors, 422))
    return election


@routes.get("/elections/<int:election_id>/staffing/mailing/labels.pdf")
@requires("staffing.edit")
async def mailing_labels(election_id: int) -> Response:
    """The group's address labels on the chosen sheet, one per person."""
    election = await _election_refused_on_page(election_id)
    group, layout, skip = _choices(request.args, election.id)
    found = await letters_by_post.print_labels(db(), current_actor(), group)
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
    group, _layout, _skip = _choices(request.args, election.id)
    found = await letters_by_post.export_mail_merge(db(), current_actor(), group)
    body = await asyncio.to_thread(letters_by_post.write_mail_merge_xlsx, found)
    name = f"{slug(_('Mail merge'))}-{slug(found.election.name)}-{dt.date.today().isoformat()}"
    return attachment(body, "xlsx", name)
