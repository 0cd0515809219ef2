"""Attach people to the polling station of their address, offline, in bulk.

A person's typed address (``Person.address_line`` in their ``commune``) is normalised with
the very functions the address importers use (``campagne.elections.addresses``: number,
repetition index, folded street with expanded abbreviations) and looked up among the
commune's imported addresses (BAN, Base Adresse Locale, REU). In order:

1. ``exact``: an address with the same number, index and street in the commune; its
   station is the REU's, or, for an address without one (BAN), the station whose contour
   contains its point;
2. ``single_station``: the commune has one polling station only;
3. ``street``: the same street in the commune, the address with the closest number (or,
   without a number, the station most of the street's addresses belong to);
4. otherwise the person stays unattached.

Addresses are matched within the commune's current code (``Address.commune``), not the
code written in the file, so an address filed under a commune that has since merged still
matches. Work goes by batches of communes: a few queries per batch, whatever the number of
people, and each batch replaces its people's links in one transaction, so the run can be
repeated after every import (a link that did not change keeps its date).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from campagne.elections.addresses import match_key, parse_address_line
from campagne.elections.geometry import contains
from campagne.elections.models import Address, PollingStation
from campagne.people.models import Person
from campagne.targeting.models import MatchMethod, PersonStation

COMMUNES_PER_BATCH = 400


@dataclass
class AttachReport:
    people: int = 0
    by_method: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def matched(self) -> int:
        return sum(self.by_method.values())

    @property
    def rate(self) -> float:
        return round(self.matched / self.people, 4) if self.people else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "people": self.people,
            "matched": self.matched,
            "rate": self.rate,
            "by_method": {method: self.by_method.get(method, 0) for method in MatchMethod.values},
        }


def person_key(address_line: str, commune: str) -> tuple[str, str, int | None]:
    """(``number|index|street`` key, street key, number) of a typed address."""
    number, suffix, street = parse_address_line(address_line)
    key = match_key(number, suffix, street, commune)
    without_commune = key.rsplit("|", 1)[0]
    return without_commune, without_commune.split("|")[2], number


@dataclass
class _Street:
    """The addresses of one street of one commune: (number, station or None, lon, lat)."""

    points: list[tuple[int | None, str | None, float | None, float | None]] = field(
        default_factory=list
    )


class _Commune:
    """What the matching needs to know about one commune."""

    def __init__(self) -> None:
        self.stations: list[str] = []
        self.exact: dict[str, tuple[str | None, float | None, float | None]] = {}
        self.streets: dict[str, _Street] = defaultdict(_Street)
        self._contours: list[tuple[str, Any, float, float, float, float]] | None = None

    def locate(self, longitude: float | None, latitude: float | None) -> str | None:
        """The station whose contour contains this point (BAN addresses carry none)."""
        if longitude is None or latitude is None or len(self.stations) < 2:
            return None
        if self._contours is None:
            self._contours = [
                (pk, polygon, lo_lat, lo_lon, hi_lat, hi_lon)
                for pk, polygon, lo_lat, lo_lon, hi_lat, hi_lon in PollingStation.objects.filter(
                    pk__in=self.stations, polygon__isnull=False
                ).values_list(
                    "pk",
                    "polygon",
                    "min_latitude",
                    "min_longitude",
                    "max_latitude",
                    "max_longitude",
                )
            ]
        for pk, polygon, *box in self._contours:
            lo_lat, lo_lon, hi_lat, hi_lon = box
            outside_box = None not in box and not (
                lo_lat <= latitude <= hi_lat and lo_lon <= longitude <= hi_lon
            )
            if not outside_box and contains(polygon, longitude, latitude):
                return pk
        return None

    def station_of(self, station: str | None, longitude: float | None, latitude: float | None):  # noqa: ANN201
        return station or self.locate(longitude, latitude)

    def by_street(self, street: str, number: int | None) -> str | None:
        known = self.streets.get(street)
        if known is None:
            return None
        if number is None:
            stations = Counter(
                found
                for n, station, lon, lat in known.points
                if (found := self.station_of(station, lon, lat))
            )
            return stations.most_common(1)[0][0] if stations else None
        ordered = sorted(
            known.points, key=lambda point: abs((point[0] or 0) - number) + (point[0] is None)
        )
        for _number, station, lon, lat in ordered:
            found = self.station_of(station, lon, lat)
            if found:
                return found
        return None

    def match(self, address_line: str, code: str) -> tuple[str, str] | None:
        """(station, method) for a person of this commune, or None."""
        if address_line.strip():
            key, street, number = person_key(address_line, code)
            if number is not None and key in self.exact:
                found = self.station_of(*self.exact[key])
                if found:
                    return found, MatchMethod.EXACT
        if len(self.stations) == 1:
            return self.stations[0], MatchMethod.SINGLE_STATION
        if address_line.strip() and street:
            found = self.by_street(street, number)
            if found:
                return found, MatchMethod.STREET
        return None


def _load_communes(codes: list[str]) -> dict[str, _Commune]:
    communes: dict[str, _Commune] = defaultdict(_Commune)
    stations = PollingStation.objects.filter(commune_id__in=codes).order_by("pk")
    for pk, commune_id in stations.values_list("pk", "commune_id"):
        communes[commune_id].stations.append(pk)
    addresses = Address.objects.filter(commune_id__in=codes).order_by("pk")
    for key, number, station, commune_id, lon, lat in addresses.values_list(
        "match_key", "number", "station_id", "commune_id", "longitude", "latitude"
    ):
        place = communes[commune_id]
        if not place.stations:
            continue
        without_commune = key.rsplit("|", 1)[0]
        # The first address of a key wins, or the first one with a station (REU).
        if without_commune not in place.exact or (station and not place.exact[without_commune][0]):
            place.exact[without_commune] = (station, lon, lat)
        street = without_commune.split("|")[2]
        if street:
            place.streets[street].points.append((number, station, lon, lat))
    return communes


def _batches(codes: list[str], size: int) -> Iterable[list[str]]:
    for offset in range(0, len(codes), size):
        yield codes[offset : offset + size]


def attach_people(
    people: QuerySet[Person] | None = None, *, communes_per_batch: int = COMMUNES_PER_BATCH
) -> AttachReport:
    """(Re)attach ``people`` (everyone by default) to their polling stations."""
    started = time.perf_counter()
    people = Person.objects.all() if people is None else people
    report = AttachReport()
    now = timezone.now()
    without_commune = people.filter(commune__isnull=True)
    report.people += without_commune.count()
    PersonStation.objects.filter(person__in=without_commune.values("pk")).delete()
    codes = sorted(
        set(people.filter(commune__isnull=False).values_list("commune_id", flat=True).distinct())
    )
    for batch in _batches(codes, communes_per_batch):
        places = _load_communes(batch)
        rows = list(
            people.filter(commune_id__in=batch)
            .order_by()
            .values_list("pk", "address_line", "commune_id")
        )
        report.people += len(rows)
        found: dict[int, tuple[str, str]] = {}
        for pk, address_line, commune_id in rows:
            place = places.get(commune_id)
            match = place.match(address_line, commune_id) if place else None
            if match:
                found[pk] = match
                report.by_method[match[1]] += 1
        _save(people.filter(commune_id__in=batch).values("pk"), found, now)
    report.seconds = time.perf_counter() - started
    return report


def _save(person_ids: QuerySet[Any], found: dict[int, tuple[str, str]], now: Any) -> None:
    """Replace the links of these people (a subquery); an unchanged link keeps its date."""
    with transaction.atomic():
        existing = PersonStation.objects.filter(person_id__in=person_ids)
        previous = {
            pk: (station, method, at)
            for pk, station, method, at in existing.values_list(
                "person_id", "station_id", "method", "matched_at"
            )
        }
        existing.delete()
        links = []
        for pk, (station, method) in found.items():
            before = previous.get(pk)
            at = before[2] if before and before[:2] == (station, method) else now
            links.append(
                PersonStation(person_id=pk, station_id=station, method=method, matched_at=at)
            )
        PersonStation.objects.bulk_create(links, batch_size=2000)
