"""Dashboard figures: what counts, the ratios, breakdowns, coverage, scoping."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campagne.accounts.scopes import scope_for
from campagne.canvassing import stats
from campagne.canvassing.models import Canvass, Outcome, Turf
from tests.canvassing.factories import (
    CanvassFactory,
    FieldCampaignFactory,
    SessionFactory,
    station,
    turf_with_stops,
)

pytestmark = pytest.mark.django_db

PARIS = dt.timezone(dt.timedelta(hours=1))  # winter time, as the dates below


def record(session, outcome, *, index=0, day=dt.date(2026, 11, 20), hour=10, **kwargs):
    """A door of ``session``'s turf (its ``index``-th household) knocked on ``day``."""
    stop = session.turf.stops.order_by("position")[index]
    return CanvassFactory(
        session=session,
        address_id=stop.address_id,
        outcome=outcome,
        recorded_at=dt.datetime.combine(day, dt.time(hour), tzinfo=PARIS),
        **kwargs,
    )


@pytest.fixture
def campaign():
    return FieldCampaignFactory(name="Digne et Manosque", goal_doors=40, goal_conversations=10)


@pytest.fixture
def digne(campaign, volunteer):
    turf = turf_with_stops(20, campaign=campaign, station=station("04070_0001", "04070"))
    return SessionFactory(turf=turf, volunteer=volunteer)


@pytest.fixture
def manosque(campaign):
    turf = turf_with_stops(10, campaign=campaign, station=station("04112_0003", "04112"))
    return SessionFactory(turf=turf)


@pytest.fixture
def doors(digne, manosque):
    """Digne: 14 doors opened (1 positive, 3 negative, 2 undecided, 8 refused) + 6 not
    home, over two days; Manosque: 4 doors, 2 positive. Plus records that must not count."""
    outcomes = (
        [Outcome.POSITIVE]
        + [Outcome.NEGATIVE] * 3
        + [Outcome.UNDECIDED] * 2
        + [Outcome.REFUSED] * 8
        + [Outcome.NOT_HOME] * 6
    )
    for index, outcome in enumerate(outcomes):
        day = dt.date(2026, 11, 20) if index < 10 else dt.date(2026, 11, 22)
        record(digne, outcome, index=index, day=day, wants_to_volunteer=index == 0)
    for index, outcome in enumerate(
        [Outcome.POSITIVE, Outcome.POSITIVE, Outcome.NOT_HOME, Outcome.MOVED]
    ):
        record(manosque, outcome, index=index, day=dt.date(2026, 11, 21))
    # Superseded by a later record of the same door, flagged, rejected: none counts.
    record(digne, Outcome.POSITIVE, index=15, superseded=True)
    record(digne, Outcome.POSITIVE, index=16, review=Canvass.Review.FLAGGED)
    record(digne, Outcome.POSITIVE, index=17, review=Canvass.Review.REJECTED)


def test_totals_count_only_standing_records(hq_admin, campaign, doors):
    board = stats.dashboard(scope_for(hq_admin), campaign, stats.Filters())

    figures = board.totals
    assert (figures.knocked, figures.opened, figures.conversations, figures.positive) == (
        24,
        16,
        8,
        3,
    )
    assert figures.volunteers == 1
    assert figures.open_rate == pytest.approx(16 / 24)
    assert figures.positive_rate == pytest.approx(3 / 8)
    assert figures.opened_per_positive == pytest.approx(16 / 3)


def test_the_one_in_fourteen(hq_admin, campaign, doors, digne):
    board = stats.dashboard(scope_for(hq_admin), campaign, stats.Filters(turf=digne.turf_id))

    assert board.totals.opened == 14
    assert board.totals.positive == 1
    assert board.totals.opened_per_positive == 14.0
    # Filtered: the campaign's goals, coverage and map are not the filter's.
    assert board.goals == [] and board.coverage is None and board.turf_map is None


def test_no_positive_yet_gives_no_ratio():
    figures = stats.Figures(knocked=5, opened=3, conversations=1, positive=0)
    assert figures.opened_per_positive is None
    assert stats.Figures().open_rate is None


def test_breakdowns_by_station_turf_volunteer_and_day(hq_admin, campaign, doors, digne, volunteer):
    board = stats.dashboard(scope_for(hq_admin), campaign, stats.Filters())

    stations = {row.key: row.figures for row in board.breakdowns["station"]}
    assert set(stations) == {"04070_0001", "04112_0003"}
    assert stations["04070_0001"].knocked == 20
    assert stations["04112_0003"].positive == 2
    volunteers = {row.key: row for row in board.breakdowns["volunteer"]}
    assert volunteers[volunteer.pk].figures.knocked == 20
    assert volunteers[volunteer.pk].label == f"{volunteer.first_name} {volunteer.last_name}"
    assert board.breakdowns["team"] == []  # no session had a team
    days = [(row.key, row.figures.knocked) for row in board.days]
    assert [(stats._as_date(day), n) for day, n in days] == [
        (dt.date(2026, 11, 20), 10),
        (dt.date(2026, 11, 21), 4),
        (dt.date(2026, 11, 22), 10),
    ]


def test_days_are_french_days(hq_admin, campaign, digne):
    # 23:30 UTC on the 20th is 00:30 on the 21st in Paris.
    CanvassFactory(session=digne, recorded_at=dt.datetime(2026, 11, 20, 23, 30, tzinfo=dt.UTC))
    board = stats.dashboard(scope_for(hq_admin), campaign, stats.Filters())
    assert [stats._as_date(row.key) for row in board.days] == [dt.date(2026, 11, 21)]


def test_goals_and_coverage_over_time(hq_admin, campaign, doors):
    board = stats.dashboard(scope_for(hq_admin), campaign, stats.Filters())

    assert [(goal.done, goal.target) for goal in board.goals] == [(24, 40), (8, 10)]
    coverage = board.coverage
    assert coverage.total == 30  # 20 + 10 households of one door each
    assert coverage.reached == 24
    assert coverage.cumulative() == [
        (dt.date(2026, 11, 20), pytest.approx(10 / 30)),
        (dt.date(2026, 11, 21), pytest.approx(14 / 30)),
        (dt.date(2026, 11, 22), pytest.approx(24 / 30)),
    ]
    by_station = {item.station_id: (item.reached, item.doors) for item in coverage.stations}
    assert by_station == {"04070_0001": (20, 20), "04112_0003": (4, 10)}
    assert board.chart is not None
    assert len(board.chart.dots) == 3
    assert board.chart.y_ticks[-1].label == "80 %"


def test_a_door_knocked_twice_covers_once(hq_admin, campaign, digne):
    record(digne, Outcome.NOT_HOME, index=0, day=dt.date(2026, 11, 20))
    record(digne, Outcome.POSITIVE, index=0, day=dt.date(2026, 11, 21))

    coverage = stats.coverage(scope_for(hq_admin), campaign)
    assert coverage.reached == 1
    assert coverage.daily == [(dt.date(2026, 11, 20), 1)]


def test_turf_map_states(hq_admin, campaign, doors, digne, manosque):
    spare = turf_with_stops(5, campaign=campaign, station=station("04070_0001", "04070"))
    Turf.objects.filter(pk=digne.turf_id).update(households=18)  # all reached → done

    collection = stats.dashboard(scope_for(hq_admin), campaign, stats.Filters()).turf_map
    states = {f["properties"]["turf"]: f["properties"]["state"] for f in collection["features"]}
    assert states == {digne.turf_id: "done", manosque.turf_id: "in_progress", spare.pk: "left"}


def test_organizer_of_digne_sees_only_digne(organizer_digne, campaign, doors):
    board = stats.dashboard(scope_for(organizer_digne), campaign, stats.Filters())

    assert board.totals.knocked == 20
    assert [row.key for row in board.breakdowns["station"]] == ["04070_0001"]
    assert board.coverage.total == 20
    assert len(board.turf_map["features"]) == 1


def test_organizer_of_05_sees_nothing_of_04(organizer_05, campaign, doors):
    board = stats.dashboard(scope_for(organizer_05), campaign, stats.Filters())
    assert board.totals == stats.Figures()


def test_volunteer_gets_their_own_figures_only(volunteer, campaign, doors):
    board = stats.dashboard(scope_for(volunteer), campaign, stats.Filters())

    assert board.personal
    assert board.totals.knocked == 20  # their Digne session, not Manosque
    assert board.breakdowns == {} and board.coverage is None and board.turf_map is None


def test_dashboard_query_count(hq_admin, campaign, doors):
    scope = scope_for(hq_admin)
    with CaptureQueriesContext(connection) as queries:
        stats.dashboard(scope, campaign, stats.Filters())
    # totals, days, 4 breakdowns, coverage (stations, doors, labels, firsts), map (4):
    # a fixed number, whatever the number of doors, turfs or days.
    assert len(queries) == 14


def test_campaign_summaries(organizer_digne, campaign, doors):
    other = FieldCampaignFactory()
    summaries = stats.campaign_summaries(
        scope_for(organizer_digne), type(campaign).objects.filter(pk__in=[campaign.pk, other.pk])
    )
    assert summaries == {campaign.pk: stats.Figures(20, 14, 6, 1, 1)}


def test_filters_from_query_ignore_garbage():
    filters = stats.Filters.from_query({"secteur": "x", "militant": "12", "bureau": "04070_0001"})
    assert filters == stats.Filters(station="04070_0001", volunteer=12)
    assert filters.as_query() == {"bureau": "04070_0001", "militant": "12"}


def test_recorded_now_counts_today(hq_admin, campaign, digne):
    record(digne, Outcome.POSITIVE, day=timezone.localdate())
    assert stats.dashboard(scope_for(hq_admin), campaign, stats.Filters()).totals.positive == 1
