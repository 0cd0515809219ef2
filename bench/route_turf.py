"""Walk order of turfs against LKH.

    .venv/bin/python bench/route_turf.py --doors 50
    .venv/bin/python bench/route_turf.py --doors 500

Draws ``--turfs`` random turfs of ``--doors`` stops from the synthetic households of
bench/cut_turfs.py (the stops nearest a random household, with their streets and house
numbers), the meeting point at the turf's centre. For each turf the walking matrix
(straight line × detour, street-change and street-crossing penalties, rounded to the
decimetre) is built and solved by ``campagne.canvassing.routing.solve_tour``, then by LKH-3
(the ``elkai`` package) on the very same matrix. Reports:

- ``p95_seconds``: 95th percentile of matrix + solve time per turf (targets: 50 doors
  ≤ 0.05 s, 500 doors ≤ 2 s); ``seconds`` is the total of those times;
- ``gap``: mean length excess over LKH, as a fraction (targets: 50 doors ≤ 0.02, 500
  doors ≤ 0.05); ``max_gap``;
- ``nn_gap``: the same for plain nearest-neighbour ordering, for scale.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import elkai
import numpy as np
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlib import emit, log  # noqa: E402
from cut_turfs import synthesise  # noqa: E402

from campagne.canvassing.routing import (  # noqa: E402
    _nearest_neighbour,
    local_metres,
    solve_tour,
    tour_length,
    walking_matrix,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--doors", type=int, default=50)
    parser.add_argument("--turfs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    data = synthesise(60_000)
    xy = local_metres(data["lat"], data["lon"])
    tree = cKDTree(xy)
    rng = np.random.default_rng(args.seed)
    times, gaps, nn_gaps = [], [], []
    for _turf in range(args.turfs):
        _d, near = tree.query(xy[rng.integers(len(xy))], k=args.doors)
        stops = np.sort(np.asarray(near))
        pts = np.vstack([xy[stops].mean(axis=0), xy[stops]])
        streets = [None, *data["street"][stops].tolist()]
        sides = [None, *(data["number"][stops] % 2).tolist()]
        started = time.perf_counter()
        matrix = walking_matrix(pts, streets=streets, sides=sides)
        # Decimetres, so that LKH (integers) and our solver see exactly the same matrix.
        matrix = np.rint(matrix * 10) / 10
        tour = solve_tour(matrix, start=0, seed=_turf)
        times.append(time.perf_counter() - started)
        assert tour[0] == tour[-1] == 0 and sorted(tour[:-1]) == list(range(len(pts)))
        runs = 3 if len(pts) < 300 else 1
        reference = elkai.DistanceMatrix(np.rint(matrix * 10).astype(int).tolist()).solve_tsp(
            runs=runs
        )
        best = tour_length(matrix, reference)
        gaps.append(tour_length(matrix, tour) / best - 1)
        nearest = [*_nearest_neighbour(matrix).tolist(), 0]
        nn_gaps.append(tour_length(matrix, nearest) / best - 1)
    log(f"{args.turfs} turfs of {args.doors} doors: mean {np.mean(times):.3f}s per turf")
    emit(
        {
            "job": "route_turf",
            "size": args.doors,
            "turfs": args.turfs,
            "seconds": round(float(np.sum(times)), 3),
            "p95_seconds": round(float(np.percentile(times, 95)), 4),
            "gap": round(float(np.mean(gaps)), 4),
            "max_gap": round(float(np.max(gaps)), 4),
            "nn_gap": round(float(np.mean(nn_gaps)), 4),
        }
    )


if __name__ == "__main__":
    main()
