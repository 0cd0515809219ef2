"""Plausibility checks: door records that look invented are flagged for an organizer.

A flagged record (``review = flagged``, the reasons in ``flags``) does not count in the
statistics until an organizer accepts it (``recording.review_canvasses``); a rejected one
never counts. A reviewed record is never flagged again. The checks:

- ``rate``: more than ``FIELD_MAX_DOORS_PER_MINUTE`` doors within one minute by one
  volunteer (the records of that minute are flagged);
- ``one_spot``: a turf whose records with GPS (at least ``FIELD_GPS_MIN_DOORS``) were all
  made within ``FIELD_GPS_SPOT_METRES`` of one point, while its addresses are spread
  further apart (a turf that is one tower block is not flagged);
- ``ratio``: a volunteer whose open rate or positive rate is far from the rest of the
  campaign's (a binomial z-score above ``FIELD_RATIO_Z`` with at least
  ``FIELD_RATIO_MIN_DOORS`` doors on each side).

The first two run with each batch (``check_batch``, a few indexed queries; usually
one count); the third
reads the whole campaign, so it runs when an organizer opens the review page
(``check_outcome_ratios``) rather than on every door.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q

from campagne.canvassing.models import OPENED_OUTCOMES, Canvass, Outcome, TurfStop

EARTH_METRES = 6_371_000


def _setting(name: str, default: float) -> float:
    return getattr(settings, name, default)


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance on the sphere (equirectangular: exact enough below a few kilometres)."""
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return EARTH_METRES * math.hypot(x, y)


def _spread(points: Iterable[tuple[float, float]]) -> float:
    """The largest distance from the centroid of ``points``, in metres."""
    points = list(points)
    if not points:
        return 0.0
    lat = sum(p[0] for p in points) / len(points)
    lon = sum(p[1] for p in points) / len(points)
    return max(metres(lat, lon, p[0], p[1]) for p in points)


def flag(reasons: dict[int, list[dict[str, Any]]]) -> int:
    """Add ``reasons`` to these records' flags and mark them flagged; skip reviewed ones
    and reasons they already carry. Returns how many records changed."""
    if not reasons:
        return 0
    changed = []
    rows = Canvass.objects.filter(pk__in=list(reasons), reviewed_at__isnull=True).only(
        "id", "flags", "review"
    )
    for canvass in rows:
        present = {item.get("check") for item in canvass.flags}
        new = [item for item in reasons[canvass.pk] if item["check"] not in present]
        if not new:
            continue
        canvass.flags = [*canvass.flags, *new]
        canvass.review = Canvass.Review.FLAGGED
        changed.append(canvass)
    Canvass.objects.bulk_update(changed, ["flags", "review"])
    return len(changed)


def _times_between(volunteer: int, first: dt.datetime, last: dt.datetime) -> list[Any]:
    """(id, recorded_at) of the records ``volunteer`` made from ``first`` to ``last``, in
    order. Plain SQL, since it runs after every stored batch (the index
    ``canvass_volunteer_time`` answers it)."""
    q = connection.ops.quote_name
    adapt = connection.ops.adapt_datetimefield_value
    sql = (
        f"SELECT {q('id')}, {q('recorded_at')} FROM {q(Canvass._meta.db_table)} "  # noqa: S608 - names from the model
        f"WHERE {q('volunteer_id')} = %s AND {q('recorded_at')} >= %s "
        f"AND {q('recorded_at')} <= %s ORDER BY {q('recorded_at')}, {q('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [volunteer, adapt(first), adapt(last)])
        return [(pk, _aware(at)) for pk, at in cursor.fetchall()]


def _aware(value: Any) -> dt.datetime:
    if isinstance(value, str):  # SQLite keeps datetimes as text, in UTC.
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    return value


def _rate_reasons(rows: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    limit = int(_setting("FIELD_MAX_DOORS_PER_MINUTE", 6))
    minute = dt.timedelta(minutes=1)
    by_volunteer: dict[int, list[dt.datetime]] = defaultdict(list)
    for row in rows:
        by_volunteer[row["volunteer"]].append(row["recorded_at"])
    reasons: dict[int, list[dict[str, Any]]] = {}
    for volunteer, times in by_volunteer.items():
        recent = _times_between(volunteer, min(times) - minute, max(times) + minute)
        if len(recent) <= limit:
            continue
        end = 0
        for start in range(len(recent)):
            while end < len(recent) and recent[end][1] - recent[start][1] < minute:
                end += 1
            count = end - start
            if count > limit:
                for pk, _at in recent[start:end]:
                    # Each record keeps the busiest minute it belongs to.
                    if pk not in reasons or reasons[pk][0]["count"] < count:
                        reasons[pk] = [{"check": "rate", "count": count, "limit": limit}]
    return reasons


def _spot_reasons(rows: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    minimum = int(_setting("FIELD_GPS_MIN_DOORS", 10))
    radius = _setting("FIELD_GPS_SPOT_METRES", 30.0)
    turfs = {row["turf"] for row in rows if row["latitude"] is not None}
    reasons: dict[int, list[dict[str, Any]]] = {}
    for turf in turfs:
        located = list(
            Canvass.objects.filter(turf_id=turf, latitude__isnull=False, longitude__isnull=False)
            .exclude(review=Canvass.Review.REJECTED)
            .values_list("id", "latitude", "longitude")
        )
        if len(located) < minimum:
            continue
        spread = _spread((lat, lon) for _pk, lat, lon in located)
        if spread > radius:
            continue
        addresses = TurfStop.objects.filter(
            turf_id=turf, address__latitude__isnull=False, address__longitude__isnull=False
        ).values_list("address__latitude", "address__longitude")
        if _spread(addresses) <= 3 * radius:
            continue  # One building or a small square: one spot is what we expect.
        for pk, _lat, _lon in located:
            reasons[pk] = [{"check": "one_spot", "metres": round(spread), "doors": len(located)}]
    return reasons


def check_batch(rows: list[dict[str, Any]]) -> int:
    """The checks of a freshly stored batch (rows as ``recording`` inserted them)."""
    if not rows:
        return 0
    reasons = _rate_reasons(rows)
    for pk, items in _spot_reasons(rows).items():
        reasons.setdefault(pk, []).extend(items)
    return flag(reasons)


def _z(successes: int, total: int, rate: float) -> float:
    if total == 0 or rate <= 0 or rate >= 1:
        return 0.0
    return (successes / total - rate) / math.sqrt(rate * (1 - rate) / total)


def check_outcome_ratios(campaign_id: int) -> int:
    """Flag the records of volunteers whose open or positive rate is far from the rest of
    the campaign's. One aggregate query; returns how many records were flagged."""
    minimum = int(_setting("FIELD_RATIO_MIN_DOORS", 30))
    threshold = _setting("FIELD_RATIO_Z", 4.0)
    stats = list(
        Canvass.objects.filter(campaign_id=campaign_id, superseded=False)
        .exclude(review=Canvass.Review.REJECTED)
        .exclude(volunteer__isnull=True)
        .values("volunteer_id")
        .order_by()
        .annotate(
            doors=Count("id"),
            opened=Count("id", filter=Q(outcome__in=OPENED_OUTCOMES)),
            positive=Count("id", filter=Q(outcome=Outcome.POSITIVE)),
        )
    )
    total = {key: sum(s[key] for s in stats) for key in ("doors", "opened", "positive")}
    outliers: dict[int, list[dict[str, Any]]] = {}
    for s in stats:
        rest = {key: total[key] - s[key] for key in total}
        if s["doors"] < minimum or rest["doors"] < minimum:
            continue
        found = []
        open_rate = rest["opened"] / rest["doors"]
        if abs(_z(s["opened"], s["doors"], open_rate)) > threshold:
            found.append(("open", s["opened"] / s["doors"], open_rate))
        if s["opened"] >= minimum and rest["opened"] >= minimum:
            positive_rate = rest["positive"] / rest["opened"]
            if abs(_z(s["positive"], s["opened"], positive_rate)) > threshold:
                found.append(("positive", s["positive"] / s["opened"], positive_rate))
        if found:
            outliers[s["volunteer_id"]] = [
                {
                    "check": "ratio",
                    "rate": rate,
                    "value": round(value, 3),
                    "expected": round(exp, 3),
                }
                for rate, value, exp in found[:1]
            ]
    if not outliers:
        return 0
    reasons: dict[int, list[dict[str, Any]]] = {}
    records = Canvass.objects.filter(
        campaign_id=campaign_id, volunteer_id__in=list(outliers), reviewed_at__isnull=True
    ).values_list("id", "volunteer_id")
    for pk, volunteer in records:
        reasons[pk] = outliers[volunteer]
    return flag(reasons)
