"""Turf cutting: split the households of polling stations into walkable turfs.

Pure functions on numpy arrays, no database: the canvassing actions load the households
of the chosen stations, call :func:`cut_turfs` and store one turf per label.

A turf is walked from its meeting point and back (see ``routing.walk_order``); by default
the meeting point is the station's place. Cutting is therefore a capacitated routing
problem, solved "route first, cluster second" (Beasley 1983; the split of Prins 2004):

1. The number of turfs of a station is the one whose mean size is closest to the target
   in ratio (89 doors at a target of 60 make two turfs of 44.5, not one of 89).
2. One giant tour from the meeting point through every household of the station. For
   speed it is built on small k-means clusters of about :data:`CLUSTER_HOUSEHOLDS`
   households (``routing.quick_tour`` on their centres), each cluster's households then
   taken in the direction of travel.
3. The tour is split into consecutive turfs by dynamic programming (a shortest path over
   the split points) minimising the sum of the turfs' walks: meeting point → first
   household, along the tour, last household → meeting point, plus a penalty on each
   turf's deviation from the station's mean size. Splits fall where the tour makes long
   jumps (to a hamlet, across a gap), turfs come out as petals around the meeting point,
   and sizes stay within :data:`LOWEST`–:data:`HIGHEST` of the mean; a building with more
   doors than that is a turf on its own. Buildings count all their doors.
4. A local search improves the split: the parts of the small clusters in each turf are
   moved between turfs (relocation, and 2-opt* where two turfs exchange their ends) or
   within one (2-opt), judging each turf's walk by the route through its parts' centres
   from the meeting point, with the same size penalty and bounds.

Stations of more than :data:`MAX_PIECE_TURFS` turfs (or everything, with
``cross_groups``) are first cut by door-balanced recursive bisection into pieces of at
most that many turfs, so that the tours and the dynamic programme stay small.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.cluster.vq import kmeans2

from campagne.canvassing.routing import DETOUR, local_metres, quick_tour, walking_matrix

# Size of the clusters the giant tour is built on: small enough to follow the streets,
# large enough for quick_tour to stay in milliseconds on a station (~80 nodes).
CLUSTER_HOUSEHOLDS = 6
# A station above this many turfs is first bisected into pieces of at most this many.
MAX_PIECE_TURFS = 12
# Hard bounds on a turf's doors, relative to the station's mean turf size.
LOWEST = 0.6
HIGHEST = 1.4
# Weight of the size penalty: a turf 10 % off its mean costs BALANCE × 1 % of the mean
# walk of a turf of its station. Tuned on bench/cut_turfs.py for a size CV near 0.13,
# leaving a margin under 0.15 (0.85 reaches 0.149 with 0.4 % less walking).
BALANCE = 1.0


def turf_count(total_doors: float, target_doors: float) -> int:
    """The number of turfs whose mean size is closest to the target, in ratio."""
    if total_doors <= 0:
        return 1
    low = max(1, math.floor(total_doors / target_doors))
    high = low + 1
    low_miss = abs(math.log(total_doors / low / target_doors))
    high_miss = abs(math.log(total_doors / high / target_doors))
    return low if low_miss <= high_miss else high


def cut_turfs(
    points: ArrayLike,
    doors: ArrayLike,
    groups: ArrayLike,
    target_doors: float = 60,
    *,
    cross_groups: bool = False,
    meeting_points: Mapping[object, tuple[float, float]] | None = None,
) -> np.ndarray:
    """Label every household with a turf, labels 0..k-1 over all the groups.

    ``points``: (n, 2) latitudes and longitudes in degrees; ``doors``: doors per household
    (a building with 40 flats counts 40); ``groups``: the polling station of each household;
    ``meeting_points``: where the walks of a group's turfs start and end, (lat, lon) by
    group (default and with ``cross_groups``: the household nearest the group's centre).
    Deterministic: the same input gives the same labels.
    """
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    doors = np.asarray(doors, dtype=float)
    n = len(points)
    labels = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return labels
    if target_doors <= 0:
        raise ValueError("target_doors must be positive")
    origin = (float(points[:, 0].mean()), float(points[:, 1].mean()))
    xy = local_metres(points[:, 0], points[:, 1], origin)
    keys: list[object] = []
    if cross_groups:
        codes = np.zeros(n, dtype=np.int64)
        keys = [None]
        meeting_points = None
    else:
        # Any labels, None included (households of no known station form one group).
        index: dict[object, int] = {}
        codes = np.array([index.setdefault(g, len(index)) for g in groups], dtype=np.int64)
        keys = list(index)
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    next_label = 0
    for members in np.split(order, bounds):
        place = (meeting_points or {}).get(keys[codes[members[0]]])
        if place is not None:
            depot = local_metres([place[0]], [place[1]], origin)[0]
        else:
            # Every piece of one station walks from the same place (cross_groups: pieces
            # may be far apart, each gets its own centre).
            depot = None if cross_groups else _centre(xy[members], doors[members])
        k = min(turf_count(float(doors[members].sum()), target_doors), len(members))
        pieces = _bisect(xy[members], doors[members], k, MAX_PIECE_TURFS)
        for piece, cells in pieces:
            local = members[piece]
            labels[local] = _route_and_split(xy[local], doors[local], cells, depot) + next_label
            next_label += cells
    return labels


def _bisect(
    xy: np.ndarray, doors: np.ndarray, k: int, max_cells: int
) -> list[tuple[np.ndarray, int]]:
    """Door-balanced recursive bisection into pieces of at most ``max_cells`` turfs.

    Returns (member indices, number of turfs) per piece; the turf counts add up to k.
    """
    pieces = []
    # Explicit stack instead of recursion: (member indices, number of cells).
    stack = [(np.arange(len(xy)), k)]
    while stack:
        members, cells = stack.pop()
        if cells <= max_cells or len(members) <= cells:
            pieces.append((members, cells))
            continue
        pts = xy[members]
        centred = pts - pts.mean(axis=0)
        # Split across the direction of largest spread (principal axis).
        _eigenvalues, vectors = np.linalg.eigh(centred.T @ centred)
        ranked = members[np.argsort(centred @ vectors[:, -1], kind="stable")]
        cumulative = np.cumsum(doors[ranked])
        left_cells = cells // 2
        share = cumulative[-1] * left_cells / cells
        cut = int(np.searchsorted(cumulative, share))
        # Take whichever side of the median household lands closer to the share.
        if cut > 0 and abs(cumulative[cut - 1] - share) <= abs(cumulative[cut] - share):
            cut -= 1
        cut = min(max(cut + 1, left_cells), len(ranked) - (cells - left_cells))
        stack.append((ranked[cut:], cells - left_cells))
        stack.append((ranked[:cut], left_cells))
    return pieces


def _route_and_split(
    xy: np.ndarray, doors: np.ndarray, k: int, depot: np.ndarray | None
) -> np.ndarray:
    """Labels 0..k-1 for one piece: giant tour from the depot, then the optimal split."""
    n = len(xy)
    if k <= 1 or n <= 1:
        return np.zeros(n, dtype=np.int64)
    if depot is None:
        depot = _centre(xy, doors)
    sequence, clusters = _giant_tour(xy, depot)
    labels, weight = _split(xy[sequence], doors[sequence], k, depot)
    rank = np.argsort(sequence)  # position of each household in the tour
    return _improve(xy, doors, labels[rank], clusters, rank, depot, k, weight)


def _centre(xy: np.ndarray, doors: np.ndarray) -> np.ndarray:
    """The household nearest the door-weighted centre: a stand-in for the station's place."""
    centre = np.average(xy, axis=0, weights=doors if doors.sum() > 0 else None)
    return xy[int(np.argmin(((xy - centre) ** 2).sum(axis=1)))]


def _giant_tour(xy: np.ndarray, depot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every household once, in the order of a short tour from and back to the depot.

    Returns the order and the cluster of each household.
    """
    n = len(xy)
    clusters = max(1, n // CLUSTER_HOUSEHOLDS)
    if clusters < 4:
        tour = quick_tour(walking_matrix(np.vstack([depot, xy])))
        return np.asarray(tour[1:-1], dtype=np.int64) - 1, np.arange(n)
    # A fixed seed keeps the cutting deterministic. Empty clusters are simply dropped.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        _centres, cluster = kmeans2(xy, clusters, minit="++", iter=6, seed=clusters)
    used = np.unique(cluster)
    count = np.bincount(cluster, minlength=clusters)[used].astype(float)
    centres = np.column_stack(
        [np.bincount(cluster, xy[:, axis], clusters)[used] / count for axis in (0, 1)]
    )
    tour = quick_tour(walking_matrix(np.vstack([depot, centres])))
    # Stops of the tour, depot at both ends; each cluster is walked from the previous stop
    # towards the next one.
    stops = np.vstack([depot, centres[np.asarray(tour[1:-1]) - 1], depot])
    rank = np.empty(clusters, dtype=np.int64)
    rank[used[np.asarray(tour[1:-1]) - 1]] = np.arange(len(used))
    heading = stops[2:] - stops[:-2]
    along = (xy * heading[rank[cluster]]).sum(axis=1)
    return np.lexsort((along, rank[cluster])), cluster


def _split(
    xy: np.ndarray, doors: np.ndarray, k: int, depot: np.ndarray
) -> tuple[np.ndarray, float]:
    """Cut a sequence of households into k consecutive turfs (labels 0..k-1, in order).

    Bellman over split points: F[c, j] is the cheapest way to make c turfs of the first j
    households, a turf (i..j-1) costing its walk from the depot along the sequence and
    back plus the size penalty. Returns the labels and the weight of the penalty.
    """
    n = len(xy)
    step = np.hypot(*np.diff(xy, axis=0).T) * DETOUR
    path = np.concatenate([[0.0], np.cumsum(step)])  # path[p]: length from 0 to p
    legs = np.hypot(*(xy - depot).T) * DETOUR
    total = np.concatenate([[0.0], np.cumsum(doors)])
    mean = total[-1] / k
    # The scale of the penalty: the mean walk of a turf if each were cut along the tour.
    scale = (path[-1] + 2 * legs.mean() * k) / k
    # Longest turf in households: the most households whose doors fit under HIGHEST.
    first_fit = np.searchsorted(total, total[1:] - HIGHEST * mean - 1e-9, side="left")
    longest = int(max(1, (np.arange(1, n + 1) - first_fit).max()))
    # Without the bounds (and any length) when they leave no way to make k turfs.
    for bounded, span in ((True, longest), (False, n)):
        ends = np.arange(1, n + 1)[:, None]  # a turf of length L ends before j: j-L .. j-1
        lengths = np.arange(1, span + 1)[None, :]
        starts = ends - lengths
        valid = starts >= 0
        starts = np.where(valid, starts, 0)
        size = total[ends] - total[starts]
        walk = legs[starts] + path[ends - 1] - path[starts] + legs[ends - 1]
        cost = walk + BALANCE * scale * (size / mean - 1) ** 2
        if bounded:
            fits = (size >= LOWEST * mean) & (size <= HIGHEST * mean)
            valid &= fits | (lengths == 1)
        cost = np.where(valid, cost, np.inf)
        best = np.full((k + 1, n + 1), np.inf)
        best[0, 0] = 0.0
        choice = np.zeros((k + 1, n + 1), dtype=np.int64)
        for c in range(1, k + 1):
            candidates = best[c - 1][starts] + cost
            choice[c, 1:] = np.argmin(candidates, axis=1)
            best[c, 1:] = candidates[np.arange(n), choice[c, 1:]]
        if np.isfinite(best[k, n]):
            break
    labels = np.empty(n, dtype=np.int64)
    end = n
    for c in range(k, 0, -1):
        start = end - (choice[c, end] + 1)
        labels[start:end] = c - 1
        end = start
    return labels, BALANCE * scale


def _improve(
    xy: np.ndarray,
    doors: np.ndarray,
    labels: np.ndarray,
    clusters: np.ndarray,
    rank: np.ndarray,
    depot: np.ndarray,
    k: int,
    weight: float,
) -> np.ndarray:
    """Local search on a split (step 4 of the module docstring); labels 0..k-1.

    A unit is the part of a cluster in one turf; a turf's walk is estimated as the route
    through its units' centres from the depot, in the order of the giant tour at first.
    Each step applies the best move of :func:`_best_move` until none gains.
    """
    key = clusters.astype(np.int64) * k + labels
    _keys, unit_of = np.unique(key, return_inverse=True)
    units = int(unit_of.max()) + 1
    count = np.bincount(unit_of, minlength=units).astype(float)
    centres = np.column_stack([np.bincount(unit_of, xy[:, axis], units) / count for axis in (0, 1)])
    unit_doors = np.bincount(unit_of, doors, units)
    unit_turf = np.zeros(units, dtype=np.int64)
    unit_turf[unit_of] = labels
    first = np.full(units, len(xy))
    np.minimum.at(first, unit_of, rank)
    # Node ``units`` is the depot.
    distance = walking_matrix(np.vstack([centres, depot]))
    routes = [[] for _ in range(k)]
    for unit in np.argsort(first, kind="stable"):
        routes[unit_turf[unit]].append(int(unit))
    sizes = np.bincount(unit_turf, unit_doors, k)
    mean = doors.sum() / k
    # A cap on the steps bounds the time; it is rarely reached.
    for _step in range(6 * units):
        move = _best_move(routes, distance, unit_doors, sizes, mean, weight)
        if move is None:
            break
        routes = move
        sizes = np.array([unit_doors[route].sum() for route in routes])
    for turf, route in enumerate(routes):
        unit_turf[route] = turf
    return unit_turf[unit_of]


class _Layout(NamedTuple):
    """The edges of every turf's route (depot → units → depot) and each unit's place."""

    tail: np.ndarray  # edge → its first node (``units`` is the depot)
    head: np.ndarray  # edge → its second node
    turf: np.ndarray  # edge → its turf
    pos: np.ndarray  # edge → how many units of its turf come before it
    prefix: np.ndarray  # edge → doors of those units
    prev: np.ndarray  # unit → the node before it
    next: np.ndarray  # unit → the node after it
    unit_turf: np.ndarray  # unit → its turf
    lengths: np.ndarray  # turf → number of units


def _layout(routes: list[list[int]], unit_doors: np.ndarray) -> _Layout:
    units = len(unit_doors)
    tails, heads, turfs, positions, prefixes = [], [], [], [], []
    prev, nxt = np.empty(units, np.int64), np.empty(units, np.int64)
    unit_turf = np.empty(units, np.int64)
    for turf, route in enumerate(routes):
        nodes = [units, *route, units]
        tails += nodes[:-1]
        heads += nodes[1:]
        turfs += [turf] * (len(nodes) - 1)
        positions += range(len(nodes) - 1)
        prefixes.append(np.concatenate([[0.0], np.cumsum(unit_doors[route])]))
        prev[route] = nodes[:-2]
        nxt[route] = nodes[2:]
        unit_turf[route] = turf
    return _Layout(
        np.array(tails),
        np.array(heads),
        np.array(turfs),
        np.array(positions),
        np.concatenate(prefixes),
        prev,
        nxt,
        unit_turf,
        np.array([len(route) for route in routes]),
    )


def _best_move(
    routes: list[list[int]],
    distance: np.ndarray,
    unit_doors: np.ndarray,
    sizes: np.ndarray,
    mean: float,
    weight: float,
) -> list[list[int]] | None:
    """The routes after the best improving move, or None.

    Moves: relocate a unit (into another turf or elsewhere in its own), 2-opt* (two
    turfs exchange their ends) and 2-opt (a turf reverses a stretch). A move between
    turfs counts the change of the size penalty and keeps the size bounds.
    """
    layout = _layout(routes, unit_doors)
    options = [
        _relocations(layout, distance, unit_doors, sizes, mean, weight),
        *_exchanges(layout, distance, sizes, mean, weight),
    ]
    gains = [float(option.min()) for option in options]
    kind = int(np.argmin(gains))
    if not gains[kind] < -1e-6:
        return None
    i, j = divmod(int(np.argmin(options[kind])), options[kind].shape[1])
    routes = [list(route) for route in routes]
    tail, turf, pos = layout.tail, layout.turf, layout.pos
    if kind == 0:  # unit i onto edge j
        routes[layout.unit_turf[i]].remove(i)
        into = routes[turf[j]]
        into.insert(0 if tail[j] == len(unit_doors) else into.index(int(tail[j])) + 1, i)
    elif kind == 1:  # turfs of edges i and j exchange what follows them
        a, b = turf[i], turf[j]
        routes[a], routes[b] = (
            routes[a][: pos[i]] + routes[b][pos[j] :],
            routes[b][: pos[j]] + routes[a][pos[i] :],
        )
    else:  # reverse what lies between edges i and j
        route = routes[turf[i]]
        route[pos[i] : pos[j]] = route[pos[i] : pos[j]][::-1]
    return routes


def _relocations(
    layout: _Layout,
    distance: np.ndarray,
    unit_doors: np.ndarray,
    sizes: np.ndarray,
    mean: float,
    weight: float,
) -> np.ndarray:
    """Gain of moving unit u onto edge e, shape (units, edges); inf where not allowed."""
    tail, head, prev, nxt = layout.tail, layout.head, layout.prev, layout.next
    every = np.arange(len(unit_doors))
    saving = distance[prev, every] + distance[every, nxt] - distance[prev, nxt]
    insertion = distance[tail][:, every].T + distance[every][:, head] - distance[tail, head]
    source, target = layout.unit_turf[:, None], layout.turf[None, :]
    moved = source != target
    shrunk, grown = sizes[source] - unit_doors[:, None], sizes[target] + unit_doors[:, None]
    change = _penalty(shrunk, mean) + _penalty(grown, mean)
    change -= _penalty(sizes[source], mean) + _penalty(sizes[target], mean)
    delta = insertion - saving[:, None] + np.where(moved, weight * change, 0.0)
    forbidden = (tail[None, :] == every[:, None]) | (head[None, :] == every[:, None])
    forbidden |= moved & (
        (layout.lengths[source] == 1)
        | ((shrunk < LOWEST * mean) & (unit_doors[:, None] > 0))
        | (grown > HIGHEST * mean)
    )
    delta[forbidden] = np.inf
    return delta


def _exchanges(
    layout: _Layout, distance: np.ndarray, sizes: np.ndarray, mean: float, weight: float
) -> tuple[np.ndarray, np.ndarray]:
    """Gains of 2-opt* (edges e, f of two turfs) and of 2-opt (e before f in one turf)."""
    tail, head, pos, prefix = layout.tail, layout.head, layout.pos, layout.prefix
    edge = distance[tail, head]
    kept = edge[:, None] + edge[None, :]
    swapped = distance[tail[:, None], head[None, :]] + distance[tail[None, :], head[:, None]]
    reversed_ = distance[tail[:, None], tail[None, :]] + distance[head[:, None], head[None, :]]
    turf_e, turf_f = layout.turf[:, None], layout.turf[None, :]
    size_e = prefix[:, None] + sizes[turf_f] - prefix[None, :]
    size_f = prefix[None, :] + sizes[turf_e] - prefix[:, None]
    count_e = pos[:, None] + layout.lengths[turf_f] - pos[None, :]
    count_f = pos[None, :] + layout.lengths[turf_e] - pos[:, None]
    change = _penalty(size_e, mean) + _penalty(size_f, mean)
    change -= _penalty(sizes[turf_e], mean) + _penalty(sizes[turf_f], mean)
    exchange = swapped - kept + weight * change
    low, high = LOWEST * mean, HIGHEST * mean
    exchange[
        (turf_e == turf_f)
        | (count_e < 1)
        | (count_f < 1)
        | (size_e < low)
        | (size_e > high)
        | (size_f < low)
        | (size_f > high)
    ] = np.inf
    reverse = reversed_ - kept
    reverse[(turf_e != turf_f) | (pos[:, None] + 1 >= pos[None, :])] = np.inf
    return exchange, reverse


def _penalty(size: np.ndarray, mean: float) -> np.ndarray:
    return (size / mean - 1) ** 2
