"""Scoring a profile: each part from the counts, the scale, the weights, the ranking.

The expected values are worked out by hand from the counts of ``conftest.RESULTS_2022``.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campagne.targeting.models import StationScore
from campagne.targeting.scoring import score_profile


def scores(profile) -> dict[str, StationScore]:
    return {s.station_id: s for s in StationScore.objects.filter(profile=profile)}


def ranking(profile) -> list[str]:
    return list(
        StationScore.objects.filter(profile=profile)
        .order_by("rank")
        .values_list("station_id", flat=True)
    )


def test_parts_are_computed_from_the_counts(profile):
    summary = score_profile(profile)

    assert summary.stations == 5
    digne_1 = scores(profile)["04070_0001"]
    # 1000 inscrits, 400 abstentions, 580 exprimés, Mélenchon 200 + Jadot (ECO) 90.
    assert (digne_1.inscrits, digne_1.abstentions, digne_1.side_votes) == (1000, 400, 290)
    assert digne_1.abstention_rate == pytest.approx(0.4)
    assert digne_1.share_exprimes == pytest.approx(290 / 580)
    assert digne_1.share_inscrits == pytest.approx(0.29)
    assert digne_1.reservoir == pytest.approx(400 * 290 / 580)  # 200 voters
    assert digne_1.turnout_change is None  # no comparison election chosen
    digne_2 = scores(profile)["04070_0002"]
    assert digne_2.share_exprimes == pytest.approx(78 / 390)
    assert digne_2.reservoir == pytest.approx(100 * 78 / 390)  # 20 voters


def test_score_is_the_weighted_scaled_parts_and_ranks_follow_it(profile):
    score_profile(profile)

    found = scores(profile)
    # Ranges: abstention 0.2–0.5, share of exprimés 0.2–0.5, reservoir 10–300.
    # Weights 1 (abstention), 1 (share), 2 (reservoir), total 4.
    expected = {
        "04112_0001": 100 * (1 / 3 + 1 + 2 * 1) / 4,
        "04070_0001": 100 * (2 / 3 + 1 + 2 * 190 / 290) / 4,
        "04070_0003": 100 * (1 + 0.05 / 0.3 + 2 * 90 / 290) / 4,
        "05061_0001": 100 * (1 + 0 + 0) / 4,
        "04070_0002": 100 * (0 + 0 + 2 * 10 / 290) / 4,
    }
    assert {key: found[key].score for key in expected} == pytest.approx(expected)
    assert ranking(profile) == list(expected)
    assert [found[key].rank for key in expected] == [1, 2, 3, 4, 5]
    assert profile.stats["count"] == 5
    assert profile.stats["parts"]["reservoir"] == {"min": 10.0, "max": 300.0}


def test_explanation_adds_up_to_the_score(profile):
    score_profile(profile)
    profile.refresh_from_db()
    digne_1 = scores(profile)["04070_0001"]

    explained = {item.part.key: item for item in profile.explain(digne_1)}

    assert explained["abstention_rate"].scaled == pytest.approx(2 / 3)
    assert explained["abstention_rate"].contribution == pytest.approx(100 * (2 / 3) / 4)
    assert explained["reservoir"].weight == 2
    assert explained["reservoir"].contribution == pytest.approx(100 * 2 * (190 / 290) / 4)
    assert explained["share_inscrits"].contribution == 0  # weight 0
    assert sum(item.contribution for item in explained.values()) == pytest.approx(digne_1.score)


def test_weights_change_the_ranking(profile):
    profile.weight_abstention = 3
    profile.weight_share_exprimes = 0
    profile.weight_reservoir = 0
    profile.save()

    score_profile(profile)

    # Abstention alone: 0.5 (Digne 3, Gap), 0.4, 0.3, 0.2; a tie goes to the larger
    # reservoir (Digne 3: 100 voters, Gap: 10).
    assert ranking(profile) == [
        "04070_0003",
        "05061_0001",
        "04070_0001",
        "04112_0001",
        "04070_0002",
    ]
    assert scores(profile)["05061_0001"].score == pytest.approx(100.0)


def test_turnout_change_against_a_comparison_election(profile, dataset):
    profile.comparison_election = dataset.e2017
    profile.weight_abstention = profile.weight_share_exprimes = profile.weight_reservoir = 0
    profile.weight_turnout = 1
    profile.save()

    score_profile(profile)

    found = scores(profile)
    # 2022 turnout − 2017 turnout: 0.6 − 0.7, 0.8 − 0.8, 0.5 − 0.6, 0.7 − 0.7; Gap unknown.
    assert found["04070_0001"].turnout_change == pytest.approx(-0.1)
    assert found["04070_0002"].turnout_change == pytest.approx(0.0)
    assert found["04070_0003"].turnout_change == pytest.approx(-0.1)
    assert found["04112_0001"].turnout_change == pytest.approx(0.0)
    assert found["05061_0001"].turnout_change is None
    # A fall raises the score; an unknown change counts 0.
    assert found["04070_0001"].score == pytest.approx(100.0)
    assert found["04070_0002"].score == pytest.approx(0.0)
    assert found["05061_0001"].score == pytest.approx(0.0)
    assert ranking(profile)[:2] == ["04070_0001", "04070_0003"]


def test_territory_and_minimum_size_limit_the_ranked_stations(profile):
    profile.departements.set(["04"])
    profile.min_inscrits = 600
    profile.save()

    score_profile(profile)

    # Gap is outside 04; Digne 2 (500 inscrits) is too small.
    assert ranking(profile) == ["04112_0001", "04070_0001", "04070_0003"]
    # The scale is the ranked stations' own: Digne 3 now has the top abstention.
    assert profile.stats["parts"]["abstention_rate"] == {"min": 0.3, "max": 0.5}


def test_a_commune_as_territory(profile):
    profile.communes.set(["04070"])

    score_profile(profile)

    assert set(ranking(profile)) == {"04070_0001", "04070_0002", "04070_0003"}


def test_several_elections_are_pooled_from_their_counts(profile, dataset):
    profile.elections.set([dataset.e2022, dataset.e2017])
    profile.nuances = ["eco"]  # Hamon in 2017 is ECO too
    profile.save()

    score_profile(profile)

    digne_1 = scores(profile)["04070_0001"]
    # Σ abstentions ÷ Σ inscrits over the two elections; our voix 290 + 700 (Hamon).
    assert digne_1.abstention_rate == pytest.approx((400 + 300) / (1000 + 1000))
    assert digne_1.share_exprimes == pytest.approx((290 + 700) / (580 + 700))
    assert digne_1.inscrits == 1000
    assert digne_1.side_votes == round((290 + 700) / 2)
    # The reservoir is per election: mean abstentions × pooled share.
    assert digne_1.reservoir == pytest.approx(350 * (990 / 1280))
    # Gap has one result only, and is still ranked.
    assert scores(profile)["05061_0001"].abstention_rate == pytest.approx(0.5)


def test_rescoring_replaces_the_scores_in_a_few_queries(profile):
    score_profile(profile)
    first = set(StationScore.objects.values_list("pk", flat=True))

    with CaptureQueriesContext(connection) as queries:
        score_profile(profile)

    assert StationScore.objects.count() == 5
    assert not first & set(StationScore.objects.values_list("pk", flat=True))
    # Side candidates, territory, delete, the INSERT … SELECT, the ranges, the update.
    assert len(queries) <= 12


def test_no_side_votes_gives_zero_shares(profile):
    profile.candidates.clear()
    profile.nuances = ["XYZ"]
    profile.save()

    score_profile(profile)

    assert {s.share_exprimes for s in scores(profile).values()} == {0.0}
    assert {s.reservoir for s in scores(profile).values()} == {0.0}
