"""Line and area charts drawn as inline SVG by the templates, without a chart library.

This module only computes the geometry — the polylines' points, the axes' ticks and their
labels — so that it can be tested without a browser; ``core/line_chart.html`` draws it.
The x axis shows at most a handful of labels, on round values of the caller's keys
(every 6 hours, every Monday…), so they never pile up; the y axis starts at 0 and ends on a
round value just above the highest point.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.utils import formats
from django.utils.translation import gettext as _

WIDTH, HEIGHT = 640, 220
# Room for the y labels on the left, the x labels below.
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 14, 30
# Average width of a character of the axis labels (11 px sans-serif), to keep the labels
# of the first and last ticks inside the drawing.
CHAR_WIDTH = 6.2
MAX_X_TICKS = 6
# Above this many points, the dots (and their tooltips) would hide the line.
MAX_DOTS = 31

HOUR_STEPS = (1, 2, 3, 6, 12, 24, 48, 72, 168)
# Days are keyed so that a multiple of 7 is a Monday (see ``day_key``).
DAY_STEPS = (1, 2, 7, 14, 28, 56, 91, 182, 364)
NUMBER_STEPS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


@dataclass(frozen=True)
class Tick:
    position: float
    label: str
    anchor: str = "middle"  # SVG text-anchor: "start" and "end" keep edge labels inside


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class Line:
    """One series as the caller gives it."""

    name: str
    values: Sequence[float]
    color: str
    area: bool = False  # shade the space under the line


@dataclass(frozen=True)
class DrawnLine:
    name: str
    color: str
    points: str  # the polyline's "x,y x,y …"
    area: str  # the polygon closing the line down to the x axis; "" when not shaded
    dots: list[Dot] = field(default_factory=list)


@dataclass(frozen=True)
class LineChart:
    lines: list[DrawnLine]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    y_top: float
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP

    @property
    def right(self) -> int:
        return self.width - RIGHT

    @property
    def dots(self) -> list[Dot]:
        return [dot for line in self.lines for dot in line.dots]

    @property
    def bottom(self) -> int:
        return self.height - BOTTOM


def nice_top(peak: float, *, max_steps: int = 4, integer: bool = False) -> tuple[float, float]:
    """(top, step) of a y axis reaching ``peak`` in at most ``max_steps`` round steps
    (1, 2, 2.5 or 5 times a power of ten). ``integer`` forbids steps below 1, for
    counts."""
    if peak <= 0:
        return (1.0, 1.0)
    exponent = math.floor(math.log10(peak / max_steps))
    while True:
        for mantissa in (1, 2, 2.5, 5):
            step = mantissa * 10**exponent
            if integer and (step < 1 or step != int(step)):
                continue
            # A small tolerance: 0.3 / 0.1 is 2.9999999999999996 in floating point.
            count = math.ceil(peak / step - 1e-9)
            if count <= max_steps:
                return (count * step, step)
        exponent += 1


def tick_indices(
    keys: Sequence[int], *, at_most: int = MAX_X_TICKS, steps: Sequence[int] = NUMBER_STEPS
) -> list[int]:
    """Indices of the points to label: those whose key is a multiple of the smallest step
    that leaves at most ``at_most`` labels (every hour, every 6 hours, every Monday…).
    Keys are ascending integers (hours, days); gaps are allowed."""
    if not keys:
        return []
    for step in steps:
        chosen = [index for index, key in enumerate(keys) if key % step == 0]
        if len(chosen) <= at_most:
            return chosen or [0]
    # Longer than the largest step allows: evenly spaced indices.
    every = math.ceil(len(keys) / at_most)
    return list(range(0, len(keys), every))


def day_key(day: dt.date) -> int:
    """A day as an integer whose multiples of 7 are Mondays (date ordinal 1 is a Monday)."""
    return day.toordinal() - 1


def hour_key(moment: dt.datetime) -> int:
    """A local hour as an integer whose multiples of 6, 12 and 24 fall on 0 h, 6 h, 12 h…
    (counted on the wall clock, so that the labels stay round across daylight saving)."""
    return day_key(moment.date()) * 24 + moment.hour


def day_label(day: dt.date) -> str:
    """ "19 nov." in French, "Nov. 19" in English."""
    # Translators: a day on a chart's axis (Django date format): "19 nov." / "Nov. 19".
    return formats.date_format(day, _("j N"))


def hour_label(moment: dt.datetime, *, with_day: bool) -> str:
    """ "14 h", or "19 nov. 14 h" when the day must be said too."""
    # Translators: an hour on a chart's axis: "14 h" / "2 p.m." allowed ("%(hour)d:00").
    hour = _("%(hour)d h") % {"hour": moment.hour}
    if not with_day:
        return hour
    return _("%(day)s %(hour)s") % {"day": day_label(moment.date()), "hour": hour}


def number_label(value: float) -> str:
    """A count or a share in the language's format: "1 200", "2,5"."""
    # Rounded here: Django's number_format cuts the decimals rather than rounding them.
    value = round(value, 1)
    if value == int(value):
        return formats.number_format(int(value), use_l10n=True, force_grouping=True)
    return formats.number_format(value, decimal_pos=1, use_l10n=True, force_grouping=True)


def percent_label(value: float) -> str:
    return _("%(number)s %%") % {"number": number_label(value)}


def _anchored(position: float, label: str, width: int) -> Tick:
    half = len(label) * CHAR_WIDTH / 2
    if position - half < 0:
        return Tick(position, label, "start")
    if position + half > width:
        return Tick(position, label, "end")
    return Tick(position, label)


def line_chart(
    *,
    lines: Sequence[Line],
    x_keys: Sequence[int],
    x_label: Callable[[int, int | None], str],
    point_label: Callable[[int], str],
    x_steps: Sequence[int] = NUMBER_STEPS,
    y_label: Callable[[float], str] = number_label,
    integer: bool = True,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> LineChart | None:
    """The geometry of one or more lines over the same x positions.

    ``x_keys`` are the points' integer keys (``hour_key``, ``day_key``), which choose the
    labelled ticks; ``x_label(index, previous)`` names a labelled point knowing the
    previously labelled one (to say the day only when it changes); ``point_label(index)``
    names any point for the dots' tooltips. The lines' values are counts (``integer``)
    or any numbers, drawn from 0.
    """
    count = len(x_keys)
    if not count or not lines:
        return None
    if any(len(line.values) != count for line in lines):
        raise ValueError("every line needs one value per x key")
    peak = max(max(line.values) for line in lines)
    y_top, y_step = nice_top(peak, integer=integer)
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    bottom = height - BOTTOM
    span = count - 1

    def x_of(index: int) -> float:
        # A single point stands in the middle rather than on the y axis.
        return round(LEFT + plot_w * (index / span if span else 0.5), 1)

    def y_of(value: float) -> float:
        return round(bottom - plot_h * value / y_top, 1)

    drawn = []
    for line in lines:
        coords = [(x_of(i), y_of(value)) for i, value in enumerate(line.values)]
        points = " ".join(f"{x},{y}" for x, y in coords)
        area = f"{coords[0][0]},{bottom} {points} {coords[-1][0]},{bottom}" if line.area else ""
        dots = (
            [
                Dot(
                    x,
                    y,
                    _("%(point)s : %(value)s") % {"point": point_label(i), "value": y_label(value)},
                )
                for i, ((x, y), value) in enumerate(zip(coords, line.values, strict=True))
            ]
            if count <= MAX_DOTS
            else []
        )
        drawn.append(DrawnLine(line.name, line.color, points, area, dots))

    x_ticks, previous = [], None
    for index in tick_indices(x_keys, steps=x_steps):
        x_ticks.append(_anchored(x_of(index), x_label(index, previous), width))
        previous = index
    steps = round(y_top / y_step)
    y_ticks = [Tick(y_of(y_step * i), y_label(y_step * i), "end") for i in range(steps + 1)]
    return LineChart(
        lines=drawn, x_ticks=x_ticks, y_ticks=y_ticks, y_top=y_top, width=width, height=height
    )
