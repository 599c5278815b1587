"""Pay over the JSON API, read only: each district's pay in an election (computed,
approved, what stands in the way of approval), and a district's approvals with their
locked lines, as payroll gets them.

People appear by id only: never a name, an id number or a bank account (those go to
payroll in the export, which has a permission of its own). Amounts are decimal
strings in the municipality's currency, two decimals ("2400.00").
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field
from quart_schema import tag, validate_response

from app.core.routes import Routes
from app.core.web import db
from app.domain.models import PayApproval, PayEntry
from app.domain.pay.review import ADVANCE, DistrictPay, district_pay, overview

routes = Routes()

Money = Annotated[
    str,
    Field(
        description="An amount with two decimals, negative for a deduction",
        pattern=r"^-?[0-9]+\.[0-9]{2}$",
        examples=["2400.00"],
    ),
]


def _money(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'))}"


class DistrictPayOut(BaseModel):
    district_id: int | None = Field(description="None: the advance voting stations")
    code: str
    name: str
    people: int = Field(description="People with computed pay here")
    computed: Money = Field(description="Pay computed from what happened (and estimated)")
    approved: Money = Field(description="Pay approved so far, corrections included")
    difference: Money = Field(description="Computed less approved: what awaits approval")
    estimates: int = Field(description="Lines estimated from shifts still to be worked")
    conflicts: int = Field(description="Check-ins to settle before approval")
    no_shows: int
    approved_at: dt.datetime | None = Field(description="The last approval")


class ElectionPayOut(BaseModel):
    election_id: int
    items: list[DistrictPayOut] = Field(description="Districts by code, advance voting last")


class ApprovalOut(BaseModel):
    id: int
    approved_at: dt.datetime
    approved_by: str
    lines: int
    amount: Money


class EntryOut(BaseModel):
    approval_id: int
    person_id: int
    role_type_id: int | None
    kind: str = Field(
        description="fee, supplement, counting, travel, training, adjustment, "
        "hours_weekday, hours_evening or hours_weekend"
    )
    day: dt.date
    quantity: str = Field(description="Shifts, days or hours (two decimals)")
    rate: Money
    amount: Money
    text: str
    correction: bool = Field(description="A change after an earlier approval")


class SettlementOut(BaseModel):
    election_id: int
    district_id: int | None = Field(description="None: the advance voting stations")
    computed: Money
    approved: Money
    pending_lines: int = Field(description="Lines an approval now would write")
    conflicts: int
    approvals: list[ApprovalOut]
    entries: list[EntryOut] = Field(description="The approved lines, by person and day")


@routes.get("/elections/<id:election_id>/pay")
@tag(["pay"])
@validate_response(ElectionPayOut)
async def api_election_pay(election_id: int) -> ElectionPayOut:
    """Each district's pay in the election: computed, approved and what awaits."""
    rows = await overview(db(), election_id)
    return ElectionPayOut(
        election_id=election_id,
        items=[
            DistrictPayOut(
                district_id=row.district_key or None,
                code=row.code,
                name=row.name,
                people=row.people,
                computed=_money(row.computed),
                approved=_money(row.approved),
                difference=_money(row.difference),
                estimates=row.estimates,
                conflicts=row.conflicts,
                no_shows=row.no_shows,
                approved_at=row.approved_at,
            )
            for row in rows
        ],
    )


def _approval(approval: PayApproval) -> ApprovalOut:
    return ApprovalOut(
        id=approval.id,
        approved_at=approval.approved_at,
        approved_by=approval.approved_by_label,
        lines=approval.lines,
        amount=_money(approval.amount),
    )


def _entry(entry: PayEntry) -> EntryOut:
    return EntryOut(
        approval_id=entry.approval_id,
        person_id=entry.person_id,
        role_type_id=entry.role_type_id,
        kind=entry.kind,
        day=entry.day,
        quantity=_money(entry.quantity),
        rate=_money(entry.rate),
        amount=_money(entry.amount),
        text=entry.text,
        correction=entry.correction,
    )


def _settlement(view: DistrictPay) -> SettlementOut:
    return SettlementOut(
        election_id=view.election_id,
        district_id=view.district_id,
        computed=_money(view.computed_total),
        approved=_money(view.approved_total),
        pending_lines=len(view.pending),
        conflicts=len(view.conflicts),
        approvals=[_approval(approval) for approval in view.approvals],
        entries=[_entry(entry) for entry in view.approved],
    )


@routes.get("/elections/<id:election_id>/pay/districts/<id:district_id>")
@tag(["pay"])
@validate_response(SettlementOut)
async def api_district_settlement(election_id: int, district_id: int) -> SettlementOut:
    """A district's approvals and approved lines, beside its computed pay."""
    return _settlement(await district_pay(db(), election_id, district_id))


@routes.get("/elections/<id:election_id>/pay/advance")
@tag(["pay"])
@validate_response(SettlementOut)
async def api_advance_settlement(election_id: int) -> SettlementOut:
    """The advance voting stations' approvals and approved lines."""
    return _settlement(await district_pay(db(), election_id, ADVANCE))
