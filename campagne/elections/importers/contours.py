"""Import polling-station contours from GeoJSON: polygon, centroid point, bounding box.

Features name their station with the official contours' properties (``codeBureauVote``
"92002_0001", or ``id_bv`` "92002_1", or ``codeCommune`` + ``numeroBureauVote``), or
with properties given on the command line: ``--code-commune INSEE_COM --code-bv
CODE_BV`` (a ``CODE_BV`` like "04036_2" carries the commune; a bare number takes it from
``--code-commune``). Stations not yet known are created. Re-importing replaces the
geometry of the stations in the file; a station present twice gets both polygons.

Features are read one at a time (``iter_features``), so a national file is never held
whole in memory.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from campagne.elections.communes import (
    CommuneResolver,
    full_insee_code,
    split_station_key,
    station_number,
)
from campagne.elections.geometry import polygons, shape
from campagne.elections.importers import bulk
from campagne.elections.importers.report import Progress, Report, no_progress
from campagne.elections.models import PollingStation
from campagne.lib.import_registry import ImportFileError

_READ_SIZE = 1 << 20
_PROGRESS_EVERY = 2000


def iter_features(file: IO[str]) -> Iterator[dict[str, Any]]:
    """The features of a GeoJSON FeatureCollection (or GeoJSON Sequence), one by one."""
    decoder = json.JSONDecoder()
    buffer = ""
    position = 0
    in_array = False
    eof = False

    def refill() -> bool:
        nonlocal buffer, position
        chunk = file.read(_READ_SIZE)
        buffer = buffer[position:] + chunk
        position = 0
        return bool(chunk)

    while True:
        if not in_array:
            start = buffer.find('"features"', position)
            if start < 0:
                if eof or not refill():
                    stripped = buffer[position:].strip()
                    if stripped.startswith("{") and '"Feature"' in stripped:
                        # A GeoJSON Sequence: one feature per line.
                        for line in stripped.splitlines():
                            if line.strip():
                                yield json.loads(line.strip().lstrip("\x1e"))
                    return
                continue
            bracket = buffer.find("[", start)
            if bracket < 0:
                eof = not refill()
                continue
            position = bracket + 1
            in_array = True
        # Skip separators up to the next feature or the end of the array.
        while True:
            while position < len(buffer) and buffer[position] in " \t\r\n,":
                position += 1
            if position < len(buffer) or eof:
                break
            eof = not refill()
        if position >= len(buffer) or buffer[position] == "]":
            return
        try:
            feature, end = decoder.raw_decode(buffer, position)
        except json.JSONDecodeError:
            if eof:
                raise ImportFileError(_("GeoJSON tronqué ou invalide.")) from None
            eof = not refill()
            continue
        position = end
        yield feature


def _key_reader(
    properties: dict[str, Any], code_commune: str | None, code_bv: str | None
) -> tuple[str, str] | None:
    """(INSEE code, number) of a feature, or None when its properties do not say."""

    def prop(name: str) -> str:
        value = properties.get(name)
        return "" if value is None else str(value).strip()

    if code_bv:
        raw = prop(code_bv)
        if "_" in raw:
            return split_station_key(raw)
        commune = prop(code_commune) if code_commune else ""
        return (full_insee_code(commune), station_number(raw)) if commune and raw else None
    for name in ("codeBureauVote", "id_bv", "id_brut_miom"):
        if prop(name):
            return split_station_key(prop(name))
    if prop("codeCommune") and prop("numeroBureauVote"):
        return full_insee_code(prop("codeCommune")), station_number(prop("numeroBureauVote"))
    return None


def import_contours(
    path: str | Path,
    *,
    code_commune: str | None = None,
    code_bv: str | None = None,
    filename: str | None = None,
    progress: Progress = no_progress,
) -> Report:
    path = Path(path)
    report = Report(kind="contours", file=filename or path.name)
    size = max(path.stat().st_size, 1) if path.is_file() else 1
    if not path.is_file():
        raise ImportFileError(_("Fichier introuvable : %(path)s") % {"path": path})
    geometries: dict[str, list[Any]] = {}
    keys: dict[str, tuple[str, str]] = {}
    rows = 0
    with path.open("rb") as raw:
        magic = raw.read(2)
        raw.seek(0)
        binary: IO[bytes] = gzip.GzipFile(fileobj=raw) if magic == b"\x1f\x8b" else raw
        file = io.TextIOWrapper(binary, encoding="utf-8-sig")  # type: ignore[arg-type]
        try:
            for feature in iter_features(file):
                rows += 1
                _collect(feature, rows, code_commune, code_bv, keys, geometries, report)
                if rows % _PROGRESS_EVERY == 0:
                    progress(rows, min(raw.tell() / size, 0.99))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ImportFileError(
                _("Ce n'est pas un fichier GeoJSON : %(error)s") % {"error": exc}
            ) from exc
    progress(rows, 1.0)
    report.counts["rows"] = rows
    if not keys:
        raise ImportFileError(_("Aucun contour de bureau de vote dans ce fichier."))
    _save(keys, geometries, report)
    return report


def _collect(
    feature: dict[str, Any],
    row: int,
    code_commune: str | None,
    code_bv: str | None,
    keys: dict[str, tuple[str, str]],
    geometries: dict[str, list[Any]],
    report: Report,
) -> None:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ImportFileError(_("Ce n'est pas une collection de contours GeoJSON."))
    properties = feature.get("properties") or {}
    key = _key_reader(properties, code_commune, code_bv)
    if key is None:
        if not keys and row == 1:
            raise ImportFileError(
                _(
                    "Contours non reconnus : propriétés %(names)s. Précisez lesquelles donnent "
                    "le bureau avec --code-commune et --code-bv."
                )
                % {"names": ", ".join(sorted(properties))[:200]}
            )
        report.anomaly("code_illisible", _("contour sans code de bureau : ignoré"), line=row)
        return
    station = f"{key[0]}_{key[1]}"
    parts = polygons(feature.get("geometry"))
    if station in keys:
        report.anomaly(
            "bureau_en_double",
            _("bureau présent deux fois : ses contours sont réunis"),
            line=row,
            station=station,
        )
    keys[station] = key
    geometries.setdefault(station, []).extend(parts)
    if not parts:
        report.anomaly(
            "geometrie_absente",
            _("contour sans polygone : bureau gardé sans contour"),
            line=row,
            station=station,
        )


def _save(
    keys: dict[str, tuple[str, str]], geometries: dict[str, list[Any]], report: Report
) -> None:
    resolver = CommuneResolver.load()
    polygon_field = PollingStation._meta.get_field("polygon")
    rows = []
    for station, (insee, number) in keys.items():
        current = resolver.resolve(insee)
        if current is None:
            report.anomaly(
                "commune_inconnue",
                _("commune %(code)s absente du Code officiel géographique : bureau gardé")
                % {"code": insee},
                station=station,
            )
        parts = geometries.get(station) or []
        geometry: dict[str, Any] | None = None
        if len(parts) == 1:
            geometry = {"type": "Polygon", "coordinates": parts[0]}
        elif parts:
            geometry = {"type": "MultiPolygon", "coordinates": parts}
        outline = shape(geometry)
        rows.append(
            (
                station,
                current,
                resolver.departement(current),
                number,
                "",
                "",
                "",
                "",
                polygon_field.get_db_prep_save(geometry, connection) if geometry else None,
                outline.latitude if outline else None,
                outline.longitude if outline else None,
                outline.min_latitude if outline else None,
                outline.min_longitude if outline else None,
                outline.max_latitude if outline else None,
                outline.max_longitude if outline else None,
            )
        )
    table = PollingStation._meta.db_table
    geometry_columns = [
        "polygon",
        "latitude",
        "longitude",
        "min_latitude",
        "min_longitude",
        "max_latitude",
        "max_longitude",
    ]
    with transaction.atomic():
        bulk.insert_rows(
            table,
            [
                "id",
                "commune_id",
                "departement_id",
                "number",
                "name",
                "address_line",
                "postal_code",
                "reu_id",
                *geometry_columns,
            ],
            rows,
            conflict=["id"],
            update={
                "commune_id": bulk.keep_existing(table, "commune_id"),
                "departement_id": bulk.keep_existing(table, "departement_id"),
                **{name: bulk.keep_existing(table, name) for name in geometry_columns},
            },
        )
    report.counts["stations"] = len(rows)
    report.counts["polygons"] = sum(1 for station in keys if geometries.get(station))
    report.counts["communes_remapped"] = len(resolver.remapped)
