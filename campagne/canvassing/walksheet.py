"""Printable walk sheets: one PDF per turf for volunteers without a phone.

The sheet holds a map of the turf drawn by us as SVG (the stops, numbered in walking
order, the route from the meeting point and back — no map tiles are fetched), the
ordered addresses with a tick box per outcome, the script and the questionnaire.
WeasyPrint renders the HTML template to PDF; it may load nothing from outside (every URL
is refused), so a sheet never depends on the network.
"""

from __future__ import annotations

import math
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

from campagne.canvassing.models import Outcome, Turf

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})
MAP_WIDTH, MAP_HEIGHT, MARGIN = 760.0, 420.0, 24.0


def _project(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(lat, lon) → SVG (x, y), same scale on both axes (equirectangular), fitted."""
    if not points:
        return []
    mean_lat = math.radians(sum(p[0] for p in points) / len(points))
    xs = [p[1] * math.cos(mean_lat) for p in points]
    ys = [p[0] for p in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1e-6
    width, height = MAP_WIDTH - 2 * MARGIN, MAP_HEIGHT - 2 * MARGIN
    scale = min(width / (max(xs) - min(xs) or span), height / (max(ys) - min(ys) or span))
    x0 = MARGIN + (width - (max(xs) - min(xs)) * scale) / 2
    y0 = MARGIN + (height - (max(ys) - min(ys)) * scale) / 2
    return [
        (x0 + (x - min(xs)) * scale, y0 + (max(ys) - y) * scale)
        for x, y in zip(xs, ys, strict=True)
    ]


def route_svg(meeting: tuple[float, float] | None, stops: list[tuple[float, float]]) -> SafeString:
    """The turf's route as an SVG drawing (numbers only, no text from the data)."""
    points = ([meeting] if meeting else []) + stops
    xy = _project(points)
    start = xy[0] if meeting else None
    stop_xy = xy[1:] if meeting else xy
    path = ([start] if start else []) + stop_xy + ([start] if start else [])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {MAP_WIDTH:.0f} {MAP_HEIGHT:.0f}" '
        'class="route-map">',
        f'<rect width="{MAP_WIDTH:.0f}" height="{MAP_HEIGHT:.0f}" fill="#f4f4f7"/>',
    ]
    if len(path) > 1:
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in path)
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="#b3125b" stroke-width="1.5" '
            'stroke-dasharray="5 3"/>'
        )
    if start:
        parts.append(
            f'<rect x="{start[0] - 7:.1f}" y="{start[1] - 7:.1f}" width="14" height="14" '
            'fill="#1d1d2c"/>'
        )
    for number, (x, y) in enumerate(stop_xy, start=1):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="8" fill="#fff" stroke="#1d1d2c"/>'
            f'<text x="{x:.1f}" y="{y + 3:.1f}" font-size="8" text-anchor="middle">{number}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - built from numbers only


def sheet_context(turf: Turf) -> dict[str, Any]:
    stops = list(turf.stops.select_related("address").order_by("position", "id"))
    located = [s for s in stops if s.address.latitude is not None]
    meeting = (
        (turf.meeting_latitude, turf.meeting_longitude)
        if turf.meeting_latitude is not None and turf.meeting_longitude is not None
        else None
    )
    points = [(s.address.latitude, s.address.longitude) for s in located]
    return {
        "turf": turf,
        "campaign": turf.campaign,
        "stops": stops,
        "outcomes": Outcome.choices,
        "map": route_svg(meeting, points),  # type: ignore[arg-type]
        "script": mark_safe(_markdown.render(turf.campaign.script or "")),  # noqa: S308 - html off
        "questionnaire": turf.campaign.questionnaire,
    }


def _no_fetching(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"Walk sheets load nothing from outside: {url[:80]}")


def render_html(turf: Turf) -> str:
    return render_to_string("canvassing/organize/walksheet.html", sheet_context(turf))


def render_pdf(turf: Turf) -> bytes:
    """The turf's walk sheet as PDF bytes."""
    from weasyprint import HTML

    return HTML(string=render_html(turf), url_fetcher=_no_fetching).write_pdf()
