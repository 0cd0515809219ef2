"""The demo's elections: real contours, generated results that add up to the real totals."""

import statistics
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum

from campagne.accounts.models import User
from campagne.accounts.scopes import scope_for
from campagne.demo.elections import (
    ELECTION_LABEL,
    PROFILE_NAME,
    Totals,
    largest_remainder,
    read_totals,
    split_totals,
)
from campagne.elections.geometry import contains
from campagne.elections.models import (
    Address,
    Candidate,
    Election,
    ElectionKind,
    PollingStation,
    StationResult,
)
from campagne.targeting.filters import StationFilters
from campagne.targeting.models import PersonStation, TargetingProfile

# The real figures of département 04, présidentielle 2022 1st round (Ministry of the
# Interior), as shipped in campagne/demo/data/presidentielle-2022-t1-04.csv.
REAL_04 = {
    "inscrits": 128075,
    "abstentions": 29290,
    "votants": 98785,
    "blancs": 1478,
    "nuls": 624,
    "exprimes": 96683,
}
REAL_VOIX_04 = {
    "ARTHAUD": 505,
    "ROUSSEL": 2721,
    "MACRON": 20800,
    "LASSALLE": 4309,
    "LE PEN": 26010,
    "ZEMMOUR": 7926,
    "MÉLENCHON": 21856,
    "HIDALGO": 1396,
    "JADOT": 3957,
    "PÉCRESSE": 3834,
    "POUTOU": 865,
    "DUPONT-AIGNAN": 2504,
}


def test_shipped_totals_are_the_real_04_figures():
    totals = read_totals()

    assert {key: getattr(totals, key) for key in REAL_04} == REAL_04
    assert {c[2]: c[4] for c in totals.candidates} == REAL_VOIX_04
    assert [c[0] for c in totals.candidates] == list(range(1, 13))
    assert sum(totals.columns()) == totals.inscrits


def test_largest_remainder_adds_up_exactly():
    assert largest_remainder(10, [1, 1, 1]) == [4, 3, 3]
    assert largest_remainder(7, [0.5, 0.25, 0.25]) == [3, 2, 2]
    assert sum(largest_remainder(128075, [1 / 3] * 262)) == 128075


def test_split_adds_up_exactly_to_the_real_totals_with_variation():
    totals = read_totals()
    sizes = [100 + (i * 37) % 900 for i in range(262)]
    groups = [f"c{i // 3}" for i in range(262)]

    counts = split_totals(totals, sizes, groups, seed=4)

    columns = [sum(row[k] for row in counts) for k in range(15)]
    assert columns == totals.columns()
    assert sum(map(sum, counts)) == totals.inscrits
    assert all(value >= 0 for row in counts for value in row)
    abstention = [row[0] / sum(row) for row in counts]
    assert 0.02 < statistics.pstdev(abstention) < 0.15
    assert split_totals(totals, sizes, groups, seed=4) == counts
    assert split_totals(totals, sizes, groups, seed=5) != counts


def test_split_works_for_tiny_stations():
    totals = Totals(10, 3, 7, 1, 0, 6, ((1, "F", "A", "", 4), (2, "M", "B", "", 2)))

    counts = split_totals(totals, [1, 1, 1], ["x", "y", "y"], seed=1)

    assert [sum(row[k] for row in counts) for k in range(5)] == [3, 1, 0, 4, 2]
    assert sum(map(sum, counts)) == 10


@pytest.fixture
def demo(db):
    out = StringIO()
    call_command("demo", people=400, stdout=out)
    return out.getvalue()


def test_demo_results_add_up_exactly_to_the_real_figures(demo):
    election = Election.objects.get(kind=ElectionKind.PRESIDENTIELLE, year=2022, round=1)
    assert election.label == ELECTION_LABEL
    results = StationResult.objects.filter(election=election)
    sums = results.aggregate(**{key: Sum(key) for key in REAL_04})
    assert sums == REAL_04
    voix = {c.last_name: c.total_votes() for c in Candidate.objects.filter(election=election)}
    assert voix == REAL_VOIX_04
    assert all(not result.check_identities() for result in results)


def test_demo_stations_are_the_real_contours(demo):
    stations = PollingStation.objects.filter(departement_id="04")
    # 261 contours (one without geometry) and one station for the commune they miss.
    assert stations.count() == 262
    assert stations.filter(polygon__isnull=False).count() == 260
    assert not stations.filter(latitude__isnull=True).exists()
    assert StationResult.objects.filter(station__in=stations).count() == 262
    assert set(stations.values_list("circonscription_id", flat=True)) == {"04-01", "04-02"}


def test_demo_addresses_lie_in_their_station(demo):
    addresses = Address.objects.filter(source_id__startswith="demo-").select_related("station")
    assert addresses.count() > 1000
    assert not addresses.filter(station__isnull=True).exists()
    stations_with_addresses = addresses.values("station").distinct().count()
    assert stations_with_addresses == 262
    for address in addresses.filter(station__polygon__isnull=False)[:300]:
        assert contains(address.station.polygon, address.longitude, address.latitude)


def test_demo_profile_is_scored_and_people_attached(demo):
    profile = TargetingProfile.objects.get(name=PROFILE_NAME)
    assert profile.shared and profile.scores.count() == 262
    names = set(profile.candidates.values_list("last_name", flat=True))
    assert names == {"MÉLENCHON", "ROUSSEL", "JADOT", "HIDALGO"}
    attached = PersonStation.objects.count()
    assert attached > 0.5 * 400
    assert set(PersonStation.objects.values_list("method", flat=True)) == {
        "exact",
        "street",
        "single_station",
    }
    # The Digne organizer sees Digne's stations of the shared profile, nothing else.
    digne = User.objects.get(email="organisateur-digne@demo.campagne.test")
    visible = StationFilters().scores(scope_for(digne), profile)
    assert set(visible.values_list("station__commune_id", flat=True)) == {"04070"}


def test_demo_reset_replaces_the_generated_data(demo):
    call_command("demo", people=50, reset=True, stdout=StringIO())

    assert Election.objects.count() == 1
    assert TargetingProfile.objects.count() == 1
    assert StationResult.objects.aggregate(total=Sum("inscrits"))["total"] == 128075
    assert PersonStation.objects.filter(person__demo_marker__isnull=True).count() == 0


def test_demo_leaves_real_results_alone(db):
    election = Election.objects.create(kind=ElectionKind.PRESIDENTIELLE, year=2022, round=1)
    station = PollingStation.objects.create(id="04070_0001", commune_id="04070", number="0001")
    StationResult.objects.create(
        election=election, station=station, inscrits=10, abstentions=1, votants=9, exprimes=9
    )

    call_command("demo", people=20, stdout=StringIO())

    assert list(StationResult.objects.values_list("station_id", "inscrits")) == [("04070_0001", 10)]
    assert Election.objects.get().label == ""
