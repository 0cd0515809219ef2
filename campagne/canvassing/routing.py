"""Walk order: the route through a turf's doors, from the meeting point and back to it.

Pure functions on numpy arrays, no database: the canvassing actions load the households,
call :func:`walk_order` and store the order.

Walking distances
    Straight-line metres between points (an equirectangular projection around the turf,
    exact to well under 1 % at a turf's scale) times :data:`DETOUR`, the usual ratio of a
    pedestrian's path through a street network to the straight line. When the streets
    are known, two penalties keep volunteers from zigzagging: :data:`CROSS_STREET_M` is
    added between the two sides of the same street (in France the side is the parity of
    the house number) and :data:`CHANGE_STREET_M` between two different streets. A
    volunteer therefore walks one side of a street, then the other, and finishes a
    street before starting the next one, unless the penalty is clearly outweighed by the
    distance saved. The meeting point belongs to no street: no penalty to or from it.

Solvers
    Small turfs (up to :data:`SMALL_TOUR` stops, the usual 40-80 doors) are solved in
    numpy: nearest neighbour, then best-improvement 2-opt and Or-opt, then an iterated
    local search of double-bridge kicks; OR-Tools' per-call set-up and its slow start of
    guided local search do not fit in the 50 ms a walk list has (measured: 2.1 % above
    LKH at 30 ms, against 0.4 % for this). Larger turfs go to OR-Tools' routing solver
    (Christofides first solution, guided local search, a time limit scaled to the size).
    See bench/route_turf.py for the gap to LKH and the timings.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

EARTH_RADIUS_M = 6_371_008.8
# A walk through streets is about 30 % longer than the straight line between two doors.
DETOUR = 1.3
# Crossing to the other side of the same street: looking both ways, a crossing.
CROSS_STREET_M = 15.0
# Leaving a street for another one: enough to finish a street first, small enough that a
# long detour is never taken just to stay on the same street.
CHANGE_STREET_M = 40.0
# Up to this many stops the numpy local search is used, above it OR-Tools.
SMALL_TOUR = 150
# Iterated local search: kicks per stop, and a time cap that only bites on a loaded machine.
KICKS_PER_STOP = 1.0
SMALL_TIME_CAP_S = 0.035


def local_metres(lat: ArrayLike, lon: ArrayLike, origin: tuple[float, float] | None = None):
    """Project latitudes/longitudes (degrees) onto a local plane in metres, shape (n, 2).

    Equirectangular around ``origin`` (default: the mean point); the error stays far
    below a metre within a few kilometres, which is all a turf or a station spans.
    """
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    if origin is None:
        origin = (float(lat.mean()), float(lon.mean())) if lat.size else (0.0, 0.0)
    scale = np.pi / 180 * EARTH_RADIUS_M
    x = (lon - origin[1]) * scale * np.cos(np.radians(origin[0]))
    y = (lat - origin[0]) * scale
    return np.column_stack([x, y])


def walking_matrix(
    xy: ArrayLike,
    *,
    streets: ArrayLike | None = None,
    sides: ArrayLike | None = None,
    detour: float = DETOUR,
) -> np.ndarray:
    """Walking distances in metres between points already in metres (see :func:`local_metres`).

    ``streets`` (any labels; ``None`` entries belong to no street) and ``sides`` (e.g.
    house number parity) add the street penalties described in the module docstring.
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    diff = xy[:, None, :] - xy[None, :, :]
    matrix = np.hypot(diff[..., 0], diff[..., 1]) * detour
    if streets is not None:
        street = _codes(streets)
        known = street >= 0
        both = known[:, None] & known[None, :]
        other_street = both & (street[:, None] != street[None, :])
        matrix += np.where(other_street, CHANGE_STREET_M, 0.0)
        if sides is not None:
            side = _codes(sides)
            other_side = both & ~other_street & (side[:, None] != side[None, :])
            matrix += np.where(other_side, CROSS_STREET_M, 0.0)
    np.fill_diagonal(matrix, 0.0)
    return matrix


def _codes(labels: ArrayLike) -> np.ndarray:
    """Integer codes for arbitrary labels, -1 for None."""
    values = list(labels)  # type: ignore[arg-type]
    index: dict[object, int] = {}
    return np.array(
        [-1 if value is None else index.setdefault(value, len(index)) for value in values],
        dtype=np.int64,
    )


def tour_length(matrix: ArrayLike, tour: Sequence[int]) -> float:
    """Length of a tour given as a node sequence; closed if it ends where it starts."""
    matrix = np.asarray(matrix, dtype=float)
    nodes = np.asarray(tour, dtype=np.int64)
    return float(matrix[nodes[:-1], nodes[1:]].sum())


def walk_order(
    lat: ArrayLike,
    lon: ArrayLike,
    meeting_point: tuple[float, float],
    *,
    streets: ArrayLike | None = None,
    sides: ArrayLike | None = None,
    time_limit: float | None = None,
    seed: int = 0,
) -> list[int]:
    """Order the households of a turf into a walk from ``meeting_point`` and back to it.

    Returns the household indices (into ``lat``/``lon``), each exactly once, in walking
    order; the walk is meeting point → order[0] → … → order[-1] → meeting point.
    """
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    if lat.size == 0:
        return []
    xy = local_metres(
        np.concatenate([[meeting_point[0]], lat]),
        np.concatenate([[meeting_point[1]], lon]),
    )
    if streets is not None:
        streets = [None, *list(streets)]  # type: ignore[arg-type]
        if sides is not None:
            sides = [None, *list(sides)]  # type: ignore[arg-type]
    matrix = walking_matrix(xy, streets=streets, sides=sides)
    tour = solve_tour(matrix, start=0, time_limit=time_limit, seed=seed)
    return [node - 1 for node in tour[1:-1]]


def solve_tour(
    matrix: ArrayLike, *, start: int = 0, time_limit: float | None = None, seed: int = 0
) -> list[int]:
    """A short closed tour through every node of a symmetric distance matrix.

    Returns ``[start, …, start]``: every node once, ``start`` at both ends. ``time_limit``
    (seconds) defaults to one scaled to the size. With the same seed the result is the
    same, unless the time limit cuts the search short (a loaded machine, or OR-Tools).
    """
    matrix = np.asarray(matrix, dtype=float)
    n = len(matrix)
    if n <= 3:
        rest = [node for node in range(n) if node != start]
        return [start, *rest, start]
    # Rotate so that the start is node 0: both solvers keep node 0 in place.
    perm = np.concatenate([[start], np.delete(np.arange(n), start)])
    local = matrix[np.ix_(perm, perm)]
    if n <= SMALL_TOUR:
        budget = SMALL_TIME_CAP_S if time_limit is None else time_limit
        tour = _iterated_local_search(local, budget=budget, seed=seed)
    else:
        budget = min(1.4, 0.003 * n) if time_limit is None else time_limit
        tour = _ortools_tour(local, budget=budget)
    order = perm[tour]
    return [int(node) for node in order] + [start]


def quick_tour(matrix: ArrayLike) -> list[int]:
    """A fast, deterministic closed tour from node 0: nearest neighbour, 2-opt and Or-opt.

    About 5 % above the best tours, in a few milliseconds for a turf: enough to compare
    the walking length of whole turf cuttings (bench/cut_turfs.py).
    """
    matrix = np.asarray(matrix, dtype=float)
    if len(matrix) <= 3:
        return [*range(len(matrix)), 0]
    tour = _local_search(matrix, _nearest_neighbour(matrix), 1e-3)
    return [int(node) for node in tour] + [0]


# --- numpy local search ------------------------------------------------------------------
# A tour is an array of node positions with node 0 (the start) fixed at position 0. Each
# step gathers P[i, j] = D[t_i, t_j] once, evaluates every 2-opt move and every Or-opt move
# of 1 to 3 consecutive stops (in both orientations) from it, and applies the best one.


def _nearest_neighbour(matrix: np.ndarray) -> np.ndarray:
    n = len(matrix)
    seen = np.zeros(n, dtype=bool)
    tour = np.empty(n, dtype=np.int64)
    tour[0] = 0
    seen[0] = True
    for step in range(1, n):
        row = np.where(seen, np.inf, matrix[tour[step - 1]])
        tour[step] = int(np.argmin(row))
        seen[tour[step]] = True
    return tour


def _best_move(matrix: np.ndarray, tour: np.ndarray) -> tuple[float, int, int, int, bool]:
    """(delta, kind, i, j, reversed): kind 0 is 2-opt, 1-3 an Or-opt segment length."""
    n = len(tour)
    p = matrix[np.ix_(tour, tour)]
    p_next = np.roll(p, -1, axis=1)  # p_next[r, q] = D[t_r, t_{q+1}]
    edge = np.diagonal(p_next).copy()  # edge[q] = D[t_q, t_{q+1}]
    # 2-opt: replace edges (q, q+1), (r, r+1) with (q, r), (q+1, r+1), for q < r - 1.
    two = p + np.roll(p_next, -1, axis=0) - edge[:, None] - edge[None, :]
    two = np.triu(two, 2)
    k = int(np.argmin(two))
    best = (float(two.flat[k]), 0, k // n, k % n, False)
    cols = np.arange(n)
    for length in (1, 2, 3):
        if length > n - 3:
            break
        first = np.arange(1, n - length + 1)  # segment positions, never the start
        last = first + length - 1
        after = (last + 1) % n
        gain = edge[first - 1] + edge[last] - p[first - 1, after]
        forward = p[first] + p_next[last] - edge[None, :]
        backward = p[last] + p_next[first] - edge[None, :]
        insert = np.minimum(forward, backward)
        # Edges touching or inside the segment are not insertion points.
        inside = (cols[None, :] >= (first - 1)[:, None]) & (cols[None, :] <= last[:, None])
        insert[inside] = np.inf
        delta = insert - gain[:, None]
        k = int(np.argmin(delta))
        row, col = divmod(k, n)
        if delta[row, col] < best[0]:
            flip = bool(backward[row, col] < forward[row, col])
            best = (float(delta[row, col]), length, int(first[row]), col, flip)
    return best


def _apply(tour: np.ndarray, kind: int, i: int, j: int, flip: bool) -> np.ndarray:
    if kind == 0:
        tour = tour.copy()
        tour[i + 1 : j + 1] = tour[i + 1 : j + 1][::-1]
        return tour
    segment = tour[i : i + kind]
    if flip:
        segment = segment[::-1]
    rest = np.concatenate([tour[:i], tour[i + kind :]])
    at = j if j < i else j - kind  # edge j's start, in the tour without the segment
    return np.concatenate([rest[: at + 1], segment, rest[at + 1 :]])


def _local_search(matrix: np.ndarray, tour: np.ndarray, epsilon: float) -> np.ndarray:
    while True:
        delta, kind, i, j, flip = _best_move(matrix, tour)
        if delta >= -epsilon:
            return tour
        tour = _apply(tour, kind, i, j, flip)


def _iterated_local_search(matrix: np.ndarray, *, budget: float, seed: int) -> np.ndarray:
    started = time.perf_counter()
    n = len(matrix)
    # Improvements below a millimetre are rounding noise: stop there.
    epsilon = 1e-3
    tour = _local_search(matrix, _nearest_neighbour(matrix), epsilon)
    length = tour_length(matrix, [*tour, 0])
    if n < 8:
        return tour
    rng = np.random.default_rng(seed)
    for _ in range(int(KICKS_PER_STOP * n)):
        if time.perf_counter() - started > budget:
            break
        # Double bridge: A B C D -> A C B D, the classic kick 2-opt and Or-opt cannot undo.
        cuts = np.sort(rng.choice(np.arange(1, n), size=3, replace=False))
        a, b, c = (int(cut) for cut in cuts)
        kicked = np.concatenate([tour[:a], tour[b:c], tour[a:b], tour[c:]])
        kicked = _local_search(matrix, kicked, epsilon)
        kicked_length = tour_length(matrix, [*kicked, 0])
        if kicked_length < length - epsilon:
            tour, length = kicked, kicked_length
    return tour


# --- OR-Tools ------------------------------------------------------------------------------


def _ortools_tour(matrix: np.ndarray, *, budget: float) -> np.ndarray:
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = len(matrix)
    # OR-Tools wants integers: decimetres keep the rounding far below a step.
    costs = np.rint(matrix * 10).astype(np.int64).tolist()
    manager = pywrapcp.RoutingIndexManager(n, 1, 0)
    model = pywrapcp.RoutingModel(manager)
    transit = model.RegisterTransitMatrix(costs)
    model.SetArcCostEvaluatorOfAllVehicles(transit)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.CHRISTOFIDES
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(max(1, int(budget * 1000)))
    solution = model.SolveWithParameters(params)
    if solution is None:  # pragma: no cover - a complete graph always has a tour
        return _nearest_neighbour(matrix)
    tour = []
    index = model.Start(0)
    while not model.IsEnd(index):
        tour.append(manager.IndexToNode(index))
        index = solution.Value(model.NextVar(index))
    return np.array(tour, dtype=np.int64)
