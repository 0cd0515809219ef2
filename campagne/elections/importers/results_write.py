"""Check and write one election's results, normalised by ``result_layouts``.

Everything row-wise happens in polars (station keys, identities, the per-station votes
object, Σ voix); the database sees a few bulk statements in one transaction:

- stations are created, or completed (commune, circonscription, contour) where empty;
- each station of the file gets its result upserted (totals and ``votes``), so that
  re-importing replaces and a partial file (one département) leaves the others alone;
- candidates are found by their identity or created; those no result mentions any more
  after a re-import are deleted.
"""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import polars as pl
from django.db import connection, transaction
from django.utils.translation import gettext as _

from campagne.elections.communes import CommuneResolver, departement_code, insee_code
from campagne.elections.geometry import shape
from campagne.elections.importers import bulk
from campagne.elections.importers.report import Report
from campagne.elections.importers.result_layouts import CANDIDATE_TEXT, COUNTS
from campagne.elections.importers.result_layouts import IDENTITY as LAYOUT_IDENTITY
from campagne.elections.models import (
    Candidate,
    Circonscription,
    Election,
    PollingStation,
    StationResult,
)
from campagne.territory.models import Departement

_TEXT_LIMITS = {
    "contest": 16,
    "nuance": 16,
    "last_name": 200,
    "first_name": 100,
    "list_short_label": 100,
    "list_label": 250,
}
IDENTITY = list(LAYOUT_IDENTITY)
_THREADS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-votes")
_IDENTITY_SCHEMA = {
    "contest": pl.String,
    "panneau": pl.Int64,
    **dict.fromkeys(CANDIDATE_TEXT, pl.String),
}


def write_election(
    election: Election,
    stations: pl.DataFrame | None,
    votes: pl.DataFrame | None,
    identities: pl.DataFrame | None,
    *,
    resolver: CommuneResolver,
    report: Report,
    wide_votes: pl.DataFrame | None = None,
) -> None:
    """Check and save one election's rows (stations, votes, or both; see ``Parsed``)."""
    keyed = with_keys(stations, resolver) if stations is not None else None
    if votes is not None:
        if keyed is not None:
            # Same file, same lines: a vote's station is its line's station.
            votes = votes.join(keyed.select("line", "station"), on="line", how="left")
        else:
            votes = with_keys(votes, resolver)
    checked = check_stations(keyed, election, report) if keyed is not None else None
    # Foreign keys hold by construction (communes read from the table, circonscriptions
    # and stations written first in this transaction): SQLite's per-row checks, a third
    # of the write time, are skipped (a no-op inside an outer transaction, e.g. tests).
    with connection.constraint_checks_disabled(), transaction.atomic():
        had_candidates = Candidate.objects.filter(election=election).exists()
        pending: Future[pl.DataFrame] | None = None
        if votes is not None and identities is not None:
            votes = _votes(election, votes, identities, checked, report)
        elif wide_votes is not None and identities is not None and keyed is not None:
            ids = _candidate_ids(election, identities.unique("identity", maintain_order=True))
            # Pure polars: built in a thread while this one writes the stations.
            pending = _THREADS.submit(
                _wide_votes, election, wide_votes, ids, keyed, checked, report
            )
        if checked is not None:
            _save_stations(checked)
            if pending is not None:
                votes = pending.result()
            _save_results(election, checked, votes)
            report.counts["stations"] += checked.height
        elif votes is not None:
            _update_votes(election, votes, report)
        if had_candidates and votes is not None:
            delete_unused_candidates(election)
    if votes is not None:
        report.counts["candidates"] += int(votes.get_column("count").sum() or 0)


# --- codes ------------------------------------------------------------------------------


def with_keys(frame: pl.DataFrame, resolver: CommuneResolver) -> pl.DataFrame:
    """Add ``insee`` (as published), ``station`` (the key), ``current`` (today's commune)
    and ``current_dep``; normalise ``number``."""
    pairs = frame.select("dep", "commune").unique()
    # The common case in polars (metropolitan "04" + "70" → "04070"), the rest in Python.
    dep = pl.col("dep").str.strip_chars().str.to_uppercase()
    commune = pl.col("commune").str.strip_chars()
    simple = dep.str.contains(r"^(\d{1,2}|2[AB])$") & commune.str.contains(r"^\d{1,3}$")
    pairs = pairs.with_columns(
        pl.when(simple)
        .then(pl.concat_str([dep.str.zfill(2), commune.str.zfill(3)]))
        .otherwise(None)
        .alias("insee")
    )
    # Only the other pairs are iterated in Python (a national file has 35,000 pairs).
    odd = pairs.filter(pl.col("insee").is_null())
    if not odd.is_empty():
        codes = [insee_code(dep, commune) for dep, commune, _ in odd.iter_rows()]
        pairs = pl.concat(
            [
                pairs.filter(pl.col("insee").is_not_null()),
                odd.with_columns(pl.Series("insee", codes, dtype=pl.String)),
            ]
        )
    # Current communes by a join; only codes the COG no longer has go through Python.
    mapping = pairs.join(
        resolver.frame()
        .rename({"code": "insee", "departement": "current_dep"})
        .with_columns(pl.col("insee").alias("current")),
        on="insee",
        how="left",
    )
    unknown = mapping.filter(pl.col("current").is_null())
    if not unknown.is_empty():
        found = [resolver.resolve(code) for code in unknown.get_column("insee").to_list()]
        remapped = unknown.with_columns(
            pl.Series("current", found, dtype=pl.String),
            pl.Series("current_dep", [resolver.departement(c) for c in found], dtype=pl.String),
        )
        mapping = pl.concat([mapping.filter(pl.col("current").is_not_null()), remapped])
    number = pl.col("number").str.strip_chars().str.to_uppercase().fill_null("")
    normalized = (
        pl.when(number.str.contains(r"^\d{1,4}$")).then(number.str.zfill(4)).otherwise(number)
    )
    return frame.join(mapping, on=["dep", "commune"], how="left", nulls_equal=True).with_columns(
        pl.concat_str([pl.col("insee"), pl.lit("_"), normalized]).alias("station"),
        normalized.alias("number"),
    )


# --- checks -----------------------------------------------------------------------------


def _flag(report: Report, election: Election, rows: pl.DataFrame, kind: str, message: str) -> None:
    label = str(election)
    for row in rows.iter_rows(named=True):
        report.anomaly(
            kind, message % row, line=row.get("line"), station=row.get("station"), election=label
        )


def check_stations(stations: pl.DataFrame, election: Election, report: Report) -> pl.DataFrame:
    """Report what breaks a check; return the rows to save (one per station)."""
    required = ("inscrits", "votants", "exprimes")
    _flag(
        report,
        election,
        stations.filter(pl.any_horizontal(pl.col(name).is_null() for name in required)),
        "totaux_illisibles",
        _("inscrits, votants ou exprimés illisibles : ligne non importée"),
    )
    stations = stations.filter(pl.all_horizontal(pl.col(name).is_not_null() for name in required))
    # Most files name each station once: one count spares the two order-keeping passes.
    if stations.get_column("station").n_unique() < stations.height:
        # The 2012/2014 layout repeats a station's totals on each of its candidates' lines.
        stations = stations.unique(subset=["station", *COUNTS], keep="first", maintain_order=True)
        _flag(
            report,
            election,
            stations.filter(~pl.col("station").is_first_distinct()),
            "bureau_en_double",
            _(
                "bureau présent deux fois avec des totaux différents : "
                "seule la première ligne est importée"
            ),
        )
        stations = stations.unique(subset=["station"], keep="first", maintain_order=True)
    _flag(
        report,
        election,
        stations.filter(pl.col("current").is_null()),
        "commune_inconnue",
        _("commune %(insee)s absente du Code officiel géographique : bureau gardé sans commune"),
    )
    _flag(
        report,
        election,
        stations.filter(pl.any_horizontal(pl.col(name) < 0 for name in COUNTS)),
        "valeur_negative",
        _("un total est négatif : ramené à 0"),
    )
    _flag(
        report,
        election,
        stations.filter(pl.col("inscrits") != pl.col("votants") + pl.col("abstentions")),
        "inscrits",
        _("inscrits %(inscrits)s ≠ votants %(votants)s + abstentions %(abstentions)s"),
    )
    _flag(
        report,
        election,
        stations.filter(
            pl.col("blancs").is_not_null()
            & pl.col("nuls").is_not_null()
            & (pl.col("votants") != pl.col("exprimes") + pl.col("blancs") + pl.col("nuls"))
        ),
        "votants",
        _("votants %(votants)s ≠ exprimés %(exprimes)s + blancs %(blancs)s + nuls %(nuls)s"),
    )
    return stations.with_columns(
        pl.col("abstentions").fill_null(pl.col("inscrits") - pl.col("votants"))
    ).with_columns(pl.col(name).clip(lower_bound=0) for name in COUNTS)


# --- candidates and votes ---------------------------------------------------------------


def _votes(
    election: Election,
    votes: pl.DataFrame,
    identities: pl.DataFrame,
    stations: pl.DataFrame | None,
    report: Report,
) -> pl.DataFrame:
    """One row per station: ``votes`` (the JSON object), ``voix_total``, ``count``."""
    _flag(
        report,
        election,
        votes.filter(pl.col("voix").is_null() | (pl.col("voix") < 0)),
        "voix_illisibles",
        _("voix illisibles pour le panneau %(panneau)s : non importées"),
    )
    votes = votes.filter(
        pl.col("voix").is_not_null() & (pl.col("voix") >= 0) & pl.col("station").is_not_null()
    )
    ids = _candidate_ids(election, identities.unique("identity", maintain_order=True))
    votes = votes.join(ids, on="identity", how="left").select(
        "station", "line", "panneau", "candidate_id", "voix"
    )
    repeated = votes.filter(pl.struct("station", "candidate_id").is_duplicated())
    _flag(
        report,
        election,
        repeated.unique(["station", "candidate_id"], maintain_order=True),
        "candidat_en_double",
        _("le même candidat (panneau %(panneau)s) figure deux fois : voix additionnées"),
    )
    per_station = votes.group_by("station", maintain_order=True).agg(
        pl.col("line").first(),
        pl.format('"{}":{}', pl.col("candidate_id"), pl.col("voix")).str.join(",").alias("pairs"),
        pl.col("voix").sum().alias("voix_total"),
        pl.len().alias("count"),
    )
    if not repeated.is_empty():
        summed = votes.group_by(["station", "candidate_id"], maintain_order=True).agg(
            pl.col("voix").sum(), pl.col("line").first()
        )
        per_station = summed.group_by("station", maintain_order=True).agg(
            pl.col("line").first(),
            pl.format('"{}":{}', pl.col("candidate_id"), pl.col("voix"))
            .str.join(",")
            .alias("pairs"),
            pl.col("voix").sum().alias("voix_total"),
            pl.len().alias("count"),
        )
    per_station = per_station.with_columns(
        pl.concat_str([pl.lit("{"), pl.col("pairs"), pl.lit("}")]).alias("votes")
    ).drop("pairs")
    totals = stations if stations is not None else _stored_totals(election)
    broken = per_station.join(
        totals.select("station", pl.col("exprimes")), on="station", how="inner"
    ).filter(pl.col("voix_total") != pl.col("exprimes"))
    _flag(
        report,
        election,
        broken.sort("line", nulls_last=True),
        "voix",
        _("somme des voix %(voix_total)s ≠ exprimés %(exprimes)s"),
    )
    return per_station


def _wide_votes(
    election: Election,
    wide: pl.DataFrame,
    ids: pl.DataFrame,
    keyed: pl.DataFrame,
    stations: pl.DataFrame | None,
    report: Report,
) -> pl.DataFrame:
    """The per-station votes of a wide layout, built across each line's blocks.

    No database access: it runs in a thread (see ``write_election``).
    """
    blocks = sorted(int(name[1:]) for name in wide.columns if name.startswith("i"))
    candidate = {
        k: pl.col(f"i{k}").replace_strict(
            ids.get_column("identity"),
            ids.get_column("candidate_id"),
            default=None,
            return_dtype=pl.Int64,
        )
        for k in blocks
    }
    unreadable = wide.filter(
        pl.any_horizontal(pl.col(f"i{k}").is_not_null() & pl.col(f"v{k}").is_null() for k in blocks)
    ).join(keyed.select("line", "station"), on="line", how="left")
    for row in unreadable.select("line", "station").iter_rows(named=True):
        report.anomaly(
            "voix_illisibles",
            _("voix illisibles pour un candidat : non importées"),
            line=row["line"],
            station=row["station"],
            election=str(election),
        )
    counted = {
        k: pl.col(f"i{k}").is_not_null() & pl.col(f"v{k}").is_not_null() & (pl.col(f"v{k}") >= 0)
        for k in blocks
    }
    per_line = wide.select(
        "line",
        pl.concat_str(
            [
                pl.when(counted[k]).then(pl.format('"{}":{}', candidate[k], pl.col(f"v{k}")))
                for k in blocks
            ],
            separator=",",
            ignore_nulls=True,
        ).alias("pairs"),
        pl.sum_horizontal(pl.when(counted[k]).then(pl.col(f"v{k}")) for k in blocks).alias(
            "voix_total"
        ),
        pl.sum_horizontal(counted[k].cast(pl.Int64) for k in blocks).alias("count"),
    )
    # The checked stations only: a line dropped as a duplicate brings no votes.
    saved = stations if stations is not None else keyed
    per_station = (
        per_line.join(saved.select("line", "station"), on="line", how="inner")
        .filter(pl.col("station").is_not_null())
        .unique("station", keep="first", maintain_order=True)
        .select(
            "station",
            "line",
            pl.concat_str([pl.lit("{"), pl.col("pairs").fill_null(""), pl.lit("}")]).alias("votes"),
            "voix_total",
            "count",
        )
    )
    if stations is not None:
        _flag(
            report,
            election,
            per_station.join(stations.select("station", "exprimes"), on="station").filter(
                (pl.col("count") > 0) & (pl.col("voix_total") != pl.col("exprimes"))
            ),
            "voix",
            _("somme des voix %(voix_total)s ≠ exprimés %(exprimes)s"),
        )
    return per_station


def _normalised(identities: pl.DataFrame) -> pl.DataFrame:
    sex = pl.col("sex").fill_null("").str.strip_chars().str.to_uppercase().str.slice(0, 1)
    return identities.with_columns(
        pl.when(sex == "H").then(pl.lit("M")).otherwise(sex).alias("sex"),
        *[
            pl.col(name).fill_null("").str.strip_chars().str.slice(0, limit)
            for name, limit in _TEXT_LIMITS.items()
        ],
    )


def _candidate_ids(election: Election, distinct: pl.DataFrame) -> pl.DataFrame:
    """``identity`` hash → ``candidate_id``, creating the candidates not yet known."""
    wanted = _normalised(distinct.select("identity", *IDENTITY))
    existing = pl.DataFrame(
        list(Candidate.objects.filter(election=election).values_list(*IDENTITY, "pk")),
        schema={**_IDENTITY_SCHEMA, "candidate_id": pl.Int64},
        orient="row",
    )
    new = (
        wanted.select(IDENTITY)
        .unique(maintain_order=True)
        .join(existing, on=IDENTITY, how="anti", nulls_equal=True)
    )
    created = Candidate.objects.bulk_create(
        [
            Candidate(election=election, **dict(zip(IDENTITY, row, strict=True)))
            for row in new.iter_rows()
        ],
        batch_size=2000,
    )
    known = pl.concat(
        [
            existing,
            new.with_columns(pl.Series("candidate_id", [c.pk for c in created], dtype=pl.Int64)),
        ],
        how="vertical_relaxed",
    )
    return wanted.join(known, on=IDENTITY, how="left", nulls_equal=True).select(
        "identity", "candidate_id"
    )


def _stored_totals(election: Election) -> pl.DataFrame:
    return pl.DataFrame(
        list(StationResult.objects.filter(election=election).values_list("station_id", "exprimes")),
        schema={"station": pl.String, "exprimes": pl.Int64},
        orient="row",
    )


def delete_unused_candidates(election: Election) -> None:
    used: set[int] = set()
    for votes in StationResult.objects.filter(election=election).values_list("votes", flat=True):
        used.update(int(key) for key in votes or {})
    Candidate.objects.filter(election=election).exclude(pk__in=used).delete()


# --- writing ----------------------------------------------------------------------------


def _json_placeholder() -> str:
    return "%s::jsonb" if connection.vendor == "postgresql" else "%s"


def _save_results(election: Election, stations: pl.DataFrame, votes: pl.DataFrame | None) -> None:
    """Upsert the totals (and votes, when the file has them) of the file's stations."""
    table = StationResult._meta.db_table
    columns = ["election_id", "station_id", *COUNTS, "votes"]
    update = {name: f"excluded.{name}" for name in COUNTS}
    if votes is None:
        rows = stations.select(
            pl.lit(election.pk).alias("election_id"), "station", *COUNTS, pl.lit("{}")
        )
    else:
        update["votes"] = "excluded.votes"
        rows = stations.join(votes.select("station", "votes"), on="station", how="left").select(
            pl.lit(election.pk).alias("election_id"),
            "station",
            *COUNTS,
            pl.col("votes").fill_null("{}"),
        )
    bulk.insert_rows(
        table,
        columns,
        rows,
        conflict=["election_id", "station_id"],
        update=update,
        placeholders={"votes": _json_placeholder()},
    )


def _update_votes(election: Election, votes: pl.DataFrame, report: Report) -> None:
    """Votes from a file without totals (data.gouv's candidats_results)."""
    known = set(
        StationResult.objects.filter(election=election).values_list("station_id", flat=True)
    )
    missing = votes.filter(~pl.col("station").is_in(list(known)))
    _flag(
        report,
        election,
        missing,
        "resultat_absent",
        _("voix d'un bureau sans totaux (importez d'abord le fichier des totaux) : ignorées"),
    )
    rows = votes.filter(pl.col("station").is_in(list(known)))
    table = connection.ops.quote_name(StationResult._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET votes = {_json_placeholder()} "  # noqa: S608
            "WHERE election_id = %s AND station_id = %s",
            [
                (text, election.pk, station)
                for station, text in rows.select("station", "votes").rows()
            ],
        )


_STATION_COLUMNS = [
    "id",
    "commune_id",
    "departement_id",
    "number",
    "circonscription_id",
    "polygon",
    "latitude",
    "longitude",
    "min_latitude",
    "min_longitude",
    "max_latitude",
    "max_longitude",
]
# On a station already known, a results file fills these only where they are empty.
_STATION_KEPT = [
    "commune_id",
    "departement_id",
    "circonscription_id",
    "polygon",
    "latitude",
    "longitude",
    "min_latitude",
    "min_longitude",
    "max_latitude",
    "max_longitude",
]


def _save_stations(stations: pl.DataFrame) -> None:
    """Create the stations the file names; fill what they lack, never erase what they have."""
    circos = _save_circonscriptions(stations)
    codes = pl.DataFrame(
        [(dep, circo, code) for (dep, circo), code in circos.items()],
        schema={"dep": pl.String, "circo": pl.String, "circo_code": pl.String},
        orient="row",
    )
    # Only the written columns go through the join: it copies every column it is given.
    frame = stations.select(
        "station",
        "current",
        "current_dep",
        "number",
        "dep",
        "circo",
        "polygon",
        "latitude",
        "longitude",
    )
    frame = frame.join(codes, on=["dep", "circo"], how="left", nulls_equal=True).select(
        "station",
        "current",
        "current_dep",
        "number",
        "circo_code",
        "polygon",
        "latitude",
        "longitude",
        *[pl.lit(None, dtype=pl.Float64).alias(f"box{i}") for i in range(4)],
    )
    table = PollingStation._meta.db_table
    located = stations.get_column("polygon").null_count() < stations.height or (
        stations.get_column("latitude").null_count() < stations.height
    )
    # Most files place no station: fewer columns to bind.
    columns = _STATION_COLUMNS if located else _STATION_COLUMNS[:5]
    rows: pl.DataFrame | list[tuple[Any, ...]] = frame.select(frame.columns[: len(columns)])
    if stations.get_column("polygon").null_count() < stations.height:
        rows = [_with_outline(row) for row in frame.rows()]
    bulk.insert_rows(
        table,
        columns,
        rows,
        conflict=["id"],
        update={name: bulk.keep_existing(table, name) for name in _STATION_KEPT if name in columns},
    )


def _with_outline(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A station row whose polygon is GeoJSON text: adapt it, add centroid and box."""
    geometry = _geometry(row[5])
    outline = shape(geometry)
    if outline is None:
        return (*row[:5], None, *row[6:])
    polygon = PollingStation._meta.get_field("polygon").get_db_prep_save(geometry, connection)
    return (
        *row[:5],
        polygon,
        outline.latitude,
        outline.longitude,
        outline.min_latitude,
        outline.min_longitude,
        outline.max_latitude,
        outline.max_longitude,
    )


def _geometry(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    return value if isinstance(value, dict) else None


def _save_circonscriptions(stations: pl.DataFrame) -> dict[tuple[str | None, str | None], str]:
    """Upsert the circonscriptions the stations name; (dep, circo) as written → code."""
    named = stations.filter(pl.col("circo").fill_null("").str.strip_chars() != "")
    if named.is_empty():
        return {}
    known = set(Departement.objects.values_list("code", flat=True))
    rows: dict[str, tuple[str, str | None, int, str]] = {}
    codes: dict[tuple[str | None, str | None], str] = {}
    for dep, current_dep, number, name in (
        named.select("dep", "current_dep", "circo", "circo_name").unique().iter_rows()
    ):
        if not str(number).strip().isdigit():
            continue
        raw = (dep or "").strip().upper()
        # Abroad (ZZ) and Saint-Martin/Saint-Barthélemy (ZX) keep the Ministry's code.
        dep_code = current_dep or (raw if raw in ("ZZ", "ZX") else departement_code(raw))
        code = Circonscription.make_code(dep_code, number)
        codes[(dep, number)] = code
        if code not in rows or name:
            rows[code] = (code, dep_code if dep_code in known else None, int(number), name or "")
    table = Circonscription._meta.db_table
    quoted = connection.ops.quote_name(table)
    bulk.insert_rows(
        table,
        ["code", "departement_id", "number", "name"],
        list(rows.values()),
        conflict=["code"],
        update={
            "departement_id": "excluded.departement_id",
            "number": "excluded.number",
            "name": f"COALESCE(NULLIF(excluded.name, ''), {quoted}.name)",
        },
    )
    return codes
