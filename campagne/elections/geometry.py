"""Plain-Python geometry on GeoJSON polygons (lon/lat), enough for polling stations.

No GIS dependency: a station is a few hundred metres across, so planar formulas on
degrees place its centroid well within the polygon's own precision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Ring = list[list[float]]


@dataclass(frozen=True)
class Shape:
    latitude: float
    longitude: float
    min_latitude: float
    min_longitude: float
    max_latitude: float
    max_longitude: float


def polygons(geometry: dict[str, Any] | None) -> list[list[Ring]]:
    """The polygons (outer ring first, then holes) of a Polygon or MultiPolygon."""
    if not geometry:
        return []
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates") or []
    if kind == "Polygon":
        return [coordinates]
    if kind == "MultiPolygon":
        return list(coordinates)
    if kind == "GeometryCollection":
        return [p for g in geometry.get("geometries") or [] for p in polygons(g)]
    return []


def _ring_area_centroid(ring: Ring) -> tuple[float, float, float]:
    """Signed area and area-weighted centroid of one ring (shoelace formula)."""
    area = cx = cy = 0.0
    for (x0, y0, *_), (x1, y1, *_) in zip(ring, ring[1:] + ring[:1], strict=True):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    area /= 2
    if area == 0:
        return 0.0, 0.0, 0.0
    return area, cx / (6 * area), cy / (6 * area)


def shape(geometry: dict[str, Any] | None) -> Shape | None:
    """Centroid and bounding box of a polygonal geometry, or None if it has no area."""
    total = sx = sy = 0.0
    xs: list[float] = []
    ys: list[float] = []
    for polygon in polygons(geometry):
        for index, ring in enumerate(polygon):
            if len(ring) < 3:
                continue
            area, cx, cy = _ring_area_centroid(ring)
            # Holes subtract whatever their orientation in the file.
            weight = abs(area) if index == 0 else -abs(area)
            total += weight
            sx += cx * weight
            sy += cy * weight
            if index == 0:
                xs.extend(point[0] for point in ring)
                ys.extend(point[1] for point in ring)
    if not xs:
        return None
    if total == 0:
        lon, lat = sum(xs) / len(xs), sum(ys) / len(ys)
    else:
        lon, lat = sx / total, sy / total
    return Shape(
        latitude=lat,
        longitude=lon,
        min_latitude=min(ys),
        min_longitude=min(xs),
        max_latitude=max(ys),
        max_longitude=max(xs),
    )


def contains(geometry: dict[str, Any] | None, longitude: float, latitude: float) -> bool:
    """Whether a point lies inside a polygon or multipolygon (even-odd rule, holes out)."""
    inside = False
    for polygon in polygons(geometry):
        for ring in polygon:
            for (x0, y0, *_), (x1, y1, *_) in zip(ring, ring[1:] + ring[:1], strict=True):
                if (y0 > latitude) != (y1 > latitude):
                    x = x0 + (latitude - y0) * (x1 - x0) / (y1 - y0)
                    if x > longitude:
                        inside = not inside
    return inside
