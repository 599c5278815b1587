"""The payroll file: the municipality's layout and the download of approved pay. Both
need ``pay.export``: the file holds full id numbers and bank accounts."""

from __future__ import annotations

from typing import Any

from quart import Response, flash, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.crypto import FieldCipher
from app.core.downloads import attachment, slug
from app.core.errors import DomainError
from app.core.i18n import _
from app.core.routes import Routes
from app.core.validation import parse_id
from app.core.web import app_settings, db, on_refusal, render
from app.domain.elections.elections import get_election
from app.domain.models import PAY_LINE_KINDS
from app.domain.pay import payroll
from app.domain.pay.labels import PAY_LINE_KIND
from app.domain.pay.review import ADVANCE

routes = Routes()


def _values(layout: Any) -> dict[str, str]:
    values = {"file_format": layout.file_format}
    for number, column in enumerate(layout.columns, start=1):
        values[f"field_{number}"] = column["field"]
        values[f"header_{number}"] = column["header"]
    for kind in PAY_LINE_KINDS:
        values[f"code_{kind}"] = str(layout.pay_codes.get(kind, ""))
    return values


async def _layout_page(
    values: dict[str, str], errors: dict[str, str], status: int = 200
) -> tuple[str, int]:
    page = await render(
        "planning/pay/layout.html",
        values=values,
        errors=errors,
        rows=range(1, payroll.MAX_COLUMNS + 1),
        fields=[(key, str(label)) for key, label in payroll.PAYROLL_FIELDS.items()],
        kinds=[(kind, str(PAY_LINE_KIND[kind])) for kind in PAY_LINE_KINDS],
        back=parse_id(request.args.get("election")) or "",
    )
    return page, status


@routes.route("/pay/payroll-layout", methods=["GET", "POST"])
@requires("pay.export")
async def payroll_layout() -> WerkzeugResponse | tuple[str, int]:
    """The payroll file's format, columns in order and pay codes."""
    if request.method == "POST":
        form = (await request.form).to_dict()
        on_refusal(lambda error: _layout_page(form, error.errors, 422))
        await payroll.save_layout(db(), current_actor(), form)
        await flash(_("The payroll file layout has been saved."), "success")
        back = parse_id(form.get("election"))
        if back is not None:
            return redirect(url_for("planning.pay_overview", election_id=back))
        return redirect(url_for("planning.payroll_layout"))
    return await _layout_page(_values(await payroll.get_layout(db())), {})


@routes.post("/elections/<int:election_id>/pay/payroll")
@requires("pay.export")
async def payroll_download(election_id: int) -> Response | WerkzeugResponse:
    """The approved pay as the payroll file (all districts, or ``district``). A POST:
    every download is audited, and a link prefetched must not make one."""
    election = await get_election(db(), election_id)
    form = await request.form
    raw = form.get("district", "")
    district_key = ADVANCE if raw == str(ADVANCE) else parse_id(raw)

    async def refused(error: DomainError) -> WerkzeugResponse:
        await flash(error.message, "error")
        return redirect(url_for("planning.pay_overview", election_id=election.id))

    on_refusal(refused)
    cipher = FieldCipher(app_settings().secret_key)
    found = await payroll.export_payroll(db(), current_actor(), cipher, election.id, district_key)
    name = f"{slug(_('Payroll'))}-{slug(election.name)}"
    return attachment(found.body, found.file_format, name)
