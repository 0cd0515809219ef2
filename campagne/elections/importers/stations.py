"""Import INSEE's REU tables: the polling stations, and the addresses assigned to them.

- ``table-bv-reu.csv`` (``id_brut_reu,id_brut_insee,id_brut_miom,code_commune,code,
  libelle_reu,num_voie_reu,voie_reu,cp_reu,commune_reu,…``): one row per station; creates
  or updates ``PollingStation`` (key ``id_brut_miom``) with its name, the polling place's
  address and the REU id.
- ``table-adresses-reu.csv`` (``code_commune_ref,reconstitution_code_commune,
  id_brut_bv_reu,id,geo_adresse,geo_type,geo_score,longitude,latitude,…``): every elector
  address geocoded, with its REU station, joined through ``reu_id`` to the station; import
  the stations table first. Saved as ``Address`` rows (source "reu").
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
from django.db import transaction
from django.utils.translation import gettext as _

from campagne.elections.addresses import parse_address_line
from campagne.elections.communes import CommuneResolver, full_insee_code, split_station_key
from campagne.elections.importers import bulk
from campagne.elections.importers.addresses import positions, prepare, save_addresses
from campagne.elections.importers.report import Progress, Report, no_progress
from campagne.elections.importers.source import Chunk, Table, column, open_table
from campagne.elections.models import AddressSource, PollingStation
from campagne.lib.import_registry import ImportFileError

_STATIONS_NEEDED = {"id brut reu", "id brut miom", "code commune"}
_ADDRESSES_NEEDED = {"id brut bv reu", "id", "geo adresse"}
_POSTCODE = re.compile(r"^(?P<street>.*?)\s+(?P<postcode>\d{5})\s+(?P<town>.+)$")


def is_reu_addresses(table: Table) -> bool:
    return _ADDRESSES_NEEDED <= positions(table.header).keys()


def import_stations(
    path: str | Path,
    *,
    filename: str | None = None,
    progress: Progress = no_progress,
    table: Table | None = None,
) -> Report:
    """Import ``table-bv-reu.csv`` or ``table-adresses-reu.csv``; ImportFileError otherwise."""
    path = Path(path)
    table = table or open_table(path)
    found = positions(table.header)
    if _STATIONS_NEEDED <= found.keys():
        return _import_station_table(table, found, filename or path.name, progress)
    if _ADDRESSES_NEEDED <= found.keys():
        return _import_address_table(table, found, filename or path.name, progress)
    raise ImportFileError(
        _(
            "Fichier de bureaux de vote non reconnu : ni table-bv-reu.csv (id_brut_reu,…,"
            "id_brut_miom,…) ni table-adresses-reu.csv (…,id_brut_bv_reu,id,geo_adresse,…) "
            "de l'INSEE (première ligne : « %(line)s »)."
        )
        % {"line": ",".join(table.header[:6])[:120]}
    )


def _reader(chunk: Chunk, found: dict[str, int]):  # type: ignore[no-untyped-def]
    width = chunk.width

    def at(name: str) -> pl.Expr:
        position = found.get(name)
        if position is None or position >= width:
            return pl.lit(None, dtype=pl.String)
        return pl.col(column(position)).str.strip_chars()

    return at


def _read(
    table: Table, found: dict[str, int], progress: Progress, report: Report, select
) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    frames = []
    rows = 0
    for chunk in table.chunks():
        at = _reader(chunk, found)
        line = (pl.int_range(0, pl.len(), dtype=pl.Int64) + chunk.first_line).alias("line")
        frames.append(chunk.frame.select(line, *select(at)))
        rows += chunk.frame.height
        progress(rows, chunk.fraction)
    report.counts["rows"] = rows
    if not frames or not rows:
        raise ImportFileError(_("Aucune ligne dans ce fichier."))
    return pl.concat(frames)


def _import_station_table(
    table: Table, found: dict[str, int], name: str, progress: Progress
) -> Report:
    report = Report(kind="stations", file=name)
    report.details["layout"] = "table-bv-reu"
    frame = _read(
        table,
        found,
        progress,
        report,
        lambda at: [
            at("id brut reu").alias("reu_id"),
            at("id brut miom").alias("key"),
            at("code commune").alias("commune"),
            at("code").alias("number"),
            at("libelle reu").fill_null("").alias("name"),
            at("num voie reu").fill_null("").alias("street_number"),
            at("voie reu").fill_null("").alias("street"),
            at("cp reu").fill_null("").alias("postal_code"),
        ],
    )
    resolver = CommuneResolver.load()
    rows = []
    seen: set[str] = set()
    for (
        line,
        reu_id,
        key,
        commune,
        number,
        label,
        street_number,
        street,
        postcode,
    ) in frame.iter_rows():
        parsed = split_station_key(key) or (
            (full_insee_code(commune), number) if commune and number else None
        )
        if parsed is None:
            report.anomaly("code_illisible", _("ni id_brut_miom ni code : ignorée"), line=line)
            continue
        insee, station_number = parsed
        station = f"{insee}_{station_number}"
        if station in seen:
            report.anomaly(
                "bureau_en_double",
                _("bureau déjà lu plus haut : ignoré"),
                line=line,
                station=station,
            )
            continue
        seen.add(station)
        current = resolver.resolve(insee)
        if current is None:
            report.anomaly(
                "commune_inconnue",
                _("commune %(code)s absente du Code officiel géographique : bureau gardé")
                % {"code": insee},
                line=line,
                station=station,
            )
        address = " ".join(part for part in (street_number, street) if part)
        rows.append(
            (
                station,
                current,
                resolver.departement(current),
                station_number,
                label[:200],
                address[:200],
                postcode[:5],
                (reu_id or "")[:40],
            )
        )
    db_table = PollingStation._meta.db_table
    with transaction.atomic():
        bulk.insert_rows(
            db_table,
            [
                "id",
                "commune_id",
                "departement_id",
                "number",
                "name",
                "address_line",
                "postal_code",
                "reu_id",
            ],
            rows,
            conflict=["id"],
            update={
                "commune_id": bulk.keep_existing(db_table, "commune_id"),
                "departement_id": bulk.keep_existing(db_table, "departement_id"),
                "name": "excluded.name",
                "address_line": "excluded.address_line",
                "postal_code": "excluded.postal_code",
                "reu_id": "excluded.reu_id",
            },
        )
    report.counts["stations"] = len(rows)
    report.counts["communes_remapped"] = len(resolver.remapped)
    return report


def _import_address_table(
    table: Table, found: dict[str, int], name: str, progress: Progress
) -> Report:
    report = Report(kind="stations", file=name)
    report.details["layout"] = "table-adresses-reu"
    frame = _read(
        table,
        found,
        progress,
        report,
        lambda at: [
            at("id").alias("source_id"),
            at("id brut bv reu").alias("reu_id"),
            pl.coalesce(at("code commune ref"), at("reconstitution code commune")).alias("insee"),
            at("geo adresse").fill_null("").alias("label"),
            at("longitude").str.replace(",", ".").cast(pl.Float64, strict=False).alias("longitude"),
            at("latitude").str.replace(",", ".").cast(pl.Float64, strict=False).alias("latitude"),
        ],
    )
    parts = [_split_label(label) for label in frame.get_column("label").to_list()]
    frame = frame.with_columns(
        pl.Series("number", [p[0] for p in parts], dtype=pl.Int64),
        pl.Series("suffix", [p[1] for p in parts], dtype=pl.String),
        pl.Series("street", [p[2] for p in parts], dtype=pl.String),
        pl.Series("postal_code", [p[3] for p in parts], dtype=pl.String),
    )
    stations = pl.DataFrame(
        list(PollingStation.objects.exclude(reu_id="").values_list("reu_id", "id")),
        schema={"reu_id": pl.String, "station_id": pl.String},
        orient="row",
    )
    frame = frame.join(stations, on="reu_id", how="left")
    unknown = frame.filter(pl.col("station_id").is_null() & pl.col("reu_id").is_not_null())
    for row in unknown.unique("reu_id", maintain_order=True).iter_rows(named=True):
        report.anomaly(
            "bureau_reu_inconnu",
            _(
                "bureau REU %(reu_id)s inconnu (importez d'abord table-bv-reu.csv) : "
                "adresses gardées sans bureau"
            )
            % row,
            line=row["line"],
        )
    addresses = prepare(
        frame.select(
            "line",
            "source_id",
            "number",
            "suffix",
            "street",
            "postal_code",
            "insee",
            "longitude",
            "latitude",
            "station_id",
        ),
        CommuneResolver.load(),
        report,
    )
    with transaction.atomic():
        save_addresses(str(AddressSource.REU), addresses, report)
    report.counts["addresses_with_station"] = addresses.filter(
        pl.col("station_id").is_not_null()
    ).height
    return report


def _split_label(label: str) -> tuple[int | None, str, str, str]:
    """``"12 bis Rue de la Paix 04000 Digne"`` → (12, "bis", "Rue de la Paix", "04000")."""
    found = _POSTCODE.match(label.strip())
    street_part, postcode = (
        (found.group("street"), found.group("postcode")) if found else (label, "")
    )
    number, suffix, street = parse_address_line(street_part)
    return number, suffix, street, postcode
