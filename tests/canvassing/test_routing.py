"""Walk order (campagne.canvassing.routing): pure numpy and OR-Tools, no database."""

import itertools

import numpy as np

from campagne.canvassing.routing import (
    CHANGE_STREET_M,
    CROSS_STREET_M,
    DETOUR,
    SMALL_TOUR,
    local_metres,
    solve_tour,
    tour_length,
    walk_order,
    walking_matrix,
)

METRES_PER_DEGREE = 111_195.0


def _random_matrix(n: int, seed: int) -> np.ndarray:
    xy = np.random.default_rng(seed).uniform(0, 500, (n, 2))
    return walking_matrix(xy)


def _is_tour(tour, n, start):
    return tour[0] == tour[-1] == start and sorted(tour[:-1]) == list(range(n))


def test_local_metres_and_walking_distances():
    lat = np.array([44.0, 44.0 + 100 / METRES_PER_DEGREE])
    xy = local_metres(lat, [6.0, 6.0], origin=(44.0, 6.0))
    assert np.allclose(xy, [[0, 0], [0, 100]], atol=0.01)
    matrix = walking_matrix(xy)
    assert np.isclose(matrix[0, 1], 100 * DETOUR, atol=0.02)
    assert matrix[0, 0] == 0


def test_street_penalties():
    xy = np.array([[0, 0], [0, 14], [30, 0], [500, 0]], float)
    matrix = walking_matrix(xy, streets=["rue A", "rue A", "rue A", "rue B"], sides=[1, 0, 1, None])
    assert np.isclose(matrix[0, 1], 14 * DETOUR + CROSS_STREET_M)  # across the street
    assert np.isclose(matrix[0, 2], 30 * DETOUR)  # same side: no penalty
    assert np.isclose(matrix[0, 3], 500 * DETOUR + CHANGE_STREET_M)
    assert np.allclose(matrix, matrix.T)


def test_tiny_case_is_solved_optimally():
    for seed in range(5):
        matrix = _random_matrix(8, seed)
        tour = solve_tour(matrix, start=3)
        assert _is_tour(tour, 8, 3)
        others = [node for node in range(8) if node != 3]
        optimum = min(tour_length(matrix, [3, *perm, 3]) for perm in itertools.permutations(others))
        assert np.isclose(tour_length(matrix, tour), optimum)


def test_tour_visits_every_stop_once_from_the_start_and_is_deterministic():
    matrix = _random_matrix(60, 7)
    tour = solve_tour(matrix, start=12, seed=4, time_limit=5)
    assert _is_tour(tour, 60, 12)
    assert solve_tour(matrix, start=12, seed=4, time_limit=5) == tour
    for n in (0, 1, 2, 3):
        assert _is_tour(solve_tour(_random_matrix(n, 1), start=0), n, 0) or n == 0


def test_large_turfs_go_through_ortools():
    n = SMALL_TOUR + 30
    matrix = _random_matrix(n, 3)
    tour = solve_tour(matrix, start=5, time_limit=0.3)
    assert _is_tour(tour, n, 5)
    # Far better than visiting the stops in index order.
    assert tour_length(matrix, tour) < 0.5 * tour_length(matrix, [*range(n), 0])


def test_walk_order_keeps_each_side_of_a_street_together():
    # Rue A runs east-west, odd numbers north (y=+7), even south (y=-7), 20 m apart.
    along = np.arange(10) * 20.0
    xy = np.vstack(
        [np.column_stack([along, np.full(10, 7.0)]), np.column_stack([along, -7.0 * np.ones(10)])]
    )
    lat = 44.0 + xy[:, 1] / METRES_PER_DEGREE
    lon = 6.0 + xy[:, 0] / (METRES_PER_DEGREE * np.cos(np.radians(44.0)))
    numbers = [2 * i + 1 for i in range(10)] + [2 * i + 2 for i in range(10)]
    meeting = (44.0, 6.0 - 30 / 80_000)  # 30 m west of number 1
    order = walk_order(lat, lon, meeting, streets=["rue A"] * 20, sides=[n % 2 for n in numbers])
    assert sorted(order) == list(range(20))
    sides = [numbers[i] % 2 for i in order]
    # One side all the way, then the other: a single crossing.
    assert sum(a != b for a, b in itertools.pairwise(sides)) == 1
    assert walk_order([], [], meeting) == []
