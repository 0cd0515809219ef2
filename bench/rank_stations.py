"""Scoring, ranking and storing the priority score of every polling station of France.

    .venv/bin/python bench/rank_stations.py --stations 69000

Synthesises, in a fresh SQLite database (or DATABASE_URL), ``--stations`` polling stations
over the real communes of the COG loaded by ``migrate`` (sizes following population, as
bench/import_results.py does), the présidentielle 2022 1st round (12 candidates, votes
drawn around the national shares) and the 2017 1st round for the turnout change. A
targeting profile takes Mélenchon, Roussel, Jadot and Hidalgo as our side, 2017 as the
comparison, every part of the score weighted. Then, in the same run:

- ``seconds``: ``campagne.targeting.scoring.score_profile`` — delete the profile's old
  scores, compute every part from the counts, scale, weight, rank and INSERT one row per
  station, and record each part's range on the profile;
- ``baseline_seconds``: the same scoring in polars, in memory: the same result rows read
  from the database into a DataFrame (one SELECT), our side's voix read from the votes
  JSON, the parts, their ranges, the score and the ranks computed, nothing stored;
- ``ratio`` = seconds / baseline_seconds. Targets: under 3 s, ratio ≤ 3.

Both are the median of ``--repeats`` runs; the script checks that both give the same
ranking.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import emit, log, setup_django  # noqa: E402
from import_results import CANDIDATES, stations_per_commune  # noqa: E402

OUR_SIDE = ("MÉLENCHON", "ROUSSEL", "JADOT", "HIDALGO")
BATCH = 20_000


def synthesise(target: int, seed: int = 2022) -> dict[str, int]:
    """Stations and the 2022 and 2017 results, written in bulk; returns election ids."""
    from django.db import connection, transaction

    from campagne.elections.models import (
        Candidate,
        Election,
        ElectionKind,
        PollingStation,
        StationResult,
    )
    from campagne.territory.models import Commune

    rng = random.Random(seed)
    communes = list(
        Commune.objects.filter(parent__isnull=True, population__gt=0)
        .order_by("code")
        .values_list("code", "departement_id", "population")
    )
    if len(communes) > target:
        communes = sorted(rng.sample(communes, target))
    counts = stations_per_commune([(code, pop) for code, _dep, pop in communes], target)
    with transaction.atomic():
        e2022 = Election.objects.create(kind=ElectionKind.PRESIDENTIELLE, year=2022, round=1)
        e2017 = Election.objects.create(kind=ElectionKind.PRESIDENTIELLE, year=2017, round=1)
        ids_2022 = [
            Candidate.objects.create(
                election=e2022, panneau=n, sex=sex, last_name=last, first_name=first
            ).pk
            for n, (sex, last, first, _share) in enumerate(CANDIDATES, start=1)
        ]
        id_2017 = Candidate.objects.create(election=e2017, panneau=1, last_name="CANDIDAT").pk
        weights = [share for *_rest, share in CANDIDATES]
        stations, results = [], []
        for (code, dep, population), count in zip(communes, counts, strict=True):
            registered = max(40, int(population * 0.72))
            for number in range(1, count + 1):
                key = f"{code}_{number:04d}"
                stations.append((key, code, dep, f"{number:04d}", "", "", "", ""))
                for election, year in ((e2022.pk, 2022), (e2017.pk, 2017)):
                    inscrits = max(30, int(registered / count * rng.uniform(0.85, 1.15)))
                    votants = int(inscrits * rng.uniform(0.6, 0.85))
                    blancs = int(votants * rng.uniform(0.005, 0.025))
                    nuls = int(votants * rng.uniform(0.002, 0.01))
                    exprimes = votants - blancs - nuls
                    if year == 2022:
                        draws = [rng.gammavariate(share * 4 + 0.5, 1.0) for share in weights]
                        scale = exprimes / sum(draws)
                        voix = [int(d * scale) for d in draws]
                        voix[rng.randrange(len(voix))] += exprimes - sum(voix)
                        votes = dict(zip(map(str, ids_2022), voix, strict=True))
                    else:
                        votes = {str(id_2017): exprimes}
                    results.append(
                        (
                            election,
                            key,
                            inscrits,
                            inscrits - votants,
                            votants,
                            blancs,
                            nuls,
                            exprimes,
                            json.dumps(votes),
                        )
                    )
        quote = connection.ops.quote_name
        station_table = quote(PollingStation._meta.db_table)
        result_table = quote(StationResult._meta.db_table)
        with connection.cursor() as cursor:
            for offset in range(0, len(stations), BATCH):
                cursor.executemany(
                    f"INSERT INTO {station_table} (id, commune_id, departement_id, number, "
                    "name, address_line, postal_code, reu_id) VALUES (%s, %s, %s, %s, %s, %s, "
                    "%s, %s)",
                    stations[offset : offset + BATCH],
                )
            for offset in range(0, len(results), BATCH):
                cursor.executemany(
                    f"INSERT INTO {result_table} (election_id, station_id, inscrits, "
                    "abstentions, votants, blancs, nuls, exprimes, votes) VALUES (%s, %s, %s, "
                    "%s, %s, %s, %s, %s, %s)",
                    results[offset : offset + BATCH],
                )
    return {"2022": e2022.pk, "2017": e2017.pk, "stations": len(stations)}


def make_profile(elections: dict[str, int]):  # noqa: ANN201 - a TargetingProfile
    from campagne.elections.models import Candidate
    from campagne.targeting.models import TargetingProfile

    profile = TargetingProfile.objects.create(
        name="Bench",
        comparison_election_id=elections["2017"],
        weight_abstention=1,
        weight_share_exprimes=1,
        weight_share_inscrits=1,
        weight_reservoir=2,
        weight_turnout=1,
    )
    profile.elections.set([elections["2022"]])
    profile.candidates.set(
        Candidate.objects.filter(election_id=elections["2022"], last_name__in=OUR_SIDE)
    )
    return profile


def baseline(profile) -> tuple[float, list[str]]:  # noqa: ANN001
    """The same scoring in polars: read the rows, compute in memory, rank; nothing stored."""
    import polars as pl
    from django.db import connection

    from campagne.elections.models import StationResult
    from campagne.targeting.models import PARTS

    started = time.perf_counter()
    side = profile.side_by_election()
    (election_id,) = side
    keys = side[election_id]
    table = connection.ops.quote_name(StationResult._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT election_id, station_id, inscrits, abstentions, votants, exprimes, votes "
            f"FROM {table} WHERE election_id IN (%s, %s)",
            [election_id, profile.comparison_election_id],
        )
        rows = cursor.fetchall()
    frame = pl.DataFrame(
        rows,
        schema=["election", "station", "ins", "abst", "vot", "expr", "votes"],
        orient="row",
    )
    current = frame.filter(pl.col("election") == election_id)
    side_voix = pl.sum_horizontal(
        pl.col("votes").str.json_path_match(f'$["{key}"]').cast(pl.Int64).fill_null(0)
        for key in keys
    )
    current = current.with_columns(side_voix.alias("side"))
    before = frame.filter(pl.col("election") == profile.comparison_election_id).select(
        "station", (pl.col("vot") / pl.col("ins")).alias("turnout_before")
    )
    parts = current.join(before, on="station", how="left").select(
        "station",
        (pl.col("abst") / pl.col("ins")).alias("abstention_rate"),
        (pl.col("side") / pl.col("expr")).alias("share_exprimes"),
        (pl.col("side") / pl.col("ins")).alias("share_inscrits"),
        (pl.col("abst") * pl.col("side") / pl.col("expr")).alias("reservoir"),
        (pl.col("vot") / pl.col("ins") - pl.col("turnout_before")).alias("turnout_change"),
    )
    weights = profile.weights()
    total = sum(weights.values())
    terms = []
    for part in PARTS:
        value, low, high = pl.col(part.key), pl.col(part.key).min(), pl.col(part.key).max()
        scaled = (
            (value - low) / (high - low) if part.direction > 0 else (high - value) / (high - low)
        )
        terms.append(weights[part.key] * scaled.fill_null(0.0).fill_nan(0.0))
    ranked = parts.with_columns((100.0 * pl.sum_horizontal(terms) / total).alias("score")).sort(
        ["score", "reservoir", "station"], descending=[True, True, False], nulls_last=True
    )
    order = ranked.get_column("station").to_list()
    return time.perf_counter() - started, order


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stations", type=int, default=69_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    setup_django("rank-stations")
    started = time.perf_counter()
    elections = synthesise(args.stations)
    log(f"synthesised {elections['stations']:,} stations in {time.perf_counter() - started:.1f}s")

    from campagne.targeting.models import StationScore
    from campagne.targeting.scoring import score_profile

    profile = make_profile(elections)
    baselines, order = [], []
    for _ in range(args.repeats):
        seconds, order = baseline(profile)
        baselines.append(seconds)
    log(f"polars baseline runs {[round(t, 3) for t in baselines]}")
    timings = []
    for _ in range(args.repeats):
        summary = score_profile(profile)
        timings.append(summary.seconds)
    log(f"score_profile runs {[round(t, 3) for t in timings]}")

    stored = list(
        StationScore.objects.filter(profile=profile)
        .order_by("rank")
        .values_list("station_id", flat=True)
    )
    assert summary.stations == elections["stations"], (summary, elections)
    assert stored[:1000] == order[:1000], "polars and SQL disagree on the ranking"
    seconds = statistics.median(timings)
    baseline_seconds = statistics.median(baselines)
    emit(
        {
            "job": "rank_stations",
            "size": summary.stations,
            "seconds": round(seconds, 3),
            "baseline_seconds": round(baseline_seconds, 3),
            "ratio": round(seconds / baseline_seconds, 2),
            "runs": [round(t, 3) for t in timings],
            "baseline_runs": [round(t, 3) for t in baselines],
        }
    )


if __name__ == "__main__":
    main()
