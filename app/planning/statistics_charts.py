"""The statistics of an election as the page shows them: each a chart (``app.core.charts``)
and the same numbers as a report table, which is also what its CSV and Excel files hold.
Translated headings and labels are chosen here; the numbers come from
``app.domain.statistics``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from babel.dates import format_date
from babel.numbers import get_decimal_symbol, get_group_symbol

from app.core.charts import BarChart, LineChart, Series, bar_chart, line_chart
from app.core.documents.tables import Column, ReportTable, Value
from app.core.i18n import _, format_locale, language_in_reader, lazy_gettext
from app.domain.statistics.budgets import PayRow
from app.domain.statistics.demographics import NOT_RECORDED, UNDER_18, Breakdown
from app.domain.statistics.overview import ElectionStatistics

#: A chart of districts shows this many (the ones that matter most); its table all.
CHART_ROWS = 15
#: A table longer than this scrolls in a box of its own (printed whole).
FOLD_ROWS = 12

CHART_TITLES = {
    "history": lazy_gettext("Places filled week by week"),
    "funnel": lazy_gettext("Recruitment funnel"),
    "experience": lazy_gettext("First-timers and experienced"),
    "ages": lazy_gettext("Age groups"),
    "sexes": lazy_gettext("Legal sex"),
    "languages": lazy_gettext("Languages needed and covered"),
    "courses": lazy_gettext("Course completion per role"),
    "no_shows": lazy_gettext("No-shows per district"),
    "pay_roles": lazy_gettext("Pay per role against the budget"),
    "pay_districts": lazy_gettext("Pay per district against the budget"),
}
CHARTS = tuple(CHART_TITLES)


@dataclass(frozen=True)
class Charts:
    """One chart drawn twice: for wide screens and for narrow ones."""

    wide: BarChart | LineChart
    narrow: BarChart | LineChart


def _bars(*args: Any, **kwargs: Any) -> Charts:
    return Charts(bar_chart(*args, **kwargs), bar_chart(*args, **{**kwargs, "narrow": True}))


def _lines(*args: Any, **kwargs: Any) -> Charts:
    return Charts(line_chart(*args, **kwargs), line_chart(*args, **{**kwargs, "narrow": True}))


@dataclass
class Statistic:
    """One chart of the page with its table (``chart`` None: nothing to draw yet)."""

    kind: str
    title: str
    chart: Charts | None
    table: ReportTable
    #: What the chart shows and how it was counted, under its heading.
    note: str = ""
    #: The rows the page shows, when not all of them: a city's hundreds of districts
    #: are in the files, the page has those its chart draws.
    on_page: ReportTable | None = None

    @property
    def shown(self) -> ReportTable:
        return self.on_page or self.table

    @property
    def folded(self) -> bool:
        return len(self.shown.rows) > FOLD_ROWS

    def cells(self) -> tuple[list[list[str]], list[str] | None]:
        """The table's rows and totals as the page writes them (a suppressed count as
        "not shown", another empty number as a dash)."""
        hidden = _("not shown") if self.kind in ("ages", "sexes") else "–"
        numeric = [column.numeric for column in self.shown.columns]

        def line(values: list[Value], blank: str) -> list[str]:
            return [
                blank if value is None and numeric[i] else show(value)
                for i, value in enumerate(values)
            ]

        totals = self.shown.totals
        return (
            [line(row, hidden) for row in self.shown.rows],
            line(totals, hidden if self.kind in ("ages", "sexes") else "") if totals else None,
        )


@cache
def _symbols(locale: str) -> tuple[str, str]:
    return get_group_symbol(locale), get_decimal_symbol(locale)


def number(value: float | int | Decimal | None) -> str:
    """A number the reader's way ("1 234,5" in Swedish), without Babel's pattern per
    call: the page writes thousands of them."""
    if value is None:
        return ""
    group, point = _symbols(format_locale())
    whole = int(value)
    if value == whole:
        return f"{whole:,}".replace(",", group)
    text = f"{float(value):,.2f}".rstrip("0").rstrip(".")
    return text.replace(",", "\0").replace(".", point).replace("\0", group)


def _day(day: dt.date) -> str:
    return format_date(day, format="d MMM", locale=format_locale())


def _short(text: str, length: int = 30) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _table(
    kind: str, columns: list[Column], rows: list[list[Value]], **more: object
) -> ReportTable:
    return ReportTable(kind, str(CHART_TITLES[kind]), columns, rows, **more)  # type: ignore[arg-type]


# --- places filled over time -------------------------------------------------------


def history(stats: ElectionStatistics) -> Statistic:
    h = stats.history
    labels = [_("today") if p.today else _day(p.day) for p in h.points]
    table = _table(
        "history",
        [
            Column(_("Day")),
            Column(_("Places held"), numeric=True),
            Column(_("Accepted"), numeric=True),
            Column(_("Target"), numeric=True),
            Column(_("Minimum"), numeric=True),
        ],
        [[p.day, p.held, p.accepted, h.target, h.minimum] for p in h.points],
    )
    note = _(
        "Places held (proposed, offered or accepted) and accepted at the end of each week "
        "up to election day, each place counted up to its norm. Read from when each "
        "assignment was made, answered and withdrawn; the norm is today's."
    )
    chart = None
    if h.points:
        last = h.points[-1]
        chart = _lines(
            "chart-history",
            str(CHART_TITLES["history"]),
            _(
                "%(held)s of %(target)s places held and %(accepted)s accepted on %(day)s; "
                "the minimum is %(minimum)s.",
                held=number(last.held),
                target=number(h.target),
                accepted=number(last.accepted),
                day=labels[-1],
                minimum=number(h.minimum),
            ),
            labels,
            [Series("a", _("Places held")), Series("b", _("Accepted"))],
            [[p.held for p in h.points], [p.accepted for p in h.points]],
            [
                (Series("target", _("Target")), h.target),
                (Series("minimum", _("Minimum")), h.minimum),
            ],
            number,
        )
    return Statistic("history", str(CHART_TITLES["history"]), chart, table, note)


# --- the funnel ----------------------------------------------------------------------

FUNNEL_LABELS = {
    "applied": lazy_gettext("Applied"),
    "approved": lazy_gettext("Approved"),
    "offered": lazy_gettext("Offered a place"),
    "accepted": lazy_gettext("Accepted"),
    "trained": lazy_gettext("Trained"),
    "checked_in": lazy_gettext("Checked in"),
}


def funnel(stats: ElectionStatistics) -> Statistic:
    labels = [str(FUNNEL_LABELS[s.step]) for s in stats.funnel]
    counts = [s.people for s in stats.funnel]
    table = _table(
        "funnel",
        [Column(_("Step"), 2), Column(_("People"), numeric=True)],
        [[label, count] for label, count in zip(labels, counts, strict=True)],
    )
    chart = _bars(
        "chart-funnel",
        table.title,
        "; ".join(f"{label}: {number(c)}" for label, c in zip(labels, counts, strict=True)),
        labels,
        [Series("a", _("People"))],
        [[c] for c in counts],
        [number(c) for c in counts],
        number,
    )
    note = _(
        "Applications for this election, then people with a place in it: the office may "
        "place someone who never applied, so a step can be larger than the one before. "
        "Trained: accepted and holding every course their roles require."
    )
    return Statistic("funnel", table.title, chart, table, note)


# --- first-timers and experienced --------------------------------------------------------

EXPERIENCE_LABELS = {
    "first_time": lazy_gettext("First time"),
    "some": lazy_gettext("1–2 elections"),
    "much": lazy_gettext("3 or more"),
}


def experience(stats: ElectionStatistics) -> Statistic:
    note = _(
        "People holding a place, by the elections they have worked as the register records "
        "it; an accepted place in an earlier election in Stemma counts as one."
    )
    return _role_groups(
        "experience",
        EXPERIENCE_LABELS,
        stats.experience,
        lambda counts, total: _(
            "%(new)s new of %(total)s", new=number(counts["first_time"]), total=number(total)
        ),
        note,
    )


def _role_groups(
    key: str,
    labels: dict[str, Any],
    rows: Sequence[Any],
    bar_text: Any,
    note: str,
) -> Statistic:
    """People per role split into ``labels``' groups: a table with a total per role and
    stacked bars, each bar's text from ``bar_text(counts, total)``."""
    groups = list(labels)
    table = _table(
        key,
        [
            Column(_("Role"), 2),
            *(Column(str(labels[g]), numeric=True) for g in groups),
            Column(_("Total"), numeric=True),
        ],
        [[r.role, *(r.counts[g] for g in groups), r.total] for r in rows],
    )
    chart = None
    if rows:
        chart = _bars(
            f"chart-{key}",
            table.title,
            "; ".join(
                f"{r.role}: " + ", ".join(f"{labels[g]} {number(r.counts[g])}" for g in groups)
                for r in rows
            ),
            [_short(r.role) for r in rows],
            [Series(k, str(labels[g])) for k, g in zip("abc", groups, strict=True)],
            [[r.counts[g] for g in groups] for r in rows],
            [bar_text(r.counts, r.total) for r in rows],
            number,
        )
    return Statistic(key, table.title, chart, table, note)


# --- age groups and legal sex ------------------------------------------------------------

SEX_LABELS = {"female": lazy_gettext("Female"), "male": lazy_gettext("Male")}


def _group_label(group: str) -> str:
    if group == NOT_RECORDED:
        return _("Not recorded")
    if group == UNDER_18:
        return _("Under 18")
    if group in SEX_LABELS:
        return str(SEX_LABELS[group])
    return group.replace("-", "–")


def breakdown(kind: str, found: Breakdown) -> Statistic:
    labels = [_group_label(g) for g in found.groups]
    hidden = _("not shown")
    table = _table(
        kind,
        [Column(_("Group"), 2), Column(_("People"), numeric=True)],
        [[label, count] for label, count in zip(labels, found.shown.counts, strict=True)],
        totals=[_("Total"), found.shown.total],
    )
    texts = [hidden if c is None else number(c) for c in found.shown.counts]
    chart = None
    if found.shown.total or found.shown.hidden:
        chart = _bars(
            f"chart-{kind}",
            table.title,
            "; ".join(f"{label}: {text}" for label, text in zip(labels, texts, strict=True)),
            labels,
            [Series("a", _("People"))],
            [[c] for c in found.shown.counts],
            texts,
            number,
            label_width=140,
        )
    note = _(
        "People holding a place, as their identity numbers record them. A group of fewer "
        "than 5 people is not shown, nor one that would give it away from the total."
    )
    return Statistic(kind, table.title, chart, table, note)


# --- languages -------------------------------------------------------------------------


def languages(stats: ElectionStatistics) -> Statistic:
    rows = stats.languages
    names = [language_in_reader(r.language) for r in rows]
    table = _table(
        "languages",
        [
            Column(_("Language"), 2),
            Column(_("Stations that need it"), numeric=True),
            Column(_("Covered by someone with a place"), numeric=True),
            Column(_("Covered by someone accepted"), numeric=True),
        ],
        [[n, r.needed, r.covered, r.covered_accepted] for n, r in zip(names, rows, strict=True)],
    )
    chart = None
    if rows:
        chart = _bars(
            "chart-languages",
            table.title,
            "; ".join(
                _(
                    "%(language)s: %(covered)s of %(needed)s stations",
                    language=n,
                    covered=r.covered,
                    needed=r.needed,
                )
                for n, r in zip(names, rows, strict=True)
            ),
            names,
            [Series("a", _("Stations covered")), Series("need", _("Stations not covered"))],
            [[r.covered, r.needed - r.covered] for r in rows],
            [_("%(covered)s of %(needed)s", covered=r.covered, needed=r.needed) for r in rows],
            number,
            label_width=140,
        )
    note = _(
        "Stations whose voters need a language, and of them those where someone holding a "
        "place speaks it."
    )
    return Statistic("languages", table.title, chart, table, note)


# --- courses ---------------------------------------------------------------------------

COURSE_LABELS = {
    "qualified": lazy_gettext("Course done"),
    "booked": lazy_gettext("Booked on a session"),
    "missing": lazy_gettext("Neither"),
}


def courses(stats: ElectionStatistics) -> Statistic:
    note = _(
        "People holding a place in a role that requires a course: who has every course "
        "the role requires, who is booked on a session for what they lack, who has neither."
    )
    return _role_groups(
        "courses",
        COURSE_LABELS,
        stats.courses,
        lambda counts, total: _(
            "%(done)s of %(total)s done", done=number(counts["qualified"]), total=number(total)
        ),
        note,
    )


def _part(table: ReportTable, rows: list[list[Value]]) -> ReportTable | None:
    """The page's part of a long table (None: all of it fits), its totals those of all."""
    if len(table.rows) <= CHART_ROWS:
        return None
    totals = [_("All districts"), *table.totals[1:]] if table.totals else None
    return ReportTable(table.kind, table.title, table.columns, rows, totals)


# --- no-shows --------------------------------------------------------------------------


def _district(code: str, name: str) -> str:
    return f"{code} {name}" if code else _("Advance voting")


def no_shows(stats: ElectionStatistics) -> Statistic:
    rows = stats.no_shows.rows
    table = _table(
        "no_shows",
        [
            Column(_("District"), 2.5),
            Column(_("Accepted places on shifts that have ended"), 1.5, True),
            Column(_("No-shows"), numeric=True),
        ],
        [[_district(r.code, r.name), r.places, r.no_shows] for r in rows],
        totals=[_("Total"), sum(r.places for r in rows), sum(r.no_shows for r in rows)]
        if rows
        else None,
    )
    ordered = sorted(rows, key=lambda r: (-r.no_shows, r.code))
    worst = [r for r in ordered if r.no_shows]
    shown = worst[:CHART_ROWS]
    on_page = _part(
        table, [[_district(r.code, r.name), r.places, r.no_shows] for r in ordered[:CHART_ROWS]]
    )
    chart = None
    if shown:
        chart = _bars(
            "chart-no_shows",
            table.title,
            "; ".join(
                _(
                    "%(district)s: %(no_shows)s of %(places)s",
                    district=_district(r.code, r.name),
                    no_shows=r.no_shows,
                    places=r.places,
                )
                for r in shown
            ),
            [_short(_district(r.code, r.name)) for r in shown],
            [Series("a", _("No-shows"))],
            [[r.no_shows] for r in shown],
            [_("%(no_shows)s of %(places)s", no_shows=r.no_shows, places=r.places) for r in shown],
            number,
        )
    if not rows:
        note = _("No shift has ended yet: no-shows are counted once a shift is over.")
    elif on_page is not None:
        note = _(
            "An accepted place on a shift that has ended, with nobody checked in to it. The "
            "%(count)s districts with the most no-shows; all %(all)s in the CSV and Excel files.",
            count=CHART_ROWS,
            all=len(rows),
        )
    else:
        note = _("An accepted place on a shift that has ended, with nobody checked in to it.")
    if rows and not stats.no_shows.any_check_in:
        note += " " + _(
            "Nobody has checked in at all in this election: if check-in was not used, these "
            "are not real no-shows."
        )
    return Statistic("no_shows", table.title, chart, table, note, on_page)


# --- pay against the budget --------------------------------------------------------------


def _money(value: Decimal | None) -> str:
    return "" if value is None else number(value.quantize(Decimal(1)))


def pay(kind: str, stats: ElectionStatistics) -> Statistic:
    rows = stats.pay_roles if kind == "pay_roles" else stats.pay_districts
    heading = _("Role") if kind == "pay_roles" else _("District")
    table = _table(
        kind,
        [
            Column(heading, 2.5),
            Column(_("Pay"), numeric=True),
            Column(_("Budget"), numeric=True),
            Column(_("Left of the budget"), numeric=True),
        ],
        [[r.label, r.pay, r.budget, r.left] for r in rows],
        totals=[
            _("Total"),
            sum((r.pay for r in rows), Decimal(0)),
            sum((r.budget or Decimal(0) for r in rows), Decimal(0)),
            None,
        ]
        if rows
        else None,
    )
    ordered = list(rows)
    if kind == "pay_districts":
        # The districts furthest over (or nearest) their budget, then the largest pay.
        ordered.sort(key=lambda r: (-(r.pay / r.budget) if r.budget else 0, -r.pay))
    shown = [r for r in ordered if r.pay or r.budget][:CHART_ROWS]
    on_page = _part(table, [[r.label, r.pay, r.budget, r.left] for r in shown])

    def text(row: PayRow) -> str:
        if row.budget is None or row.left is None:
            return _money(row.pay)
        if row.over:
            return _("%(pay)s, %(over)s over", pay=_money(row.pay), over=_money(-row.left))
        return _("%(pay)s of %(budget)s", pay=_money(row.pay), budget=_money(row.budget))

    chart = None
    if shown:
        chart = _bars(
            f"chart-{kind}",
            table.title,
            "; ".join(f"{r.label}: {text(r)}" for r in shown),
            [_short(r.label) for r in shown],
            [Series("a", _("Pay"))],
            [[r.pay] for r in shown],
            [text(r) for r in shown],
            number,
            references=[r.budget for r in shown],
            reference_label=_("Budget"),
        )
    note = _("Pay as computed from the pay rules and what happened, against the budget entered.")
    if on_page is not None:
        note += " " + _(
            "The %(count)s districts furthest over or nearest their budget; all %(all)s in the "
            "CSV and Excel files.",
            count=len(shown),
            all=len(rows),
        )
    return Statistic(kind, table.title, chart, table, note, on_page)


def statistic(kind: str, stats: ElectionStatistics) -> Statistic:
    """One chart of the page by its kind (one of ``CHARTS``)."""
    if kind in ("ages", "sexes"):
        return breakdown(kind, stats.ages if kind == "ages" else stats.sexes)
    if kind in ("pay_roles", "pay_districts"):
        return pay(kind, stats)
    builders = {
        "history": history,
        "funnel": funnel,
        "experience": experience,
        "languages": languages,
        "courses": courses,
        "no_shows": no_shows,
    }
    return builders[kind](stats)


def statistics(stats: ElectionStatistics) -> list[Statistic]:
    return [statistic(kind, stats) for kind in CHARTS]


def all_tables(found: Sequence[Statistic]) -> list[ReportTable]:
    return [each.table for each in found]


def plain_amount(value: Decimal | None) -> str:
    """An amount as a form field holds it: no grouping, the reader's decimal sign, no
    decimals when whole ("125000", "125000,50")."""
    if value is None:
        return ""
    if value == value.to_integral_value():
        return str(int(value))
    return f"{value:.2f}".replace(".", _symbols(format_locale())[1])


def show(value: Value) -> str:
    """A table cell as the page shows it: numbers with the reader's separators."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int | Decimal):
        return number(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return format_date(value, format="short", locale=format_locale())
    return str(value)
