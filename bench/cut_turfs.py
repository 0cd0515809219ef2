"""Turf cutting of a département's worth of households.

    .venv/bin/python bench/cut_turfs.py --addresses 100000

Synthesises ``--addresses`` households (see :func:`synthesise`): communes of lognormal
sizes scattered over 60 × 60 km, streets laid on a rotated grid in each, houses on both
sides with odd and even numbers, hamlets a kilometre or two out, a few blocks of 20 to 100
flats, polling stations as Voronoi cells of a few seeds inside each commune. Then cuts
them with ``campagne.canvassing.cutting.cut_turfs`` at ``--target`` doors and reports:

- ``seconds``: the cutting (median of ``--repeats`` runs; target under 10 s);
- ``turfs`` and ``size_cv``: the coefficient of variation of turf sizes in doors
  (target ≤ 0.15);
- ``walk_ratio``: the total walking length of our turfs over that of plain k-means turfs
  on the same addresses (target ≤ 0.9). A turf is walked from its meeting point, the
  station's place (the Voronoi seed of the station), and back, as the walk lists of
  ``routing.walk_order`` go: its length is a closed tour through the meeting point and the
  turf's households found by ``routing.quick_tour`` (nearest neighbour, 2-opt, Or-opt)
  on straight-line metres × the detour factor. Both sides are measured the same way,
  with the same heuristic, and neither counts the street/side penalties (they only steer
  the walk order; the walk length stored on a turf leaves them out too). ``cut_turfs``
  is given the same meeting points (``meeting_points=``).
  The baseline is plain Lloyd k-means on the coordinates (scipy's ``kmeans2``, k-means++
  seeding, 10 iterations, households unweighted), run per station so that no turf
  crosses a station, with the same number of turfs per station as ``cut_turfs`` makes
  (``turf_count``), hence the same total;
- ``walk_ratio_households_only``: the same ratio with closed tours of the households
  alone, no meeting point (what this bench measured before; for information: a turf
  of hamlets far from the town costs nothing to reach there, which favours unbalanced
  turfs);
- ``kmeans_size_cv``, ``crossed`` (turfs spanning two stations: must be 0),
  ``max_doors`` and ``min_doors``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.cluster.vq import kmeans2
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlib import emit, log  # noqa: E402

from campagne.canvassing.cutting import cut_turfs, turf_count  # noqa: E402
from campagne.canvassing.routing import local_metres, quick_tour, walking_matrix  # noqa: E402

CENTRE = (44.09, 6.23)  # Digne-les-Bains
METRES_PER_DEGREE = 111_195.0
HAMLETS = 1


def synthesise(households: int, seed: int = 4) -> dict[str, np.ndarray]:
    """Households with lat, lon, doors, station, street and number arrays."""
    rng = np.random.default_rng(seed)
    xs, ys, streets, numbers, stations, doors, places = [], [], [], [], [], [], []
    placed, street_id, station_id, commune_centres = 0, 0, 0, []
    while placed < households:
        size = int(np.clip(rng.lognormal(np.log(350), 1.1), 90, 25_000))
        size = min(size, households - placed) if households - placed >= 90 else size
        for _try in range(50):
            centre = rng.uniform(-30_000, 30_000, 2)
            if all(np.hypot(*(centre - c)) > 2_500 for c in commune_centres):
                break
        commune_centres.append(centre)
        cx, cy, cs, cn = _commune(rng, centre, size, street_id)
        street_id = int(cs.max()) + 1
        door = np.ones(len(cx), dtype=np.int64)
        small = rng.random(len(cx)) < 0.04
        door[small] = rng.integers(2, 7, small.sum())
        if size > 2_000:
            blocks = rng.random(len(cx)) < 0.003
            door[blocks] = rng.integers(20, 101, blocks.sum())
        # Stations: Voronoi cells of seeds drawn among the commune's households.
        count = max(1, round(door.sum() / 500))
        seeds = rng.choice(len(cx), size=count, replace=False)
        pts = np.column_stack([cx, cy])
        _d, cell = cKDTree(pts[seeds]).query(pts)
        stations.append(np.asarray(cell).reshape(-1) + station_id)
        # The polling station (the meeting point of its turfs) stands at its seed.
        places.append(pts[seeds])
        station_id += count
        xs.append(cx)
        ys.append(cy)
        streets.append(cs)
        numbers.append(cn)
        doors.append(door)
        placed += len(cx)
    x = np.concatenate(xs)[:households]
    y = np.concatenate(ys)[:households]
    place = np.vstack(places)
    lat, lon = _degrees(x, y)
    place_lat, place_lon = _degrees(place[:, 0], place[:, 1])
    return {
        "lat": lat,
        "lon": lon,
        "doors": np.concatenate(doors)[:households],
        "station": np.concatenate(stations)[:households],
        "street": np.concatenate(streets)[:households],
        "number": np.concatenate(numbers)[:households],
        "place": np.column_stack([place_lat, place_lon]),  # by station id
    }


def _degrees(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat = CENTRE[0] + y / METRES_PER_DEGREE
    lon = CENTRE[1] + x / (METRES_PER_DEGREE * np.cos(np.radians(CENTRE[0])))
    return lat, lon


def _commune(rng: np.random.Generator, centre: np.ndarray, size: int, first_street: int):
    """Streets on a rotated grid around the centre, houses on both sides; some hamlets."""
    angle = rng.uniform(0, np.pi)
    radius = 25.0 * np.sqrt(size) + 150
    hamlets = (int(rng.integers(0, 4)) if size < 3_000 else 0) * HAMLETS
    xs, ys, streets, numbers = [], [], [], []
    street = first_street
    total = 0
    while total < size:
        hamlet = hamlets and rng.random() < 0.15
        if hamlet:
            bearing = rng.uniform(0, 2 * np.pi)
            spot = centre + rng.uniform(1_000, 2_500) * np.array([np.cos(bearing), np.sin(bearing)])
            length = rng.uniform(60, 200)
        else:
            r = radius * np.sqrt(rng.random())
            bearing = rng.uniform(0, 2 * np.pi)
            spot = centre + r * np.array([np.cos(bearing), np.sin(bearing)])
            length = rng.uniform(80, 450)
        heading = angle + (np.pi / 2 if rng.random() < 0.5 else 0) + rng.normal(0, 0.08)
        direction = np.array([np.cos(heading), np.sin(heading)])
        normal = np.array([-direction[1], direction[0]])
        # Denser in the centre: 9 m between doors there, up to 30 m on the outskirts.
        spacing = 9 + 21 * min(1.0, np.hypot(*(spot - centre)) / radius)
        per_side = max(2, int(length / spacing))
        for side, offset in ((1, 7.0), (0, -7.0)):
            along = (np.arange(per_side) - per_side / 2) * spacing
            along = along + rng.normal(0, spacing * 0.15, per_side)
            keep = rng.random(per_side) < 0.9
            pts = spot + along[keep, None] * direction + offset * normal
            xs.append(pts[:, 0])
            ys.append(pts[:, 1])
            streets.append(np.full(keep.sum(), street))
            numbers.append(2 * np.arange(keep.sum()) + 1 + (1 - side))
            total += int(keep.sum())
        street += 1
    return (
        np.concatenate(xs)[:size],
        np.concatenate(ys)[:size],
        np.concatenate(streets)[:size],
        np.concatenate(numbers)[:size],
    )


def kmeans_turfs(
    xy: np.ndarray, doors: np.ndarray, stations: np.ndarray, target: float
) -> np.ndarray:
    """Plain k-means per station, the same number of turfs as cut_turfs makes."""
    labels = np.empty(len(xy), dtype=np.int64)
    order = np.argsort(stations, kind="stable")
    bounds = np.flatnonzero(np.diff(stations[order])) + 1
    offset = 0
    for members in np.split(order, bounds):
        k = min(turf_count(float(doors[members].sum()), target), len(members))
        if k == 1:
            labels[members] = offset
        else:
            with warnings.catch_warnings():
                # An emptied cluster is part of what plain k-means does.
                warnings.simplefilter("ignore", UserWarning)
                _centres, local = kmeans2(xy[members], k, minit="++", seed=len(members))
            labels[members] = local + offset
        offset += k
    return labels


def walking_length(xy: np.ndarray, labels: np.ndarray, meeting: np.ndarray | None) -> float:
    """Total length of the turfs' walks; from and back to ``meeting[i]`` (household i's
    meeting point, in metres) when given, else closed tours of the households alone."""
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    total = 0.0
    for members in np.split(order, bounds):
        stops = xy[members] if meeting is None else np.vstack([meeting[members[0]], xy[members]])
        if len(stops) < 2:
            continue
        matrix = walking_matrix(stops)
        tour = quick_tour(matrix)
        total += float(matrix[tour[:-1], tour[1:]].sum())
    return total


def size_cv(doors: np.ndarray, labels: np.ndarray) -> float:
    sizes = np.bincount(labels, doors)
    sizes = sizes[sizes > 0]
    return float(sizes.std() / sizes.mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--addresses", type=int, default=100_000)
    parser.add_argument("--target", type=float, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    data = synthesise(args.addresses)
    points = np.column_stack([data["lat"], data["lon"]])
    log(
        f"synthesised {len(points):,} households, {int(data['doors'].sum()):,} doors, "
        f"{len(np.unique(data['station'])):,} stations in {time.perf_counter() - started:.1f}s"
    )
    places = {station: tuple(place) for station, place in enumerate(data["place"])}
    timings = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        labels = cut_turfs(
            points, data["doors"], data["station"], args.target, meeting_points=places
        )
        timings.append(time.perf_counter() - started)
    log(f"cut_turfs runs {[round(t, 2) for t in timings]}")

    assert (labels >= 0).all()
    stations_per_turf = np.array(
        [len(np.unique(data["station"][labels == t])) for t in np.unique(labels)]
    )
    origin = (float(data["lat"].mean()), float(data["lon"].mean()))
    xy = local_metres(data["lat"], data["lon"], origin)
    baseline = kmeans_turfs(xy, data["doors"], data["station"], args.target)
    meeting = local_metres(data["place"][:, 0], data["place"][:, 1], origin)[data["station"]]
    started = time.perf_counter()
    ours, theirs = walking_length(xy, labels, meeting), walking_length(xy, baseline, meeting)
    ours_alone = walking_length(xy, labels, None)
    theirs_alone = walking_length(xy, baseline, None)
    log(
        f"walking from the meeting points: ours {ours / 1000:,.0f} km, "
        f"k-means {theirs / 1000:,.0f} km; tours of the households alone: ours "
        f"{ours_alone / 1000:,.0f} km, k-means {theirs_alone / 1000:,.0f} km "
        f"({time.perf_counter() - started:.1f}s to route)"
    )
    sizes = np.bincount(labels, data["doors"])
    emit(
        {
            "job": "cut_turfs",
            "size": len(points),
            "seconds": round(statistics.median(timings), 3),
            "turfs": int(labels.max() + 1),
            "size_cv": round(size_cv(data["doors"], labels), 4),
            "walk_ratio": round(ours / theirs, 4),
            "walk_ratio_households_only": round(ours_alone / theirs_alone, 4),
            "kmeans_size_cv": round(size_cv(data["doors"], baseline), 4),
            "kmeans_turfs": len(np.unique(baseline)),
            "crossed": int((stations_per_turf > 1).sum()),
            "min_doors": int(sizes.min()),
            "max_doors": int(sizes.max()),
        }
    )


if __name__ == "__main__":
    main()
