"""Load all of France from the files in ``territory/data`` (sources in data/SOURCES.md).

Runs inside ``migrate`` (data migration ``0003_load_france``) and on demand with
``campagne territory load``. It takes an app registry so the migration can hand it the
historical models (``apps.get_model``), and it only fills fields that exist as of that
migration: a later field it must fill needs a new data migration, not a change here.

Idempotent, in one transaction: each row is compared with the table and only the missing
or changed ones are written (upserts on the code), so a second run writes nothing.
Postcodes La Poste no longer gives are deleted (nothing points at them); communes that
left the COG are kept — people may still point at them — and counted as ``stale_communes``.

Speed: about 3 s of CPU for all of France on SQLite or PostgreSQL (parsing ~0.6 s, the
ORM's bulk inserts the rest); see ``_sync``.
"""

import csv
import gzip
import itertools
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.db import transaction

from campagne.lib.text import search_key
from campagne.territory.places import place_key

DATA_DIR = Path(__file__).resolve().parent / "data"
_BATCH = 2000
# The COG types kept as communes: communes, and the municipal arrondissements of Paris,
# Lyon and Marseille (results and polling stations are filed under those).
_CURRENT_TYPES = ("COM", "ARM")
# Delegated and associated communes: no longer communes, but old addresses carry them.
_FORMER_TYPES = ("COMD", "COMA")
# COG movement "rétablissement": a former commune leaves its commune nouvelle again.
_RESTORATION = "21"


@dataclass
class CommuneData:
    code: str
    name: str
    departement: str
    arrondissement: str | None
    parent: str | None
    population: int | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass
class PostcodeData:
    place_name: str
    own: bool  # from a La Poste row filed under the commune's own code
    # Folded names La Poste files under this postcode for the commune (its own name, a
    # former commune's, the libellé d'acheminement, ligne 5 places), for town matching.
    names: set[str] = field(default_factory=set)


@dataclass
class France:
    regions: dict[str, str] = field(default_factory=dict)
    departements: dict[str, tuple[str, str]] = field(default_factory=dict)
    arrondissements: dict[str, tuple[str, str]] = field(default_factory=dict)
    communes: dict[str, CommuneData] = field(default_factory=dict)
    # Former commune code (delegated, associated, merged away) → current commune code.
    successors: dict[str, str] = field(default_factory=dict)
    # Current commune → folded names of its delegated and associated communes.
    former_names: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    # Commune restored out of a commune nouvelle (COG MOD 21) → the codes it left.
    restored_from: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    postcodes: dict[tuple[str, str], PostcodeData] = field(default_factory=dict)


def _rows(name: str, delimiter: str = ",") -> Iterator[dict[str, str]]:
    with gzip.open(DATA_DIR / f"{name}.csv.gz", "rt", encoding="utf-8", newline="") as file:
        yield from csv.DictReader(file, delimiter=delimiter)


def read_france() -> France:
    """Parse the shipped files into plain data (no database)."""
    france = France()
    france.regions = {row["REG"]: row["LIBELLE"] for row in _rows("regions")}
    france.departements = {
        row["DEP"]: (row["LIBELLE"], row["REG"]) for row in _rows("departements")
    }
    france.arrondissements = {
        row["ARR"]: (row["LIBELLE"], row["DEP"]) for row in _rows("arrondissements")
    }
    _read_communes(france)
    _read_populations(france)
    _read_movements(france)
    _read_restored(france, _read_postcodes(france))
    _fill_cities_from_districts(france)
    return france


def _read_communes(france: France) -> None:
    former_parents: dict[str, str] = {}
    for row in _rows("communes"):
        kind, code = row["TYPECOM"], row["COM"]
        if kind in _CURRENT_TYPES:
            france.communes[code] = CommuneData(
                code=code,
                name=row["LIBELLE"],
                departement=row["DEP"],
                arrondissement=row["ARR"] or None,
                parent=(row["COMPARENT"] or None) if kind == "ARM" else None,
            )
        elif kind in _FORMER_TYPES:
            former_parents[code] = row["COMPARENT"]
            france.former_names[row["COMPARENT"]].add(place_key(row["LIBELLE"]))
    # A chef-lieu's delegated commune shares the new commune's code: that code stays its own.
    france.successors.update(
        (code, parent) for code, parent in former_parents.items() if code not in france.communes
    )


def _read_populations(france: France) -> None:
    for row in _rows("donnees_communes", delimiter=";"):
        commune = france.communes.get(row["COM"])
        if commune is not None and row["PMUN"]:
            commune.population = int(row["PMUN"])


def _read_movements(france: France) -> None:
    """Map every code that merged away onto the current commune that holds it now.

    A code may have moved several times (merged in 2016, that commune merged again in
    2025), so follow the chain, the latest move first, until a current commune.
    """
    moves: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in _rows("mouvements-communes"):
        before, after = row["COM_AV"], row["COM_AP"]
        if row["TYPECOM_AP"] == "COM" and before != after:
            if row["MOD"] == _RESTORATION:
                france.restored_from[after].add(before)
            else:
                moves[before].append((row["DATE_EFF"], after))

    def follow(code: str, seen: frozenset[str]) -> str | None:
        if code in france.communes:
            return code
        if code in france.successors:
            return france.successors[code]
        for _date, after in sorted(moves.get(code, ()), reverse=True):
            if after not in seen and (found := follow(after, seen | {after})):
                return found
        return None

    for code in moves:
        if code not in france.communes and code not in france.successors:
            current = follow(code, frozenset({code}))
            if current is not None:
                france.successors[code] = current


def _read_postcodes(france: France) -> dict[tuple[str, str], list[dict[str, str]]]:
    """Postcodes and points from La Poste's file, whose codes predate the latest mergers.

    A merged commune inherits the postcodes and points of its former communes. Of several
    points or libellés, the one filed under the commune's own code (usually its chef-lieu)
    wins, else the first one seen.
    """
    own_point: set[str] = set()
    left = {france.successors.get(c, c) for codes in france.restored_from.values() for c in codes}
    # (current commune, folded ligne 5) → La Poste rows, for communes restored since.
    places: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for row in _rows("laposte_hexasmal", delimiter=";"):
        old_code = row["Code_commune_INSEE"]
        code = old_code if old_code in france.communes else france.successors.get(old_code)
        if code is None:
            continue  # Overseas collectivities and Monaco: outside the COG's communes.
        if code in left and row["Ligne_5"]:
            places[code, place_key(row["Ligne_5"])].append(row)
        own = old_code == code
        commune = france.communes[code]
        point = _point(row["coordonnees_gps"])
        if point and (commune.latitude is None or (own and code not in own_point)):
            commune.latitude, commune.longitude = point
            if own:
                own_point.add(code)
        key = (row["Code_postal"], code)
        postcode = france.postcodes.get(key)
        if postcode is None or (own and not postcode.own):
            names = postcode.names if postcode else set()
            postcode = PostcodeData(row["Libellé_d_acheminement"], own=own, names=names)
            france.postcodes[key] = postcode
        postcode.names.update(
            search_key(name)
            for name in (row["Nom_commune"], row["Libellé_d_acheminement"], row["Ligne_5"])
            if name
        )
    return places


def _read_restored(france: France, places: dict[tuple[str, str], list[dict[str, str]]]) -> None:
    """Communes restored since La Poste's file: their postcodes and point from its ligne 5.

    La Poste filed them as a place (ligne 5) of the commune nouvelle they have left, e.g.
    "85084;ESSARTS EN BOCAGE;85140;L OIE", under their name or one of their own delegated
    communes' (Les Hauts-Talican took back Villotran). The row's point is the commune
    nouvelle's, a few kilometres off at most: close enough for a map until a newer file.
    """
    with_postcode = {code for _postcode, code in france.postcodes}
    for code, left in france.restored_from.items():
        commune = france.communes.get(code)
        if commune is None or code in with_postcode:
            continue
        names = {place_key(commune.name), *france.former_names.get(code, ())}
        left_now = {france.successors.get(former, former) for former in left}
        for row in (row for k in itertools.product(left_now, names) for row in places.get(k, ())):
            place = search_key(row["Ligne_5"])
            postcode = france.postcodes.setdefault(
                (row["Code_postal"], code), PostcodeData(row["Libellé_d_acheminement"], own=False)
            )
            postcode.names.add(place)
            # The place is a commune again: neither its name nor the one it took back may
            # still lead to the commune it left, or "L'Oie, 85140" would be ambiguous.
            for former in left_now:
                if (row["Code_postal"], former) in france.postcodes:
                    france.postcodes[row["Code_postal"], former].names.difference_update(
                        {place, search_key(commune.name)}
                    )
            point = _point(row["coordonnees_gps"])
            if point and commune.latitude is None:
                commune.latitude, commune.longitude = point


def _point(text: str) -> tuple[float, float] | None:
    lat, _, lon = text.partition(",")
    return (float(lat), float(lon)) if lat and lon else None


def _fill_cities_from_districts(france: France) -> None:
    """Paris, Lyon, Marseille: population and point from their municipal arrondissements.

    INSEE and La Poste file both under the arrondissements; the city's population légale is
    their sum, and the mean of their points is a fair centre for a map.
    """
    districts: dict[str, list[CommuneData]] = defaultdict(list)
    for commune in france.communes.values():
        if commune.parent:
            districts[commune.parent].append(commune)
    for parent_code, members in districts.items():
        city = france.communes[parent_code]
        if city.population is None:
            city.population = sum(m.population or 0 for m in members)
        located = [m for m in members if m.latitude is not None]
        if city.latitude is None and located:
            city.latitude = sum(m.latitude or 0 for m in located) / len(located)
            city.longitude = sum(m.longitude or 0 for m in located) / len(located)


def load_france(*, using: str = "default", apps: Apps | None = None) -> dict[str, Any]:
    """Load or refresh the whole territory; return counts and the time it took."""
    started = time.monotonic()
    france = read_france()
    registry = apps or global_apps
    with transaction.atomic(using=using):
        summary = _save(france, registry, using)
    summary["seconds"] = round(time.monotonic() - started, 2)
    return summary


def _save(france: France, registry: Apps, using: str) -> dict[str, Any]:
    Region = registry.get_model("territory", "Region")
    Departement = registry.get_model("territory", "Departement")
    Arrondissement = registry.get_model("territory", "Arrondissement")
    Commune = registry.get_model("territory", "Commune")
    PostalCode = registry.get_model("territory", "PostalCode")

    written = _sync(Region, {(c,): {"name": n} for c, n in france.regions.items()}, using)
    written += _sync(
        Departement,
        {(c,): {"name": n, "region_id": r} for c, (n, r) in france.departements.items()},
        using,
    )
    written += _sync(
        Arrondissement,
        {(c,): {"name": n, "departement_id": d} for c, (n, d) in france.arrondissements.items()},
        using,
    )
    written += _sync(
        Commune,
        {
            (c.code,): {
                "name": c.name,
                "search_name": search_key(c.name),
                "departement_id": c.departement,
                "arrondissement_id": c.arrondissement,
                "parent_id": c.parent,
                "population": c.population,
                "latitude": c.latitude,
                "longitude": c.longitude,
            }
            # Cities before their arrondissements: the self-reference never points ahead.
            for c in sorted(france.communes.values(), key=lambda c: c.parent is not None)
        },
        using,
    )
    postcodes = {
        key: {"place_name": data.place_name, "search_names": "|".join(sorted(data.names))}
        for key, data in sorted(france.postcodes.items())
    }
    written += _sync(PostalCode, postcodes, using, key_fields=("code", "commune_id"))
    # Nothing points at a postcode: those La Poste no longer gives go.
    removed = _stale(PostalCode, postcodes.keys(), using, key_fields=("code", "commune_id"))
    removed_count = PostalCode._default_manager.using(using).filter(pk__in=removed).delete()[0]
    communes = Commune._default_manager.using(using)
    return {
        "regions": Region._default_manager.using(using).count(),
        "departements": Departement._default_manager.using(using).count(),
        "arrondissements": Arrondissement._default_manager.using(using).count(),
        "communes": len(france.communes),
        "communes_with_population": communes.filter(population__isnull=False).count(),
        "communes_with_point": communes.filter(latitude__isnull=False).count(),
        # Every code read is in the table now; anything more left the COG since.
        "stale_communes": communes.count() - len(france.communes),
        "postal_codes": PostalCode._default_manager.using(using).count(),
        "rows_written": written,
        "postal_codes_removed": removed_count,
    }


def _sync(
    model: Any,
    wanted: dict[tuple[str, ...], dict[str, Any]],
    using: str,
    key_fields: tuple[str, ...] = ("code",),
) -> int:
    """Insert the rows of ``wanted`` missing from the table, update those that differ.

    Unchanged rows are not written, so a reload touches only what the new files change
    and an upsert of all of France happens once, on the first load.
    """
    if not wanted:
        return 0
    value_fields = list(next(iter(wanted.values())))
    manager = model._default_manager.using(using)
    existing = {
        row[: len(key_fields)]: row[len(key_fields) :]
        for row in manager.values_list(*key_fields, *value_fields).iterator(chunk_size=_BATCH)
    }
    # Positional arguments in field order: Django's fast path, a third of the load's time
    # with keywords on 70,000 rows.
    columns = [field.attname for field in model._meta.concrete_fields]
    changed = [
        model(*[row.get(column) for column in columns])
        for key, values in wanted.items()
        if existing.get(key) != tuple(values.values())
        for row in [{**dict(zip(key_fields, key, strict=True)), **values}]
    ]
    manager.bulk_create(
        changed,
        batch_size=_BATCH,
        update_conflicts=True,
        unique_fields=list(key_fields),
        update_fields=value_fields,
    )
    return len(changed)


def _stale(
    model: Any, wanted: Iterable[tuple[str, ...]], using: str, key_fields: tuple[str, ...]
) -> list[Any]:
    """Primary keys of the rows whose key is not in ``wanted``."""
    keep = set(wanted)
    rows = model._default_manager.using(using).values_list("pk", *key_fields)
    return [row[0] for row in rows.iterator(chunk_size=_BATCH) if row[1:] not in keep]
