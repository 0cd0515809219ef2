"""The map's GeoJSON: a profile's scored stations, as polygons where a contour exists and
points otherwise, each with what its tooltip says and the link to its page."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from campagne.elections.geometry import polygons
from campagne.elections.models import PollingStation
from campagne.targeting.models import StationScore

# Above this many stations the map shows the best ranked only (a national map of 69,000
# polygons would weigh hundreds of megabytes); the filters narrow it down.
MAX_FEATURES = 5000
# Five decimals of a degree is about a metre: the contours' own precision is coarser.
PRECISION = 5


def _round_ring(ring: list[list[float]]) -> list[list[float]]:
    return [[round(point[0], PRECISION), round(point[1], PRECISION)] for point in ring]


def geometry(station: PollingStation) -> dict[str, Any] | None:
    parts = polygons(station.polygon)
    if parts:
        rounded = [[_round_ring(ring) for ring in polygon] for polygon in parts]
        if len(rounded) == 1:
            return {"type": "Polygon", "coordinates": rounded[0]}
        return {"type": "MultiPolygon", "coordinates": rounded}
    if station.latitude is not None and station.longitude is not None:
        return {
            "type": "Point",
            "coordinates": [
                round(station.longitude, PRECISION),
                round(station.latitude, PRECISION),
            ],
        }
    return None


def station_feature(station: PollingStation, properties: dict[str, Any]) -> dict[str, Any] | None:
    shape = geometry(station)
    if shape is None:
        return None
    commune = station.commune
    return {
        "type": "Feature",
        "id": station.pk,
        "geometry": shape,
        "properties": {
            "station": station.pk,
            "label": str(station),
            "commune": commune.name if commune else "",
            **properties,
        },
    }


def feature_collection(scores: QuerySet[StationScore], profile_id: int) -> dict[str, Any]:
    """The stations of ``scores`` (already scoped and filtered), best ranked first."""
    rows = list(scores.select_related("station__commune")[: MAX_FEATURES + 1])
    features = []
    for score in rows[:MAX_FEATURES]:
        url = reverse("targeting:station", args=[score.station_id])
        feature = station_feature(
            score.station,
            {
                "rank": score.rank,
                "score": round(score.score, 1),
                "inscrits": score.inscrits,
                "url": f"{url}?profil={profile_id}",
            },
        )
        if feature is not None:
            features.append(feature)
    return {
        "type": "FeatureCollection",
        "features": features,
        "truncated": len(rows) > MAX_FEATURES,
    }
