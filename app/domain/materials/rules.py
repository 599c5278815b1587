"""Need rules: how many of an article each kind of station needs, from a formula on one
of the station's figures, written so an office can read each rule as a sentence.

A formula is a number (``2``: a fixed quantity per station) or a figure multiplied and
divided by numbers: ``voters / 300``, ``voters * 1.2``, ``2 * screens``, ``norm``.
Figures may be written in the office's language (``röstberättigade / 300``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_decimal
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.i18n import _, format_locale, lazy_gettext
from app.core.validation import Cleaner
from app.domain.materials.catalogue import CATEGORY_LABELS
from app.domain.models import (
    ARTICLE_CATEGORIES,
    RULE_STATION_KINDS,
    MaterialArticle,
    MaterialNeedRule,
)
from app.domain.saving import store

MAX_PER = Decimal("100000")
MAX_EVERY = 1_000_000
#: A figure's name in a formula, in every language the office may write it in.
FIGURE_NAMES = {
    "voters": "voters",
    "röstberättigade": "voters",
    "vælgere": "voters",
    "screens": "screens",
    "valskärmar": "screens",
    "stemmeskærme": "screens",
    "norm": "norm",
    "bemanning": "norm",
    "bemanding": "norm",
    "opening_days": "opening_days",
    "öppetdagar": "opening_days",
    "åbningsdage": "opening_days",
}
FIGURE_LABELS = {
    "voters": lazy_gettext("voters on the roll"),
    "screens": lazy_gettext("voting screens in the room"),
    "norm": lazy_gettext("clerks in the staffing norm"),
    "opening_days": lazy_gettext("opening days"),
}
FIGURE_LABELS_ONE = {
    "voters": lazy_gettext("voter on the roll"),
    "screens": lazy_gettext("voting screen in the room"),
    "norm": lazy_gettext("clerk in the staffing norm"),
    "opening_days": lazy_gettext("opening day"),
}
STATION_KIND_LABELS = {
    "polling": lazy_gettext("polling stations"),
    "advance": lazy_gettext("advance voting"),
    "counting": lazy_gettext("counting"),
}
_NUMBER = r"\d+(?:[.,]\d+)?"
_FORMULA = re.compile(
    rf"^(?:(?P<before>{_NUMBER})\s*\*\s*)?(?P<figure>[^\W\d]\w*)"
    rf"(?:\s*\*\s*(?P<after>{_NUMBER}))?(?:\s*/\s*(?P<every>{_NUMBER}))?$"
)


def parse_formula(text: str) -> tuple[str, Decimal, int]:
    """``(basis, per, every)`` of a formula; ``ValueError`` with the translated reason
    when it does not parse or names an unknown figure."""
    formula = " ".join(text.lower().split())
    if not formula:
        raise ValueError(_("This field is required."))
    fixed = re.fullmatch(_NUMBER, formula)
    if fixed:
        return "fixed", _decimal(formula), 1
    match = _FORMULA.match(formula)
    if match is None:
        raise ValueError(
            _("Write a number, or a figure times or divided by a number: “voters / 300”.")
        )
    basis = FIGURE_NAMES.get(match["figure"])
    if basis is None:
        raise ValueError(
            _(
                "Unknown figure “%(name)s”: use voters, screens, norm or opening_days.",
                name=match["figure"],
            )
        )
    if match["before"] and match["after"]:
        raise ValueError(_("Multiply by one number only."))
    per = _decimal(match["before"] or match["after"] or "1")
    every = _decimal(match["every"] or "1")
    if every != every.to_integral_value() or every < 1:
        raise ValueError(_("Divide by a whole number of at least 1."))
    if every > MAX_EVERY:
        raise ValueError(_("Divide by a whole number of at least 1."))
    return basis, per, int(every)


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation as error:
        raise ValueError(_("Enter a number.")) from error
    if not value.is_finite() or value > MAX_PER or value != round(value, 4):
        raise ValueError(_("Enter a number from %(min)s to %(max)s.", min=0, max=MAX_PER))
    return value


def formula_of(rule: MaterialNeedRule) -> str:
    """The rule's formula as the office would write it (in English names)."""
    per = _plain(rule.per)
    if rule.basis == "fixed":
        return per
    text = rule.basis if per == "1" else f"{rule.basis} * {per}"
    return text if rule.every == 1 else f"{text} / {rule.every}"


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _number(value: Decimal | int) -> str:
    return format_decimal(value, format="#,##0.####", locale=format_locale())


def sentence(rule: MaterialNeedRule, article: MaterialArticle | None = None) -> str:
    """The rule in words: “1 st Voting screen per 300 voters on the roll, at least 2”."""
    article = article or rule.article
    if article is not None:
        what, unit, pack = article.name, article.unit, article.pack_size
    else:
        what = _(
            "%(category)s (each article)", category=CATEGORY_LABELS.get(rule.category or "", "")
        )
        unit, pack = "", 0
    amount = _number(rule.per)
    if rule.basis == "fixed":
        text = _(
            "%(amount)s %(unit)s %(article)s per station", amount=amount, unit=unit, article=what
        )
    elif rule.every == 1:
        text = _(
            "%(amount)s %(unit)s %(article)s per %(figure)s",
            amount=amount,
            unit=unit,
            article=what,
            figure=FIGURE_LABELS_ONE[rule.basis],
        )
    else:
        text = _(
            "%(amount)s %(unit)s %(article)s per %(every)s %(figure)s",
            amount=amount,
            unit=unit,
            article=what,
            every=_number(rule.every),
            figure=FIGURE_LABELS[rule.basis],
        )
    text = " ".join(text.split())
    if rule.minimum:
        text += _(", at least %(minimum)s", minimum=_number(rule.minimum))
    if rule.round_to_pack:
        text += (
            _(", in whole packs of %(pack)s", pack=_number(pack)) if pack else _(", in whole packs")
        )
    kinds = ", ".join(str(STATION_KIND_LABELS[k]) for k in rule_kinds(rule))
    return f"{text} ({kinds})"


def rule_kinds(rule: MaterialNeedRule) -> list[str]:
    return [kind for kind in rule.station_kinds.split(",") if kind in RULE_STATION_KINDS]


async def clean_rule(session: AsyncSession, data: Mapping[str, Any]) -> dict[str, Any]:
    cleaner = Cleaner(data)
    target = cleaner.raw("target")
    values: dict[str, Any] = {"article_id": None, "category": None}
    if target.startswith("category:"):
        category = target.removeprefix("category:")
        if category in ARTICLE_CATEGORIES:
            values["category"] = category
        else:
            cleaner.fail("target", _("Choose one of the options."))
    else:
        article_id = cleaner.identifier("target", required=True)
        if article_id is not None:
            found = await session.scalar(
                select(MaterialArticle.id).where(MaterialArticle.id == article_id)
            )
            if found is None:
                cleaner.fail("target", _("Choose one of the options."))
            values["article_id"] = article_id
    raw_kinds = data.get("station_kinds")
    if hasattr(data, "getlist"):
        raw_kinds = data.getlist("station_kinds")
    kinds = raw_kinds if isinstance(raw_kinds, list) else str(raw_kinds or "").split(",")
    kinds = [str(k).strip() for k in kinds if str(k).strip()]
    if not kinds:
        cleaner.fail("station_kinds", _("Choose at least one kind of station."))
    elif any(kind not in RULE_STATION_KINDS for kind in kinds):
        cleaner.fail("station_kinds", _("Choose one of the options."))
    values["station_kinds"] = ",".join(k for k in RULE_STATION_KINDS if k in kinds)
    try:
        values["basis"], values["per"], values["every"] = parse_formula(cleaner.raw("formula"))
    except ValueError as error:
        cleaner.fail("formula", str(error))
    values["minimum"] = cleaner.integer("minimum", 0, 1_000_000)
    values["round_to_pack"] = cleaner.boolean("round_to_pack")
    values["active"] = cleaner.boolean("active") if "active" in data else True
    cleaner.done()
    return values


async def save_rule(
    session: AsyncSession, actor: Actor, data: Mapping[str, Any], rule_id: int | None = None
) -> MaterialNeedRule:
    """Add a need rule or change one; the needs change when they are next recomputed."""
    values = await clean_rule(session, data)
    rule = MaterialNeedRule() if rule_id is None else await get_rule(session, rule_id)
    audit = {**values, "per": str(values["per"])}
    return await store(session, actor, rule, values, "materials.rule", rule_id is None, audit)


async def get_rule(session: AsyncSession, rule_id: int) -> MaterialNeedRule:
    rule = await session.scalar(
        select(MaterialNeedRule)
        .where(MaterialNeedRule.id == rule_id)
        .options(selectinload(MaterialNeedRule.article))
    )
    if rule is None:
        raise NotFound(_("Not found."))
    return rule


async def list_rules(session: AsyncSession) -> list[MaterialNeedRule]:
    rules = await session.scalars(
        select(MaterialNeedRule)
        .options(selectinload(MaterialNeedRule.article))
        .order_by(MaterialNeedRule.id)
    )
    return list(rules)


def rule_values(rule: MaterialNeedRule) -> dict[str, Any]:
    """A stored rule as the form's values."""
    return {
        "target": f"category:{rule.category}" if rule.article_id is None else str(rule.article_id),
        "station_kinds": rule_kinds(rule),
        "formula": formula_of(rule),
        "minimum": rule.minimum,
        "round_to_pack": rule.round_to_pack,
        "active": rule.active,
    }
