"""Import street addresses: BAN exports (``adresses-XX.csv[.gz]``) and Base Adresse Locale.

Columns are read by name (the BAN has reordered and added columns over the years; the
2019 exports say ``code_post``, today's ``code_postal``). Each row gets its
``match_key`` (see ``campagne.elections.addresses``). Re-importing a file updates its
addresses in place (keyed by source and identifier) and deletes, in the communes the
file covers, the addresses of the same source it no longer lists.

INSEE's ``table-adresses-reu.csv`` is accepted here too and handed to the REU importer.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from django.db import transaction
from django.utils.translation import gettext as _

from campagne.elections.addresses import match_key
from campagne.elections.communes import CommuneResolver
from campagne.elections.importers import bulk
from campagne.elections.importers.headers import index_columns, norm
from campagne.elections.importers.report import Progress, Report, no_progress
from campagne.elections.importers.source import Chunk, Table, column, open_table
from campagne.elections.models import Address, AddressSource
from campagne.lib.import_registry import ImportFileError

# Field → folded column names, in order of preference, per layout.
BAN_COLUMNS = {
    "source_id": ("id",),
    "number": ("numero",),
    "suffix": ("rep",),
    "street": ("nom voie",),
    "postal_code": ("code postal", "code post"),
    "insee": ("code insee",),
    "longitude": ("lon",),
    "latitude": ("lat",),
}
BAL_COLUMNS = {
    "source_id": ("cle interop", "uid adresse"),
    "number": ("numero",),
    "suffix": ("suffixe",),
    "street": ("voie nom",),
    "postal_code": ("code postal",),
    "insee": ("commune insee",),
    "longitude": ("long", "lon"),
    "latitude": ("lat",),
}
ADDRESS_COLUMNS = [
    "source",
    "source_id",
    "number",
    "suffix",
    "street",
    "postal_code",
    "commune_id",
    "longitude",
    "latitude",
    "station_id",
    "match_key",
]


def positions(header: list[str]) -> dict[str, int]:
    """Folded column name → position of its first occurrence (after an index column)."""
    found: dict[str, int] = {}
    for position in range(index_columns(header), len(header)):
        found.setdefault(norm(header[position]), position)
    return found


def pick(found: dict[str, int], names: tuple[str, ...]) -> int | None:
    return next((found[name] for name in names if name in found), None)


def detect_layout(table: Table) -> tuple[str, dict[str, int | None]] | None:
    found = positions(table.header)
    if {"cle interop", "commune insee", "voie nom", "numero"} <= found.keys():
        return AddressSource.BAL, {f: pick(found, names) for f, names in BAL_COLUMNS.items()}
    if {"id", "numero", "nom voie", "code insee"} <= found.keys():
        return AddressSource.BAN, {f: pick(found, names) for f, names in BAN_COLUMNS.items()}
    return None


def import_addresses(
    path: str | Path, *, filename: str | None = None, progress: Progress = no_progress
) -> Report:
    """Import a BAN or BAL file (or a REU addresses table); ImportFileError if unknown."""
    path = Path(path)
    table = open_table(path)
    from campagne.elections.importers import stations

    if stations.is_reu_addresses(table):
        return stations.import_stations(path, filename=filename, progress=progress, table=table)
    layout = detect_layout(table)
    if layout is None:
        raise ImportFileError(
            _(
                "Fichier d'adresses non reconnu : ni export de la BAN (id;…;numero;rep;nom_voie;"
                "…;code_insee), ni Base Adresse Locale (cle_interop;…;voie_nom;…) "
                "(première ligne : « %(line)s »)."
            )
            % {"line": ";".join(table.header[:6])[:120]}
        )
    source, columns = layout
    report = Report(kind="addresses", file=filename or path.name)
    report.details["layout"] = str(source)
    frames = []
    rows = 0
    for chunk in table.chunks():
        frames.append(_parse(chunk, columns))
        rows += chunk.frame.height
        progress(rows, chunk.fraction)
    report.counts["rows"] = rows
    addresses = pl.concat(frames) if frames else pl.DataFrame()
    if addresses.is_empty():
        raise ImportFileError(_("Aucune adresse dans ce fichier."))
    addresses = prepare(addresses, CommuneResolver.load(), report)
    with transaction.atomic():
        save_addresses(str(source), addresses, report)
    return report


def _parse(chunk: Chunk, columns: dict[str, int | None]) -> pl.DataFrame:
    width = chunk.width

    def at(name: str) -> pl.Expr:
        position = columns.get(name)
        if position is None or position >= width:
            return pl.lit(None, dtype=pl.String)
        return pl.col(column(position)).str.strip_chars()

    return chunk.frame.select(
        (pl.int_range(0, pl.len(), dtype=pl.Int64) + chunk.first_line).alias("line"),
        at("source_id").alias("source_id"),
        at("number").cast(pl.Int64, strict=False).alias("number"),
        at("suffix").fill_null("").alias("suffix"),
        at("street").fill_null("").alias("street"),
        at("postal_code").fill_null("").alias("postal_code"),
        at("insee").alias("insee"),
        at("longitude").str.replace(",", ".").cast(pl.Float64, strict=False).alias("longitude"),
        at("latitude").str.replace(",", ".").cast(pl.Float64, strict=False).alias("latitude"),
        pl.lit(None, dtype=pl.String).alias("station_id"),
    )


def prepare(addresses: pl.DataFrame, resolver: CommuneResolver, report: Report) -> pl.DataFrame:
    """Resolve communes, compute match keys, report unknown communes and duplicates."""
    from campagne.elections.communes import full_insee_code

    codes = addresses.select("insee").unique()
    insee = [full_insee_code(code) for code in codes.get_column("insee").to_list()]
    mapping = codes.with_columns(
        pl.Series("insee_full", insee, dtype=pl.String),
        pl.Series("commune_id", [resolver.resolve(code) for code in insee], dtype=pl.String),
    )
    addresses = addresses.join(mapping, on="insee", how="left", nulls_equal=True)
    for row in (
        addresses.filter(pl.col("commune_id").is_null())
        .unique("insee_full", maintain_order=True)
        .iter_rows(named=True)
    ):
        report.anomaly(
            "commune_inconnue",
            _("commune %(insee_full)s absente du Code officiel géographique : adresses gardées")
            % row,
            line=row["line"],
        )
    missing_id = addresses.filter(pl.col("source_id").fill_null("") == "")
    for row in missing_id.iter_rows(named=True):
        report.anomaly(
            "identifiant_absent", _("adresse sans identifiant : ignorée"), line=row["line"]
        )
    addresses = addresses.filter(pl.col("source_id").fill_null("") != "")
    duplicates = addresses.filter(~pl.col("source_id").is_first_distinct())
    for row in duplicates.iter_rows(named=True):
        report.anomaly(
            "adresse_en_double",
            _("identifiant %(source_id)s déjà lu plus haut : ligne ignorée") % row,
            line=row["line"],
        )
    addresses = addresses.unique("source_id", keep="first", maintain_order=True)
    keys = [
        match_key(number, suffix, street, code or "")
        for number, suffix, street, code in addresses.select(
            "number", "suffix", "street", "insee_full"
        ).iter_rows()
    ]
    return addresses.with_columns(
        pl.Series("match_key", keys, dtype=pl.String),
        pl.col("number").clip(lower_bound=0),
        pl.col("suffix").str.slice(0, 16),
        pl.col("street").str.slice(0, 200),
        pl.col("postal_code").str.slice(0, 5),
        pl.col("source_id").str.slice(0, 64),
    )


def save_addresses(source: str, addresses: pl.DataFrame, report: Report) -> None:
    """Upsert by (source, id); delete the source's addresses the file dropped in its communes.

    ``station_id`` is written when the file gives one (REU) and kept otherwise.
    """
    table = Address._meta.db_table
    communes = [c for c in addresses.get_column("commune_id").unique().to_list() if c]
    in_file = set(addresses.get_column("source_id").to_list())
    stale = []
    for offset in range(0, len(communes), 500):
        batch = communes[offset : offset + 500]
        placeholders = ", ".join(["%s"] * len(batch))
        for pk, source_id in bulk.fetch(
            f"SELECT id, source_id FROM {table} WHERE source = %s "  # noqa: S608
            f"AND commune_id IN ({placeholders})",
            [source, *batch],
        ):
            if source_id not in in_file:
                stale.append(pk)
    bulk.delete_ids(table, stale)
    rows = addresses.select(
        pl.lit(source).alias("source"),
        "source_id",
        "number",
        "suffix",
        "street",
        "postal_code",
        "commune_id",
        "longitude",
        "latitude",
        "station_id",
        "match_key",
    )
    update = {
        name: f"excluded.{name}"
        for name in ADDRESS_COLUMNS
        if name not in ("source", "source_id", "station_id")
    }
    update["station_id"] = bulk.keep_existing(table, "station_id")
    bulk.insert_rows(table, ADDRESS_COLUMNS, rows, conflict=["source", "source_id"], update=update)
    report.counts["addresses"] += rows.height
    report.counts["addresses_deleted"] += len(stale)
    report.counts["communes"] += len(communes)
