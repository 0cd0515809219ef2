"""Turf cutting (campagne.canvassing.cutting): pure numpy, no database."""

import numpy as np
import pytest

from campagne.canvassing.cutting import HIGHEST, LOWEST, cut_turfs, turf_count

METRES_PER_DEGREE = 111_195.0


def _town(households: int, seed: int = 1, origin=(44.09, 6.23)):
    """Households on a jittered 12 m grid around ``origin``, as (lat, lon) points."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(households)))
    grid = np.array([(i, j) for i in range(side) for j in range(side)][:households], float)
    metres = grid * 12 + rng.normal(0, 2, grid.shape)
    lat = origin[0] + metres[:, 1] / METRES_PER_DEGREE
    lon = origin[1] + metres[:, 0] / (METRES_PER_DEGREE * np.cos(np.radians(origin[0])))
    return np.column_stack([lat, lon])


def _sizes(doors, labels):
    return np.bincount(labels, doors)


def test_turf_count_picks_the_mean_size_closest_to_the_target():
    assert turf_count(60, 60) == 1
    assert turf_count(89, 60) == 2  # 44.5 is closer in ratio than 89
    assert turf_count(75, 60) == 1
    assert turf_count(600, 60) == 10
    assert turf_count(30, 60) == 1
    assert turf_count(0, 60) == 1


def test_every_household_gets_exactly_one_turf_within_bounds():
    points = _town(1200)
    doors = np.ones(len(points))
    labels = cut_turfs(points, doors, np.zeros(len(points)), 60)
    assert labels.shape == (1200,)
    assert sorted(np.unique(labels).tolist()) == list(range(20))
    sizes = _sizes(doors, labels)
    assert sizes.sum() == 1200
    assert sizes.min() >= 48 and sizes.max() <= 72  # within 20 % of 60
    assert sizes.std() / sizes.mean() <= 0.15


def test_turfs_never_cross_a_station_unless_asked():
    west = _town(300, seed=1)
    # The second station starts 30 m east of the first one: geometry alone would mix them.
    east = _town(300, seed=2, origin=(44.09, 6.23 + 30 / 80_000))
    points = np.vstack([west, east])
    groups = np.array(["0004-0001"] * 300 + ["0004-0002"] * 300)
    doors = np.ones(600)
    labels = cut_turfs(points, doors, groups, 60)
    for turf in np.unique(labels):
        assert len(set(groups[labels == turf])) == 1
    assert len(np.unique(labels)) == 10
    # Asked to cross: one pool of 600 doors, still 10 turfs.
    crossing = cut_turfs(points, doors, groups, 60, cross_groups=True)
    assert len(np.unique(crossing)) == 10
    assert _sizes(doors, crossing).sum() == 600


def test_buildings_count_their_doors():
    points = _town(200)
    doors = np.ones(200)
    doors[[10, 150]] = 50  # two blocks of 50 flats
    labels = cut_turfs(points, doors, np.zeros(200), 60)
    # 298 doors make 5 turfs, not the 3 that 200 households would.
    assert len(np.unique(labels)) == 5
    sizes = _sizes(doors, labels)
    assert sizes.sum() == 298
    assert 40 <= sizes.min() and sizes.max() <= 80  # the 40-80 doors of a turf


def test_turfs_are_compact():
    points = _town(2400)
    labels = cut_turfs(points, np.ones(2400), np.zeros(2400), 60)
    metres = (points - points.mean(axis=0)) * METRES_PER_DEGREE
    metres[:, 1] *= np.cos(np.radians(44.09))
    # 60 households on a 12 m grid cover about 90 m x 90 m: no turf strings across town.
    for turf in np.unique(labels):
        spread = np.ptp(metres[labels == turf], axis=0)
        assert spread.max() < 250, (turf, spread)


def test_deterministic_and_tiny_cases():
    points = _town(500)
    doors = np.ones(500)
    first = cut_turfs(points, doors, np.zeros(500), 60)
    again = cut_turfs(points, doors, np.zeros(500), 60)
    assert np.array_equal(first, again)
    assert cut_turfs(np.empty((0, 2)), [], [], 60).tolist() == []
    assert cut_turfs(points[:1], [1], [0], 60).tolist() == [0]
    with pytest.raises(ValueError):
        cut_turfs(points, doors, np.zeros(500), 0)


def test_group_labels_of_any_kind():
    points = _town(240)
    groups = [None] * 120 + [7] * 120
    labels = cut_turfs(points, np.ones(240), groups, 60)
    assert len(np.unique(labels)) == 4
    assert set(labels[:120]).isdisjoint(labels[120:])


def _offset(points, east_m, north_m):
    """The same points moved east and north by the given metres."""
    moved = np.array(points, dtype=float)
    moved[:, 0] += north_m / METRES_PER_DEGREE
    moved[:, 1] += east_m / (METRES_PER_DEGREE * np.cos(np.radians(44.09)))
    return moved


def test_an_outlying_hamlet_is_walked_by_one_turf():
    town = _town(600)
    # 20 houses 1.5 km east of the town: one volunteer goes there, not three.
    hamlet = _offset(_town(20, seed=3), 1500, 0)
    points = np.vstack([town, hamlet])
    doors = np.ones(len(points))
    meeting = tuple(town.mean(axis=0))
    labels = cut_turfs(points, doors, ["A"] * len(points), 60, meeting_points={"A": meeting})
    assert len(np.unique(labels)) == 10
    assert len(set(labels[600:])) == 1
    sizes = _sizes(doors, labels)
    assert sizes.sum() == 620
    assert sizes.min() >= LOWEST * 62 and sizes.max() <= HIGHEST * 62


def test_sizes_stay_within_bounds_of_the_station_mean():
    # Three stations of a town with big buildings and scattered hamlets.
    rng = np.random.default_rng(5)
    parts, groups = [], []
    for station in range(3):
        parts.append(_offset(_town(400, seed=station), 800 * station, 0))
        groups += [station] * 400
        for _hamlet in range(4):
            east, north = rng.uniform(-2000, 2000, 2)
            parts.append(_offset(_town(8, seed=10 + _hamlet), 800 * station + east, north))
            groups += [station] * 8
    points = np.vstack(parts)
    groups = np.array(groups)
    doors = np.ones(len(points))
    doors[rng.choice(len(points), 6, replace=False)] = 30
    labels = cut_turfs(points, doors, groups, 60)
    assert (labels >= 0).all()
    for station in range(3):
        mine = labels[groups == station]
        assert set(mine).isdisjoint(labels[groups != station])
        total = doors[groups == station].sum()
        k = turf_count(total, 60)
        assert len(np.unique(mine)) == k
        sizes = np.bincount(mine - mine.min(), doors[groups == station])
        assert sizes.min() >= LOWEST * total / k and sizes.max() <= HIGHEST * total / k


def test_a_building_bigger_than_a_turf_is_a_turf_of_its_own():
    points = _town(300)
    doors = np.ones(300)
    doors[120] = 150  # 450 doors: 8 turfs of about 56, the block of 150 alone
    labels = cut_turfs(points, doors, np.zeros(300), 60)
    assert len(np.unique(labels)) == 8
    assert (labels == labels[120]).sum() == 1
