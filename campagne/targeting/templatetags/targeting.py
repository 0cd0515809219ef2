"""Formatting of score parts: rates as percentages, turnout change in points."""

from __future__ import annotations

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def percent(value: float | None, decimals: int = 1) -> str:
    """0.4 → "40,0 %" (in French); None → "—"."""
    if value is None:
        return "—"
    return f"{number_format(100 * value, decimal_pos=decimals)}\u00a0%"


@register.filter
def points(value: float | None) -> str:
    """A difference of two rates: -0.042 → "−4,2 pts"."""
    if value is None:
        return "—"
    shown = number_format(abs(100 * value), decimal_pos=1)
    # The space before "pts" is a no-break space, typed as is so that xgettext reads it.
    sign = "+" if value > 0 else ("−" if value < 0 else "")
    return _("%(sign)s%(value)s pts") % {"sign": sign, "value": shown}


@register.filter
def part_value(value: float | None, kind: str) -> str:
    """A part's value as its kind reads: a rate, a number of voters or points."""
    if kind == "rate":
        return percent(value)
    if kind == "points":
        return points(value)
    if value is None:
        return "—"
    return number_format(value, decimal_pos=0, force_grouping=True)


@register.filter
def score(value: float | None) -> str:
    if value is None:
        return "—"
    return number_format(value, decimal_pos=1)


@register.filter
def score_class(value: float | None) -> str:
    """One of five colour classes, the same as the map's legend."""
    if value is None:
        return "score-0"
    return f"score-{min(4, int(value // 20))}"


@register.filter
def get_item(mapping: dict | None, key: str) -> object:
    """``mapping[key]`` in a template (a column of the ranked table, a part's weight)."""
    return mapping.get(key) if mapping else None
