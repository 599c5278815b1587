"""Charts drawn on the server as SVG: the geometry here, the drawing in
``templates/macros/charts.html``.

No script and no style attribute (the CSP allows neither): every mark carries a class,
and the stylesheet colours it. Colour is never the only difference: each series of a
bar chart has its own fill pattern, each line its own dash and marker, the legend shows
both, and every bar carries its number as text. The data table beside each chart holds
the same numbers for screen readers and print.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

Number = int | float | Decimal

#: The drawing's width in SVG units; it scales to its box. A narrow screen gets a
#: drawing of its own (``narrow``), so that its text is not shrunk to nothing: bars with
#: their labels above them, fewer days along a line.
WIDTH, NARROW = 720, 360
_ROW, _NARROW_ROW, _BAR, _TOP, _BOTTOM = 30, 42, 18, 12, 34


@dataclass(frozen=True)
class Series:
    """One kind of mark: ``key`` names its class (``series-<key>``), ``label`` the legend."""

    key: str
    label: str


@dataclass(frozen=True)
class Segment:
    series: str
    x: float
    width: float


@dataclass(frozen=True)
class BarRow:
    label: str
    y: float
    segments: list[Segment]
    #: The row's number as text, at the end of its bar.
    text: str
    text_x: float
    #: A reference drawn as a tick across the bar (a budget, a need), and its class.
    reference_x: float | None = None
    #: "over" when the bar passes its reference (drawn so, and said in the text).
    state: str = ""


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass
class BarChart:
    id: str
    title: str
    description: str
    rows: list[BarRow]
    legend: list[Series]
    ticks: list[Tick]
    label_width: float
    plot_right: float
    height: float
    reference_label: str = ""
    width: int = WIDTH
    narrow: bool = False


def nice_ticks(largest: float, count: int = 5) -> list[float]:
    """Round steps from 0 to at least ``largest`` (1, 2 or 5 times a power of ten, at
    least 1)."""
    if largest <= 0:
        return [0.0, 1.0]
    rough = largest / count
    power = 10 ** math.floor(math.log10(rough))
    # Whole steps: the charts count people and places (and money, in thousands).
    step = max(1, next(m * power for m in (1, 2, 5, 10) if m * power >= rough))
    steps = math.ceil(largest / step)
    return [step * i for i in range(steps + 1)]


def bar_chart(
    id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    values: Sequence[Sequence[Number | None]],
    texts: Sequence[str],
    show: Callable[[float], str],
    references: Sequence[Number | None] | None = None,
    reference_label: str = "",
    label_width: float = 200,
    narrow: bool = False,
) -> BarChart:
    """Horizontal bars, one row per label; several series are stacked left to right.

    ``values[row][series]``: None draws nothing (a suppressed count); ``texts[row]`` is
    written after the bar; ``references[row]`` draws a tick (the budget, the need), and a
    bar past its tick is marked "over". ``show`` writes an axis number. ``narrow``: the
    small screen's drawing, each label above its bar.
    """
    refs = list(references) if references is not None else [None] * len(labels)
    totals = [sum(float(v) for v in row if v is not None) for row in values]
    largest = max([*totals, *(float(r) for r in refs if r is not None), 0.0])
    ticks = nice_ticks(largest)
    width = NARROW if narrow else WIDTH
    if narrow:
        label_width, plot_left, plot_right, row_height = 4.0, 4.0, width - 112.0, _NARROW_ROW
    else:
        plot_left, plot_right, row_height = label_width + 8, width - 150.0, _ROW
    scale = (plot_right - plot_left) / ticks[-1]
    rows = []
    for index, label in enumerate(labels):
        y = _TOP + index * row_height + (18 if narrow else 0)
        x, segments = float(plot_left), []
        for each, value in zip(series, values[index], strict=True):
            if value is None or float(value) <= 0:
                continue
            length = float(value) * scale
            segments.append(Segment(each.key, x, length))
            x += length
        ref = refs[index]
        reference_x = plot_left + float(ref) * scale if ref is not None else None
        over = ref is not None and totals[index] > float(ref)
        rows.append(
            BarRow(
                label,
                y,
                segments,
                texts[index],
                max(x, reference_x or 0) + 6,
                reference_x,
                "over" if over else "",
            )
        )
    return BarChart(
        id=f"{id}-narrow" if narrow else id,
        title=title,
        description=description,
        rows=rows,
        legend=list(series),
        ticks=[Tick(plot_left + t * scale, show(t)) for t in ticks],
        label_width=label_width,
        plot_right=plot_right,
        height=_TOP + len(labels) * row_height + _BOTTOM,
        reference_label=reference_label,
        width=width,
        narrow=narrow,
    )


# --- lines over time -------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Line:
    series: str
    label: str
    points: list[Point]

    @property
    def path(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True)
class Level:
    """A level drawn across the whole chart (the norm), labelled at its right end."""

    series: str
    label: str
    y: float


@dataclass
class LineChart:
    id: str
    title: str
    description: str
    lines: list[Line]
    levels: list[Level]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    legend: list[Series]
    width: int = WIDTH
    height: int = 320


def line_chart(
    id: str,
    title: str,
    description: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    values: Sequence[Sequence[Number]],
    levels: Sequence[tuple[Series, Number]],
    show: Callable[[float], str],
    narrow: bool = False,
) -> LineChart:
    """Lines over the points ``x_labels`` (``values[series][point]``), with levels across."""
    width = NARROW if narrow else WIDTH
    plot_left, plot_top, plot_bottom = (40.0 if narrow else 56.0), 16.0, 270.0
    plot_right = width - (72.0 if narrow else 140.0)
    largest = max(
        [0.0, *(float(v) for row in values for v in row), *(float(v) for _s, v in levels)]
    )
    ticks = nice_ticks(largest, 4)
    span = ticks[-1] or 1.0
    count = max(len(x_labels) - 1, 1)

    def x_of(index: int) -> float:
        return plot_left + (plot_right - plot_left) * index / count

    def y_of(value: float) -> float:
        return plot_bottom - (plot_bottom - plot_top) * value / span

    lines = [
        Line(
            each.key,
            each.label,
            [Point(x_of(i), y_of(float(v)), show(float(v))) for i, v in enumerate(row)],
        )
        for each, row in zip(series, values, strict=True)
    ]
    # Every point labelled when there are few, else every second or third, counted back
    # from the last (election day or today), which is always labelled.
    every = max(1, math.ceil(len(x_labels) / (4 if narrow else 9)))
    last = len(x_labels) - 1
    x_ticks = [Tick(x_of(i), label) for i, label in enumerate(x_labels) if (last - i) % every == 0]
    return LineChart(
        id=f"{id}-narrow" if narrow else id,
        title=title,
        description=description,
        lines=lines,
        levels=[Level(s.key, s.label, y_of(float(v))) for s, v in levels],
        x_ticks=x_ticks,
        y_ticks=[Tick(y_of(t), show(t)) for t in ticks],
        plot_left=plot_left,
        plot_right=plot_right,
        plot_top=plot_top,
        plot_bottom=plot_bottom,
        legend=[*series, *(s for s, _v in levels)],
        width=width,
    )
