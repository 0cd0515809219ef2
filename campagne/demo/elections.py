"""The demo's elections: real polling stations of Alpes-de-Haute-Provence, results that add
up to the real département totals, addresses, and a targeting profile.

Real (see ``data/SOURCES.md``):
- the 261 station contours of ``Bvote_Propre_Dep_04.geojson``, imported with the contours
  importer and its property mapping (``INSEE_COM``, ``CODE_BV``); communes without a
  contour get one station at the commune's point;
- the département's présidentielle 2022 1st-round totals: inscrits, abstentions, votants,
  blancs, nuls, exprimés and each of the 12 candidates' voix.

Generated (seeded, so a seed always gives the same data):
- the split of those totals between the stations (``split_totals``): sizes from each
  commune's population shared among its stations, abstention and candidates' shares varied
  per commune and per station with Dirichlet-like (gamma) noise, fitted to the real totals
  (iterative proportional fitting) and rounded with largest remainders under both margins,
  so that every column adds up EXACTLY to the real figure and every station's counts to its
  inscrits. The result goes through the real importer as a Ministry 2022 file;
- the circonscription of each commune (by arrondissement: Forcalquier → 04-02, else 04-01);
- BAN-layout addresses inside the contours (rejection sampling): the streets of the demo
  people's addresses (most of their numbers) and a few invented streets per station.

Nothing is generated over real data: if the présidentielle 2022 1st round already has
results, or département 04 already has addresses that are not the demo's, that part is
left alone.
"""

from __future__ import annotations

import csv
import math
import random
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from campagne.elections.actions import import_file
from campagne.elections.addresses import parse_address_line, street_key
from campagne.elections.geometry import contains
from campagne.elections.models import (
    Address,
    AddressSource,
    Candidate,
    Election,
    ElectionKind,
    ImportKind,
    PollingStation,
)
from campagne.people.models import Person
from campagne.territory.models import Commune

DATA = Path(__file__).parent / "data"
CONTOURS = DATA / "bureaux-de-vote-04.geojson.gz"
TOTALS = DATA / "presidentielle-2022-t1-04.csv"
DEPARTEMENT = "04"
DEPARTEMENT_NAME = "Alpes-de-Haute-Provence"
ELECTION_LABEL = "Présidentielle 2022, 1er tour (démo : résultats par bureau simulés)"
ELECTION_DATE = date(2022, 4, 10)
PROFILE_NAME = "Gauche : réservoir d'abstentionnistes"
OUR_SIDE = ("MÉLENCHON", "ROUSSEL", "JADOT", "HIDALGO")
# The candidates whose share follows a station's "left lean" in the generated results.
LEFT = {"ARTHAUD", "ROUSSEL", "MÉLENCHON", "HIDALGO", "JADOT", "POUTOU"}
ADDRESS_PREFIX = "demo-"
# Arrondissement of Forcalquier → 2nd circonscription (an approximation, said on the pages).
SECOND_CIRCONSCRIPTION = {"044"}
# Share of the demo people's numbers that exist as addresses (the others match by street).
KNOWN_NUMBERS = 0.8

MINISTRY_HEADER = (
    "Code du département;Libellé du département;Code de la circonscription;"
    "Libellé de la circonscription;Code de la commune;Libellé de la commune;Code du b.vote;"
    "Inscrits;Abstentions;% Abs/Ins;Votants;% Vot/Ins;Blancs;% Blancs/Ins;% Blancs/Vot;Nuls;"
    "% Nuls/Ins;% Nuls/Vot;Exprimés;% Exp/Ins;% Exp/Vot;N°Panneau;Sexe;Nom;Prénom;Voix;"
    "% Voix/Ins;% Voix/Exp"
)
BAN_HEADER = [
    "id",
    "id_fantoir",
    "numero",
    "rep",
    "nom_voie",
    "code_postal",
    "code_insee",
    "nom_commune",
    "code_insee_ancienne_commune",
    "nom_ancienne_commune",
    "x",
    "y",
    "lon",
    "lat",
    "type_position",
    "alias",
    "nom_ld",
    "libelle_acheminement",
    "nom_afnor",
    "source_position",
    "source_nom_voie",
    "certification_commune",
    "cad_parcelles",
]
# Invented streets: a type and a name, 8 × 24 of them for the biggest communes.
STREET_TYPES = ("Rue", "Chemin", "Avenue", "Impasse", "Place", "Allée", "Traverse", "Montée")
STREET_NAMES = (
    "de l'Église",
    "de la Mairie",
    "des Oliviers",
    "de la Libération",
    "du Lavoir",
    "de la Chapelle",
    "des Lavandes",
    "des Écoles",
    "du Château",
    "du Marché",
    "des Platanes",
    "des Vignes",
    "Pasteur",
    "des Amandiers",
    "Gassendi",
    "Jean Jaurès",
    "du Moulin",
    "de la Fontaine",
    "des Alpes",
    "de la Durance",
    "des Tilleuls",
    "de la République",
    "de Sisteron",
    "des Lauriers",
)


@dataclass(frozen=True)
class Totals:
    """The real département figures: totals and (panneau, sex, name, first name, voix)."""

    inscrits: int
    abstentions: int
    votants: int
    blancs: int
    nuls: int
    exprimes: int
    candidates: tuple[tuple[int, str, str, str, int], ...]

    def columns(self) -> list[int]:
        """What each inscrit did: abstained, blank, spoilt, or voted for candidate k."""
        return [self.abstentions, self.blancs, self.nuls, *(c[4] for c in self.candidates)]


def read_totals(path: Path = TOTALS) -> Totals:
    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file, delimiter=";"))
    counts = {row["categorie"]: int(row["nombre"]) for row in rows if row["categorie"] != "voix"}
    candidates = tuple(
        (int(row["panneau"]), row["sexe"], row["nom"], row["prenom"], int(row["nombre"]))
        for row in rows
        if row["categorie"] == "voix"
    )
    return Totals(candidates=candidates, **counts)


# --- splitting the totals -----------------------------------------------------------------------


def largest_remainder(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` split in proportion to ``weights``, in integers that add up exactly."""
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    counts = [math.floor(s) for s in shares]
    order = sorted(range(len(shares)), key=lambda i: (counts[i] - shares[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _fit(matrix: list[list[float]], rows: list[int], columns: list[int]) -> None:
    """Iterative proportional fitting, in place: scale to the column then the row totals."""
    for _round in range(500):
        sums = [sum(row[k] for row in matrix) for k in range(len(columns))]
        factors = [columns[k] / sums[k] if sums[k] else 0.0 for k in range(len(columns))]
        for row in matrix:
            for k, factor in enumerate(factors):
                row[k] *= factor
        for row, total in zip(matrix, rows, strict=True):
            found = sum(row)
            if found:
                row[:] = [value * total / found for value in row]
        gap = max(abs(sum(row[k] for row in matrix) - columns[k]) for k in range(len(columns)))
        if gap < 1e-7:
            return


def _round(matrix: list[list[float]], rows: list[int], columns: list[int]) -> list[list[int]]:
    """Integers that keep every row and column total exactly (largest remainders first)."""
    counts = [[math.floor(value + 1e-9) for value in row] for row in matrix]
    row_gap = [total - sum(row) for row, total in zip(counts, rows, strict=True)]
    column_gap = [columns[k] - sum(row[k] for row in counts) for k in range(len(columns))]
    remainders = sorted(
        (counts[i][k] - matrix[i][k], i, k) for i in range(len(matrix)) for k in range(len(columns))
    )
    for _remainder, i, k in remainders:
        if row_gap[i] > 0 and column_gap[k] > 0:
            counts[i][k] += 1
            row_gap[i] -= 1
            column_gap[k] -= 1
    # What the remainders could not place (rare): any row short with any column short.
    for i in range(len(counts)):
        for k in range(len(columns)):
            while row_gap[i] > 0 and column_gap[k] > 0:
                counts[i][k] += 1
                row_gap[i] -= 1
                column_gap[k] -= 1
    if any(row_gap) or any(column_gap):
        raise ValueError("The station counts cannot match the totals.")
    return counts


def split_totals(
    totals: Totals, sizes: Sequence[float], groups: Sequence[str], *, seed: int
) -> list[list[int]]:
    """Per station (``sizes``: relative size; ``groups``: its commune), the counts
    ``[abstentions, blancs, nuls, voix of candidate 1…12]``: each column adds up to the
    real total, each row to the station's inscrits."""
    rng = random.Random(seed)
    inscrits = largest_remainder(totals.inscrits, sizes)
    columns = totals.columns()
    base = [value / totals.inscrits for value in columns]
    left = [False, False, False, *(c[2] in LEFT for c in totals.candidates)]
    commune_lean = {}
    commune_abstention = {}
    for group in sorted(set(groups)):
        commune_lean[group] = rng.gauss(0, 0.25)
        commune_abstention[group] = rng.gauss(0, 0.15)
    matrix = []
    for size, group in zip(inscrits, groups, strict=True):
        # A station's "quartier": more abstention goes with a more left-leaning vote, the
        # pattern the 2012 door-to-door campaign looked for.
        quartier = rng.gauss(0, 1)
        abstention = math.exp(commune_abstention[group] + 0.2 * quartier)
        lean = math.exp(commune_lean[group] + 0.25 * quartier)
        row = []
        for k, share in enumerate(base):
            noise = rng.gammavariate(200 * share + 1, 1) / (200 * share + 1)
            factor = abstention if k == 0 else (lean if left[k] else 1 / math.sqrt(lean))
            row.append(size * share * factor * noise)
        total = sum(row)
        matrix.append([value * size / total if total else 0.0 for value in row])
    _fit(matrix, inscrits, columns)
    return _round(matrix, inscrits, columns)


# --- loading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoElectionsReport:
    stations: int
    results: int
    addresses: int
    profile_id: int | None
    attached: int
    seconds: float


def load_demo_elections(
    *, owner: Any, people: QuerySet[Person], seed: int = 4
) -> DemoElectionsReport:
    """Stations, results, addresses, the demo profile (scored) and the people attached."""
    from campagne.targeting.matching import attach_people

    started = time.perf_counter()
    rng = random.Random(seed)
    import_file(
        kind=ImportKind.CONTOURS,
        path=CONTOURS,
        options={"code_commune": "INSEE_COM", "code_bv": "CODE_BV"},
    )
    stations = _complete_stations()
    election = Election.objects.filter(kind=ElectionKind.PRESIDENTIELLE, year=2022, round=1).first()
    results = 0
    if election is None or not election.results.exists():
        election = _load_results(stations, seed)
        results = len(stations)
    addresses = _load_addresses(stations, people, rng)
    profile = _profile(owner, election)
    attached = attach_people(people).matched
    return DemoElectionsReport(
        stations=len(stations),
        results=results,
        addresses=addresses,
        profile_id=profile.pk if profile else None,
        attached=attached,
        seconds=time.perf_counter() - started,
    )


def _complete_stations() -> list[PollingStation]:
    """The département's stations: a point for a contour-less one, one station per
    commune the contours miss (at the commune's point)."""
    communes = {
        c.code: c for c in Commune.objects.filter(departement_id=DEPARTEMENT, parent__isnull=True)
    }
    stations = list(PollingStation.objects.filter(departement_id=DEPARTEMENT).order_by("pk"))
    covered = {s.commune_id for s in stations}
    for station in stations:
        place = communes.get(station.commune_id or "")
        if station.latitude is None and place and place.latitude is not None:
            station.latitude, station.longitude = place.latitude, place.longitude
            station.save(update_fields=["latitude", "longitude"])
    new = [
        PollingStation(
            id=f"{code}_0001",
            commune=place,
            departement_id=DEPARTEMENT,
            number="0001",
            latitude=place.latitude,
            longitude=place.longitude,
        )
        for code, place in sorted(communes.items())
        if code not in covered
    ]
    PollingStation.objects.bulk_create(new, ignore_conflicts=True)
    return list(
        PollingStation.objects.filter(departement_id=DEPARTEMENT)
        .select_related("commune")
        .order_by("pk")
    )


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f}".replace(".", ",") if whole else "0,00"


def ministry_lines(stations: list[PollingStation], totals: Totals, seed: int) -> list[str]:
    """The generated results as the Ministry's 2022 per-station file (header included)."""
    rng = random.Random(seed)
    per_commune: dict[str, int] = defaultdict(int)
    for station in stations:
        per_commune[station.commune_id or ""] += 1
    sizes = [
        max(station.commune.population or 0, 30)
        / per_commune[station.commune_id or ""]
        * rng.uniform(0.7, 1.3)
        for station in stations
    ]
    counts = split_totals(totals, sizes, [s.commune_id or "" for s in stations], seed=seed)
    lines = [MINISTRY_HEADER]
    for station, row in zip(stations, counts, strict=True):
        abstentions, blancs, nuls, *voix = row
        inscrits = sum(row)
        votants = inscrits - abstentions
        exprimes = sum(voix)
        circo = 2 if station.commune.arrondissement_id in SECOND_CIRCONSCRIPTION else 1
        insee = station.commune_code
        fields = [
            DEPARTEMENT,
            DEPARTEMENT_NAME,
            f"{circo:02d}",
            f"{circo}{'ère' if circo == 1 else 'ème'} circonscription",
            insee[2:],
            station.commune.name,
            station.number,
            str(inscrits),
            str(abstentions),
            _percent(abstentions, inscrits),
            str(votants),
            _percent(votants, inscrits),
            str(blancs),
            _percent(blancs, inscrits),
            _percent(blancs, votants),
            str(nuls),
            _percent(nuls, inscrits),
            _percent(nuls, votants),
            str(exprimes),
            _percent(exprimes, inscrits),
            _percent(exprimes, votants),
        ]
        for (panneau, sex, last, first, _total), votes in zip(totals.candidates, voix, strict=True):
            fields += [
                str(panneau),
                sex,
                last,
                first,
                str(votes),
                _percent(votes, inscrits),
                _percent(votes, exprimes),
            ]
        lines.append(";".join(fields))
    return lines


def _load_results(stations: list[PollingStation], seed: int) -> Election:
    lines = ministry_lines(stations, read_totals(), seed)
    with tempfile.TemporaryDirectory(prefix="campagne-demo-") as folder:
        path = Path(folder) / "PR22_BVot_T1_04.txt"
        path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
        report = import_file(
            kind=ImportKind.RESULTS,
            path=path,
            options={
                "kind": ElectionKind.PRESIDENTIELLE,
                "year": 2022,
                "round": 1,
                "date": ELECTION_DATE.isoformat(),
                "label": ELECTION_LABEL,
            },
        )
    return Election.objects.get(pk=report.details["election_ids"][0])


def _point_in(station: PollingStation, rng: random.Random) -> tuple[float, float]:
    """A random point inside the station's contour (rejection sampling), or near its point."""
    if station.polygon and station.min_latitude is not None:
        for _attempt in range(200):
            lon = rng.uniform(station.min_longitude, station.max_longitude)
            lat = rng.uniform(station.min_latitude, station.max_latitude)
            if contains(station.polygon, lon, lat):
                return lon, lat
    return (
        (station.longitude or 0.0) + rng.uniform(-0.003, 0.003),
        (station.latitude or 0.0) + rng.uniform(-0.002, 0.002),
    )


def _load_addresses(
    stations: list[PollingStation], people: QuerySet[Person], rng: random.Random
) -> int:
    """BAN-layout addresses in the stations, imported, then given their station."""
    real = Address.objects.filter(commune__departement_id=DEPARTEMENT).exclude(
        source_id__startswith=ADDRESS_PREFIX
    )
    if real.exists():
        return 0
    by_commune: dict[str, list[PollingStation]] = defaultdict(list)
    for station in stations:
        by_commune[station.commune_id or ""].append(station)
    postcodes = dict(
        Commune.objects.filter(departement_id=DEPARTEMENT)
        .exclude(postal_codes__isnull=True)
        .values_list("code", "postal_codes__code")
    )
    rows: dict[str, list[Any]] = {}
    station_of: dict[str, str] = {}

    def add(station: PollingStation, street: str, number: int, suffix: str = "") -> None:
        commune = station.commune
        source_id = f"{ADDRESS_PREFIX}{commune.code}_{street_key(street)[:40]}_{number}{suffix}"
        if source_id in rows:
            return
        lon, lat = _point_in(station, rng)
        rows[source_id] = [
            source_id,
            "",
            number,
            suffix,
            street,
            postcodes.get(commune.code, ""),
            commune.code,
            commune.name,
            "",
            "",
            "",
            "",
            f"{lon:.6f}",
            f"{lat:.6f}",
            "entrée",
            "",
            "",
            commune.name.upper(),
            street.upper(),
            "commune",
            "commune",
            "0",
            "",
        ]
        station_of[source_id] = station.pk

    # The streets the demo people live on, each in one station of their commune.
    streets: dict[tuple[str, str], PollingStation] = {}
    lines = people.exclude(address_line="").order_by("pk")
    for address_line, commune_id in lines.values_list("address_line", "commune_id"):
        choices = by_commune.get(commune_id or "")
        number, suffix, street = parse_address_line(address_line)
        if not choices or not street:
            continue
        key = (commune_id, street_key(street))
        named = street[:1].upper() + street[1:]
        if key not in streets:
            streets[key] = rng.choice(choices)
            # Other numbers of the street, so that a person whose own number is missing
            # still finds their street.
            for other in rng.sample(range(1, 400), 2):
                add(streets[key], named, other)
        if number is not None and rng.random() < KNOWN_NUMBERS:
            add(streets[key], named, number, suffix)
    # A few invented streets in every station, none shared with another station.
    streets_all = [f"{kind} {name}" for name in STREET_NAMES for kind in STREET_TYPES]
    for _commune, choices in sorted(by_commune.items()):
        names = rng.sample(streets_all, 2 * len(choices))
        for index, station in enumerate(choices):
            for street in names[2 * index : 2 * index + 2]:
                for number in sorted(rng.sample(range(1, 60), rng.randint(2, 4))):
                    add(station, street, number)
    with tempfile.TemporaryDirectory(prefix="campagne-demo-") as folder:
        path = Path(folder) / "adresses-04.csv"
        with path.open("w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file, delimiter=";")
            writer.writerow(BAN_HEADER)
            writer.writerows(rows.values())
        import_file(kind=ImportKind.ADDRESSES, path=path)
    table = connection.ops.quote_name(Address._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET station_id = %s WHERE source = %s AND source_id = %s",  # noqa: S608
            [(station, AddressSource.BAN, pk) for pk, station in station_of.items()],
        )
    return len(rows)


def _profile(owner: Any, election: Election) -> Any:
    """The demo's targeting profile, shared with the organizers, scored."""
    from campagne.targeting.models import TargetingProfile
    from campagne.targeting.scoring import score_profile

    profile = TargetingProfile.objects.filter(name=PROFILE_NAME, owner=owner).first()
    if profile is None:
        profile = TargetingProfile.objects.create(
            name=PROFILE_NAME,
            owner=owner,
            shared=True,
            description=(
                "Les bureaux où la gauche (Mélenchon, Roussel, Jadot, Hidalgo) fait de bons "
                "scores et où beaucoup d'électeurs s'abstiennent : les voix à gagner en allant "
                "frapper aux portes."
            ),
        )
    profile.elections.set([election])
    profile.candidates.set(Candidate.objects.filter(election=election, last_name__in=OUR_SIDE))
    profile.departements.set([DEPARTEMENT])
    score_profile(profile)
    return profile


def reset_demo_elections(owners: QuerySet[Any]) -> None:
    """Remove what the demo generated: its results, addresses and profiles."""
    from campagne.targeting.models import TargetingProfile

    TargetingProfile.objects.filter(owner__in=owners).delete()
    Election.objects.filter(label=ELECTION_LABEL).delete()
    Address.objects.filter(source_id__startswith=ADDRESS_PREFIX).delete()
