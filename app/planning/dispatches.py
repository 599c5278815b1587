"""Dispatches: the office writes a message to a chosen group, sees the counts, who is
left out, the SMS parts and cost and one recipient's messages, confirms, and follows
each message's state; sends again to the failed."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from quart import flash, g, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.errors import DomainError
from app.core.i18n import _, format_locale, named
from app.core.paging import page_number
from app.core.routes import Routes
from app.core.validation import parse_id
from app.core.web import app_settings, db, on_refusal, render
from app.domain.dispatches import DispatchError, filters, preview, sending, status
from app.domain.dispatches.texts import template_choices
from app.domain.elections.elections import list_elections
from app.domain.labels import APPLICATION_STATUS, ASSIGNMENT_STATE
from app.domain.messaging.fields import fields_for
from app.domain.models import APPLICATION_STATUSES

routes = Routes()

FORM_LABELS = (
    "title", "group", "election_id", "district_id", "station_id", "role_type_id", "states",
    "day", "course_id", "course_state", "arrival", "channels", "message_key",
    "subject_sv", "email_sv", "sms_sv", "subject_da", "email_da", "sms_da",
    "subject_en", "email_en", "sms_en",
)  # fmt: skip


def _labels() -> dict[str, Any]:
    return {
        "group_labels": {
            "staff": _("People with a place"),
            "reserves": _("Reserves"),
            "applicants": _("Applicants"),
            "course": _("Booked on a course"),
            "register": _("Everyone in the register"),
        },
        "course_state_labels": {
            "booked": _("Booked"),
            "not_booked": _("Not booked"),
            "attended": _("Attended"),
            "absent": _("Absent"),
        },
        "arrival_labels": {"arrived": _("Arrived"), "not_arrived": _("Not arrived")},
        "channel_labels": {"email": _("E-mail"), "sms": _("SMS")},
        "reason_labels": {
            "no_email": _("No e-mail address"),
            "no_mobile": _("No mobile number"),
            "erased": _("Erased"),
        },
        "state_labels": {
            "draft": _("Draft"),
            "scheduled": _("Scheduled"),
            "queueing": _("Being sent"),
            "sent": _("Sent"),
            "cancelled": _("Cancelled"),
        },
        "recipient_state_labels": {
            "waiting": _("Waiting"),
            "queued": _("Queued"),
            "sent": _("Sent"),
            "delivered": _("Delivered"),
            "failed": _("Failed"),
            "refused": _("Refused"),
            "left_out": _("Left out"),
        },
        "language_labels": {"sv": "Svenska", "da": "Dansk", "en": "English"},
    }


@routes.get("/dispatches/")
@requires("messaging.send")
async def dispatches_list() -> str:
    page = await status.list_dispatches(db(), page_number(request.args.get("page")))
    return await render("planning/dispatches/list.html", page=page, **_labels())


async def _form_page(values: dict[str, Any], errors: dict[str, str]) -> str | tuple[str, int]:
    # A form that came without its one-time key gets a new one to send again with.
    if not str(values.get("request_key") or ""):
        values["request_key"] = secrets.token_urlsafe(24)
    elections = [election for election, _d, _s in await list_elections(db())]
    election_id = parse_id(str(values.get("election_id") or ""))
    if election_id not in {e.id for e in elections}:
        election_id = elections[0].id if elections else None
        values["election_id"] = election_id
    offered = await filters.choices_for(db(), election_id)
    page = await render(
        "planning/dispatches/form.html",
        values=values,
        errors=errors,
        elections=[(e.id, e.name) for e in elections],
        choices=offered,
        role_choices=[(role.id, named(role)) for role in offered.roles],
        day_choices=[
            (day.isoformat(), format_date(day, "EEE d MMM y", locale=format_locale()))
            for day in offered.days
        ],
        states=[(s, str(ASSIGNMENT_STATE[s])) for s in filters.STAFF_STATES],
        application_statuses=[(s, str(APPLICATION_STATUS[s])) for s in APPLICATION_STATUSES],
        templates=await template_choices(db()),
        fields=fields_for(("election", "place")),
        **_labels(),
    )
    return (page, 422) if errors else page


def _form_values(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = form.to_dict()
    values["states"] = form.getlist("states")
    values["application_statuses"] = form.getlist("application_statuses")
    values["channels"] = form.getlist("channels")
    return values


@routes.route("/dispatches/new", methods=["GET", "POST"])
@requires("messaging.send")
async def dispatch_new() -> str | WerkzeugResponse | tuple[str, int]:
    """Write a dispatch: the group, the channels and the words. Saving shows the counts
    and the preview; nothing is sent before the office confirms."""
    if request.method == "POST":
        form = await request.form
        values = _form_values(form)
        on_refusal(lambda error: _form_page(values, error.errors))
        draft = sending.DispatchDraft.from_mapping(values)
        dispatch = await sending.create_dispatch(db(), current_actor(), draft)
        return redirect(url_for("planning.dispatch_detail", dispatch_id=dispatch.id))
    values = {
        "group": "staff",
        "states": ["accepted"],
        "channels": ["email", "sms"],
        "election_id": request.args.get("election", ""),
        "request_key": secrets.token_urlsafe(24),
    }
    return await _form_page(values, {})


async def _detail(
    dispatch_id: int, errors: dict[str, str] | None = None, confirm: bool = False
) -> str | tuple[str, int]:
    dispatch = await sending.get_dispatch(db(), dispatch_id)
    shown = counts = recipients = None
    chosen_state = request.args.get("state", "")
    if dispatch.state == "draft":
        shown = await preview.preview(
            db(),
            dispatch,
            app_settings().base_url,
            app_settings().sms_price_per_part,
            request.args.get("preview") or None,
        )
    else:
        counts = await status.counts(db(), dispatch)
        states = [chosen_state] if chosen_state in status.STATES else []
        if chosen_state == "failed":
            states = ["failed", "refused"]
        recipients = await status.recipients(
            db(), dispatch, states, page_number(request.args.get("page"))
        )
    page = await render(
        "planning/dispatches/detail.html",
        dispatch=dispatch,
        preview=shown,
        counts=counts,
        recipients=recipients,
        chosen_state=chosen_state if chosen_state in status.STATES else "",
        recipient_states=status.STATES,
        errors=errors or {},
        confirm=confirm,
        values={"send_at": request.args.get("send_at", "")},
        new_request_key=secrets.token_urlsafe(24),
        timezone=g.tenant.timezone,
        **_labels(),
    )
    return (page, 422) if errors else page


@routes.get("/dispatches/<int:dispatch_id>")
@requires("messaging.send")
async def dispatch_detail(dispatch_id: int) -> str | tuple[str, int]:
    return await _detail(dispatch_id)


def _send_at(raw: str, timezone: str) -> dt.datetime | None:
    """The local time the form names (``YYYY-MM-DDTHH:MM``), in the municipality's zone."""
    if not raw:
        return None
    try:
        local = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise DispatchError(_("Enter a date and time."), "send_at") from None
    if local.tzinfo is not None:
        raise DispatchError(_("Enter a date and time."), "send_at")
    return local.replace(tzinfo=ZoneInfo(timezone))


@routes.post("/dispatches/<int:dispatch_id>/send")
@requires("messaging.send")
async def dispatch_send(dispatch_id: int) -> str | WerkzeugResponse | tuple[str, int]:
    """Send now or at a time. The first post shows what will be sent and asks again;
    the confirmed one sends."""
    form = await request.form
    on_refusal(lambda error: _detail(dispatch_id, error.errors))
    when = _send_at(form.get("send_at", "").strip(), g.tenant.timezone)
    if form.get("confirmed") != "1":
        await sending.get_dispatch(db(), dispatch_id)  # another municipality's: 404
        sending.scheduled_time(when, dt.datetime.now(dt.UTC))
        return await _detail(dispatch_id, confirm=True)
    dispatch = await sending.send_dispatch(
        db(), current_actor(), dispatch_id, app_settings().base_url, send_at=when
    )
    if dispatch.state == "scheduled":
        await flash(_("The dispatch is scheduled."), "success")
    else:
        await flash(_("The dispatch has been sent to the outbox."), "success")
    return redirect(url_for("planning.dispatch_detail", dispatch_id=dispatch_id))


@routes.post("/dispatches/<int:dispatch_id>/cancel")
@requires("messaging.send")
async def dispatch_cancel(dispatch_id: int) -> WerkzeugResponse:
    async def refused(error: DomainError) -> WerkzeugResponse:
        await flash(error.message, "error")
        return redirect(url_for("planning.dispatch_detail", dispatch_id=dispatch_id))

    on_refusal(refused)
    await sending.cancel_dispatch(db(), current_actor(), dispatch_id)
    await flash(_("The dispatch has been cancelled."), "success")
    return redirect(url_for("planning.dispatch_detail", dispatch_id=dispatch_id))


@routes.post("/dispatches/<int:dispatch_id>/resend")
@requires("messaging.send")
async def dispatch_resend(dispatch_id: int) -> WerkzeugResponse:
    """A new dispatch of the same words to the failed messages, shown for confirming."""
    form = await request.form

    async def refused(error: DomainError) -> WerkzeugResponse:
        await flash(error.message, "error")
        return redirect(url_for("planning.dispatch_detail", dispatch_id=dispatch_id))

    on_refusal(refused)
    again = await sending.resend_failed(
        db(), current_actor(), dispatch_id, form.get("request_key", "")
    )
    return redirect(url_for("planning.dispatch_detail", dispatch_id=again.id))
