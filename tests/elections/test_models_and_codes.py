"""Codes, address keys, geometry, and the models' rates, votes and scoping."""

import pytest

from campagne.accounts.scopes import scope_for
from campagne.elections.addresses import match_key, parse_address_line, street_key
from campagne.elections.communes import (
    CommuneResolver,
    departement_code,
    insee_code,
    split_station_key,
    station_key,
)
from campagne.elections.geometry import contains, shape
from campagne.elections.importers.headers import base, index_columns, norm
from campagne.elections.models import (
    Candidate,
    Election,
    ElectionKind,
    PollingStation,
    StationResult,
)
from tests.factories import commune


@pytest.mark.parametrize(
    ("departement", "number", "expected"),
    [
        ("04", "070", "04070"),
        ("4", "70", "04070"),
        ("1", "1", "01001"),
        ("2A", "004", "2A004"),
        ("2a", "4", "2A004"),
        ("ZA", "101", "97101"),
        ("ZB", "209", "97209"),
        ("ZC", "302", "97302"),
        ("ZD", "416", "97416"),
        ("ZM", "508", "97608"),  # Mayotte under its pre-2011 numbers
        ("ZN", "818", "98818"),
        ("ZP", "14", "98714"),
        ("ZS", "502", "97502"),
        ("ZW", "613", "98613"),
        ("ZX", "701", "97701"),
        ("ZX", "801", "97801"),
        ("ZZ", "229", "ZZ229"),
        ("971", "101", "97101"),
        ("04", "04070", "04070"),  # 2024: already the full code
        ("01", "1001", "01001"),  # full code that lost its zero
        ("", "4070", "04070"),
    ],
)
def test_insee_code(departement, number, expected):
    assert insee_code(departement, number) == expected


def test_departement_and_station_codes():
    assert departement_code("1") == "01"
    assert departement_code("ZA") == "971"
    assert departement_code("976") == "976"
    assert station_key("04070", "1") == "04070_0001"
    assert station_key("04070", "a12") == "04070_A12"
    assert split_station_key("04036_2") == ("04036", "0002")
    assert split_station_key("4070_0001") == ("04070", "0001")
    assert split_station_key("04070") is None


@pytest.mark.django_db
def test_resolver_maps_merged_communes_and_knows_none_of_the_collectivities():
    resolver = CommuneResolver.load()
    assert resolver.resolve("04070") == "04070"
    assert resolver.resolve("01324") == "01245"  # Rignat, merged in 2026
    assert resolver.resolve("49001") == "49050"
    assert resolver.resolve("97501") is None  # Saint-Pierre-et-Miquelon: not in the COG
    assert resolver.resolve("ZZ229") is None
    assert resolver.remapped == {"01324": "01245", "49001": "49050"}
    assert resolver.departement("2A004") == "2A"


def test_header_folding():
    assert norm("Code du b.vote") == "code du b vote"
    assert norm("N°Panneau") == "npanneau"
    assert norm("Voix.1") == "voix"
    assert norm("Unnamed: 27") == "unnamed 27"
    assert base("% Voix/exprimés 12") == "% voix/exprimes"
    assert index_columns(["Unnamed: 0", "Code département"]) == 1
    assert index_columns(["", "Code département"]) == 1
    assert index_columns(["Code département", "Libellé"]) == 0


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("12 bis av. de la République", (12, "bis", "av. de la République")),
        ("12B rue du Lac", (12, "B", "rue du Lac")),
        ("3, place Pied de Ville", (3, "", "place Pied de Ville")),
        ("12 r. de la Paix", (12, "", "r. de la Paix")),
        ("Lieu-dit Les Sièyes", (None, "", "Lieu-dit Les Sièyes")),
        ("7 A", (7, "", "A")),
    ],
)
def test_parse_address_line(line, expected):
    assert parse_address_line(line) == expected


def test_match_keys_agree_between_typed_and_official_addresses():
    official = match_key(12, "bis", "Avenue de la République", "04070")
    assert official == "12|b|avenue republique|04070"
    assert match_key(*parse_address_line("12 B av. de la republique"), "04070") == official
    assert match_key("012", "", "Bd Gassendi", "04070") == "12||boulevard gassendi|04070"
    assert street_key("Chem. de St-Pierre") == "chemin saint pierre"
    assert match_key(None, "", "Les Sièyes", "04070") == "||sieyes|04070"


def test_centroid_box_and_point_in_polygon():
    square = {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]]}
    outline = shape(square)
    assert (outline.longitude, outline.latitude) == (1.0, 1.0)
    assert (outline.min_longitude, outline.max_latitude) == (0, 2)
    assert contains(square, 1, 1)
    assert not contains(square, 3, 1)
    holed = {
        "type": "Polygon",
        "coordinates": [
            [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]],
            [[1, 1], [2, 1], [2, 2], [1, 2], [1, 1]],
        ],
    }
    assert not contains(holed, 1.5, 1.5)
    assert contains(holed, 3, 3)
    two = {
        "type": "MultiPolygon",
        "coordinates": [square["coordinates"], [[[10, 0], [12, 0], [12, 2], [10, 2], [10, 0]]]],
    }  # noqa: E501
    assert shape(two).longitude == pytest.approx(6.0)
    assert shape(None) is None


@pytest.fixture
def results(db):
    """Two stations of Digne (04) and one of Gap (05) in one election, two candidates."""
    election = Election.objects.create(kind=ElectionKind.PRESIDENTIELLE, year=2022, round=1)
    ours = Candidate.objects.create(election=election, panneau=7, last_name="MÉLENCHON")
    theirs = Candidate.objects.create(election=election, panneau=3, last_name="MACRON")
    rows = {}
    for key, code, counts, votes in [
        ("04070_0001", "04070", (1000, 400, 600, 10, 5, 585), (300, 285)),
        ("04070_0002", "04070", (500, 250, 250, 0, 0, 250), (50, 200)),
        ("05061_0001", "05061", (800, 0, 800, 0, 0, 800), (0, 800)),
    ]:
        station = PollingStation.objects.create(
            id=key, commune=commune(code), departement_id=code[:2], number=key[-4:]
        )
        inscrits, abstentions, votants, blancs, nuls, exprimes = counts
        rows[key] = StationResult.objects.create(
            election=election,
            station=station,
            inscrits=inscrits,
            abstentions=abstentions,
            votants=votants,
            blancs=blancs,
            nuls=nuls,
            exprimes=exprimes,
            votes={str(ours.pk): votes[0], str(theirs.pk): votes[1]},
        )
    return election, ours, theirs, rows


def test_rates_are_computed_from_counts(results):
    _election, _ours, _theirs, rows = results
    first = rows["04070_0001"]
    assert first.abstention_rate == 0.4
    assert first.turnout_rate == 0.6
    assert first.blancs_nuls == 15
    annotated = StationResult.objects.with_rates().get(pk=first.pk)
    assert annotated.abstention_ratio == pytest.approx(0.4)
    assert annotated.blancs_ratio == pytest.approx(10 / 600)


def test_votes_in_python_and_in_sql(results):
    election, ours, theirs, rows = results
    assert rows["04070_0001"].votes_for([ours]) == 300
    assert rows["04070_0001"].share_of_exprimes([ours]) == pytest.approx(300 / 585)
    assert rows["04070_0002"].share_of_inscrits([ours.pk, theirs.pk]) == pytest.approx(0.5)
    assert [c.last_name for c, _v in rows["04070_0001"].candidate_votes()] == [
        "MACRON",
        "MÉLENCHON",
    ]
    ranked = (
        StationResult.objects.for_election(election)
        .with_votes([ours])
        .filter(side_voix__gt=0)
        .order_by("-side_voix")
        .values_list("station_id", "side_voix")
    )
    assert list(ranked) == [("04070_0001", 300), ("04070_0002", 50)]
    both = StationResult.objects.with_votes([ours, theirs], name="all_voix").get(
        station_id="05061_0001"
    )
    assert both.all_voix == 800
    assert ours.total_votes() == 350
    assert StationResult.objects.with_votes([]).first().side_voix == 0
    assert list(Candidate.objects.matching(names=["mélenchon"])) == [ours]


def test_stations_and_results_are_scoped_by_commune(
    results, organizer_04, organizer_digne, hq_staff, volunteer
):
    assert set(
        scope_for(organizer_04)
        .filter_by_commune(StationResult.objects.all(), "station__commune")
        .values_list("station_id", flat=True)
    ) == {"04070_0001", "04070_0002"}
    assert (
        scope_for(organizer_digne)
        .filter_by_commune(PollingStation.objects.all(), "commune")
        .count()
        == 2
    )  # noqa: E501
    assert (
        scope_for(hq_staff).filter_by_commune(PollingStation.objects.all(), "commune").count() == 3
    )
    assert (
        not scope_for(volunteer).filter_by_commune(PollingStation.objects.all(), "commune").exists()
    )
    assert PollingStation.objects.in_departement("04").count() == 2
    assert PollingStation.objects.in_commune("05061").count() == 1


def test_election_labels(db):
    election = Election.objects.create(kind=ElectionKind.LEGISLATIVES, year=2024, round=2)
    assert str(election) == "Législatives 2024, tour 2"
    election.label = "Législatives anticipées 2024, 2d tour"
    assert str(election) == "Législatives anticipées 2024, 2d tour"
