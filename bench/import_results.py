"""Import time of a national présidentielle per-station results file.

    .venv/bin/python bench/import_results.py --stations 69000

Synthesises the Ministry's 2022 per-station file (``PR22_BVot_T1_FE.txt``'s layout: 21
fixed columns, then 12 candidate blocks of 7 of which only the first is named in the
header; cp1252, ``;``, CRLF, decimal commas) over the real communes of the COG loaded by
``migrate``, with station sizes that follow each commune's population. Then, in a fresh
SQLite database:

- ``seconds``: ``campagne import results FILE --kind presidentielle --year 2022 --round 1``
  run through ``call_command`` (the CLI's code path: detection, checks, writes);
- ``baseline_seconds``: the same file parsed into typed columns by polars alone
  (``pl.read_csv`` on the cp1252 bytes re-encoded to UTF-8, counts as integers,
  percentages as floats with ``decimal_comma``), in the same run;
- ``ratio`` = seconds / baseline_seconds. Targets: under 20 s, ratio ≤ 5.

``seconds`` and ``baseline_seconds`` are medians of ``--repeats`` runs (the import into
emptied tables each time), ``ratio`` the median of the runs' ratios: baseline and import
alternate so that each pair sees the same load, as the machines this runs on are shared.

``--profile`` writes a pyinstrument HTML profile of the import next to the file.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import emit, log, setup_django  # noqa: E402

HEADER = (
    "Code du département;Libellé du département;Code de la circonscription;"
    "Libellé de la circonscription;Code de la commune;Libellé de la commune;Code du b.vote;"
    "Inscrits;Abstentions;% Abs/Ins;Votants;% Vot/Ins;Blancs;% Blancs/Ins;% Blancs/Vot;Nuls;"
    "% Nuls/Ins;% Nuls/Vot;Exprimés;% Exp/Ins;% Exp/Vot;N°Panneau;Sexe;Nom;Prénom;Voix;"
    "% Voix/Ins;% Voix/Exp"
)
# The twelve candidates of 2022 and their national share of exprimés in the 1st round.
CANDIDATES = [
    ("F", "ARTHAUD", "Nathalie", 0.56),
    ("M", "ROUSSEL", "Fabien", 2.28),
    ("M", "MACRON", "Emmanuel", 27.85),
    ("M", "LASSALLE", "Jean", 3.13),
    ("F", "LE PEN", "Marine", 23.15),
    ("M", "ZEMMOUR", "Éric", 7.07),
    ("M", "MÉLENCHON", "Jean-Luc", 21.95),
    ("F", "HIDALGO", "Anne", 1.75),
    ("M", "JADOT", "Yannick", 4.63),
    ("F", "PÉCRESSE", "Valérie", 4.78),
    ("M", "POUTOU", "Philippe", 0.77),
    ("M", "DUPONT-AIGNAN", "Nicolas", 2.06),
]
# The Ministry's letter codes for overseas départements before 2024.
LETTERS = {"971": "ZA", "972": "ZB", "973": "ZC", "974": "ZD", "976": "ZM"}


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f}".replace(".", ",") if whole else "0,00"


def stations_per_commune(communes: list[tuple[str, int]], target: int) -> list[int]:
    """At least one station per commune, the rest by population (about 1 per 900)."""
    low, high = 1.0, 1e6
    for _ in range(60):
        size = (low + high) / 2
        total = sum(max(1, round(pop / size)) for _code, pop in communes)
        if total > target:
            low = size
        else:
            high = size
    counts = [max(1, round(pop / high)) for _code, pop in communes]
    # Land exactly on the target: add to or take from the most populous communes.
    order = sorted(range(len(communes)), key=lambda i: -communes[i][1])
    index = 0
    while sum(counts) != target:
        i = order[index % len(order)]
        if sum(counts) < target:
            counts[i] += 1
        elif counts[i] > 1:
            counts[i] -= 1
        index += 1
    return counts


def synthesise(path: Path, target: int, seed: int = 2022) -> int:
    from campagne.territory.models import Commune

    rng = random.Random(seed)
    communes = list(
        Commune.objects.filter(parent__isnull=True, population__gt=0)
        .order_by("code")
        .values_list("code", "name", "departement_id", "departement__name", "population")
    )
    if len(communes) > target:
        communes = rng.sample(communes, target)
        communes.sort()
    counts = stations_per_commune([(c[0], c[4]) for c in communes], target)
    # Circonscriptions: about one per 120,000 inhabitants, communes in code order.
    circo_of: dict[str, int] = {}
    running: dict[str, int] = {}
    for code, _name, dep, _dep_name, population in communes:
        running[dep] = running.get(dep, 0) + population
        circo_of[code] = 1 + running[dep] // 120_000
    lines = [HEADER]
    weights = [share for *_rest, share in CANDIDATES]
    for (code, name, dep, dep_name, population), count in zip(communes, counts, strict=True):
        registered = max(40, int(population * 0.72))
        dep_code = LETTERS.get(dep, dep)
        commune_number = code[-3:]
        circo = circo_of[code]
        circo_label = f"{circo}{'ère' if circo == 1 else 'ème'} circonscription"
        for number in range(1, count + 1):
            inscrits = max(30, int(registered / count * rng.uniform(0.85, 1.15)))
            votants = int(inscrits * rng.uniform(0.6, 0.85))
            abstentions = inscrits - votants
            blancs = int(votants * rng.uniform(0.005, 0.025))
            nuls = int(votants * rng.uniform(0.002, 0.01))
            exprimes = votants - blancs - nuls
            draws = [rng.gammavariate(share * 4 + 0.5, 1.0) for share in weights]
            scale = exprimes / sum(draws)
            voix = [int(d * scale) for d in draws]
            voix[rng.randrange(len(voix))] += exprimes - sum(voix)
            fields = [
                dep_code,
                dep_name,
                f"{circo:02d}",
                circo_label,
                commune_number,
                name,
                f"{number:04d}",
                str(inscrits),
                str(abstentions),
                pct(abstentions, inscrits),
                str(votants),
                pct(votants, inscrits),
                str(blancs),
                pct(blancs, inscrits),
                pct(blancs, votants),
                str(nuls),
                pct(nuls, inscrits),
                pct(nuls, votants),
                str(exprimes),
                pct(exprimes, inscrits),
                pct(exprimes, votants),
            ]
            for panneau, ((sex, last, first, _share), votes) in enumerate(
                zip(CANDIDATES, voix, strict=True), start=1
            ):
                fields += [
                    str(panneau),
                    sex,
                    last,
                    first,
                    str(votes),
                    pct(votes, inscrits),
                    pct(votes, exprimes),
                ]
            lines.append(";".join(fields))
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return len(lines) - 1


def baseline(path: Path) -> float:
    """Parse the file into typed columns with polars alone (no database)."""
    import polars as pl

    started = time.perf_counter()
    data = path.read_bytes().decode("cp1252").encode("utf-8")
    fixed = [
        ("dep", pl.String),
        ("dep_name", pl.String),
        ("circo", pl.String),
        ("circo_name", pl.String),
        ("commune", pl.String),
        ("commune_name", pl.String),
        ("bv", pl.String),
        ("inscrits", pl.Int64),
        ("abstentions", pl.Int64),
        ("p_abs", pl.Float64),
        ("votants", pl.Int64),
        ("p_vot", pl.Float64),
        ("blancs", pl.Int64),
        ("p_bl_ins", pl.Float64),
        ("p_bl_vot", pl.Float64),
        ("nuls", pl.Int64),
        ("p_nul_ins", pl.Float64),
        ("p_nul_vot", pl.Float64),
        ("exprimes", pl.Int64),
        ("p_exp_ins", pl.Float64),
        ("p_exp_vot", pl.Float64),
    ]
    block = [
        ("panneau", pl.Int64),
        ("sexe", pl.String),
        ("nom", pl.String),
        ("prenom", pl.String),
        ("voix", pl.Int64),
        ("p_voix_ins", pl.Float64),
        ("p_voix_exp", pl.Float64),
    ]
    schema = dict(fixed)
    for k in range(len(CANDIDATES)):
        schema.update({f"{name}_{k + 1}": dtype for name, dtype in block})
    frame = pl.read_csv(
        io.BytesIO(data),
        separator=";",
        has_header=False,
        skip_rows=1,
        schema=schema,
        decimal_comma=True,
    )
    elapsed = time.perf_counter() - started
    assert frame.height > 0
    return elapsed


def run_import(path: Path) -> tuple[float, dict]:
    from django.core.management import call_command

    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    call_command(
        "import",
        "results",
        str(path),
        "--kind",
        "presidentielle",
        "--year",
        "2022",
        "--round",
        "1",
        stdout=out,
        stderr=err,
    )
    elapsed = time.perf_counter() - started
    return elapsed, json.loads(out.getvalue().strip().splitlines()[-1])


def empty_tables() -> None:
    """Back to a database with no election data (not timed)."""
    from django.db import connection, transaction

    from campagne.elections.models import (
        Candidate,
        Circonscription,
        Election,
        ImportJob,
        PollingStation,
        StationResult,
    )

    with transaction.atomic(), connection.cursor() as cursor:
        for model in (
            StationResult,
            Candidate,
            Election,
            PollingStation,
            Circonscription,
            ImportJob,
        ):
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stations", type=int, default=69_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    workdir = setup_django("import-results")
    path = workdir / "PR22_BVot_T1_FE.txt"
    started = time.perf_counter()
    stations = synthesise(path, args.stations)
    log(
        f"synthesised {stations:,} stations, {path.stat().st_size / 1e6:.1f} MB "
        f"in {time.perf_counter() - started:.1f}s"
    )
    # Baseline and import alternate, so that both see the same load on a shared machine.
    baselines, timings = [], []
    for _ in range(args.repeats - 1):
        baselines.append(baseline(path))
        timings.append(run_import(path)[0])
        empty_tables()
        log(f"polars {baselines[-1]:.3f}s, import {timings[-1]:.3f}s")
    baselines.append(baseline(path))
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    last, summary = run_import(path)
    timings.append(last)
    seconds = statistics.median(timings)
    baseline_seconds = statistics.median(baselines)
    ratio = statistics.median(t / b for t, b in zip(timings, baselines, strict=True))
    if args.profile:
        profiler.stop()
        report = workdir / "import_results_profile.html"
        report.write_text(profiler.output_html())
        (workdir / "import_results_profile.txt").write_text(profiler.output_text(show_all=False))
        log(f"profile: {report} (and .txt)")
    log(f"import {last:.3f}s: {json.dumps(summary, ensure_ascii=False)[:300]}")

    from campagne.elections.models import Candidate, StationResult

    results = StationResult.objects.count()
    assert results == stations, (results, stations)
    assert Candidate.objects.count() == len(CANDIDATES)
    assert summary["candidates"] == stations * len(CANDIDATES), summary
    assert summary["anomalies"] == 0, summary
    emit(
        {
            "job": "import_results",
            "size": stations,
            "seconds": round(seconds, 3),
            "baseline_seconds": round(baseline_seconds, 3),
            "ratio": round(ratio, 2),
            "runs": [round(t, 3) for t in timings],
            "rows": summary["rows"],
            "candidates": summary["candidates"],
            "file_mb": round(path.stat().st_size / 1e6, 1),
        }
    )


if __name__ == "__main__":
    main()
