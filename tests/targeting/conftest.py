"""A tiny hand-made election dataset whose score parts can be checked by hand.

Five stations: three in Digne-les-Bains (04070), one in Manosque (04112), one in Gap
(05061, outside département 04). Présidentielle 2022 round 1 with three candidates:
Mélenchon (ticked as ours), Jadot (ours through his nuance "ECO") and Macron; a 2017
election gives the turnout to compare with (Gap has no 2017 result).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from campagne.elections.models import (
    Candidate,
    Circonscription,
    Election,
    ElectionKind,
    PollingStation,
    StationResult,
)
from campagne.targeting.models import TargetingProfile
from tests.factories import commune

# station: inscrits, abstentions, blancs, nuls, (Mélenchon, Jadot, Macron)
RESULTS_2022 = {
    "04070_0001": (1000, 400, 10, 10, (200, 90, 290)),
    "04070_0002": (500, 100, 5, 5, (39, 39, 312)),
    "04070_0003": (800, 400, 0, 0, (100, 0, 300)),
    "04112_0001": (2000, 600, 0, 0, (700, 0, 700)),
    "05061_0001": (100, 50, 0, 0, (10, 0, 40)),
}
# station: inscrits, votants (2017)
TURNOUT_2017 = {
    "04070_0001": (1000, 700),
    "04070_0002": (500, 400),
    "04070_0003": (800, 480),
    "04112_0001": (2000, 1400),
}
SQUARE = [[[6.23, 44.09], [6.24, 44.09], [6.24, 44.10], [6.23, 44.10], [6.23, 44.09]]]
BOX = {"min_latitude": 44.09, "min_longitude": 6.23, "max_latitude": 44.10, "max_longitude": 6.24}


@dataclass
class Dataset:
    e2022: Election
    e2017: Election
    melenchon: Candidate
    jadot: Candidate
    macron: Candidate
    stations: dict[str, PollingStation]


def make_station(key: str, **fields: object) -> PollingStation:
    insee, _sep, number = key.partition("_")
    place = commune(insee)
    return PollingStation.objects.create(
        id=key, commune=place, departement_id=place.departement_id, number=number, **fields
    )


@pytest.fixture
def dataset(db) -> Dataset:
    e2022 = Election.objects.create(kind=ElectionKind.PRESIDENTIELLE, year=2022, round=1)
    e2017 = Election.objects.create(kind=ElectionKind.PRESIDENTIELLE, year=2017, round=1)
    melenchon = Candidate.objects.create(
        election=e2022, panneau=7, last_name="MÉLENCHON", first_name="Jean-Luc", nuance="LFI"
    )
    jadot = Candidate.objects.create(
        election=e2022, panneau=9, last_name="JADOT", first_name="Yannick", nuance="ECO"
    )
    macron = Candidate.objects.create(
        election=e2022, panneau=3, last_name="MACRON", first_name="Emmanuel", nuance="ENS"
    )
    old = Candidate.objects.create(election=e2017, panneau=1, last_name="HAMON", nuance="ECO")
    circo = Circonscription.objects.create(code="04-01", departement_id="04", number=1)
    stations = {}
    for key, (inscrits, abstentions, blancs, nuls, voix) in RESULTS_2022.items():
        extra: dict[str, object] = {}
        if key == "04070_0001":
            extra = {"polygon": {"type": "Polygon", "coordinates": SQUARE}, **BOX}
        if key.startswith("04070"):
            extra["circonscription"] = circo
        stations[key] = make_station(key, latitude=44.095, longitude=6.235, **extra)
        votants = inscrits - abstentions
        StationResult.objects.create(
            election=e2022,
            station=stations[key],
            inscrits=inscrits,
            abstentions=abstentions,
            votants=votants,
            blancs=blancs,
            nuls=nuls,
            exprimes=votants - blancs - nuls,
            votes={str(c.pk): v for c, v in zip((melenchon, jadot, macron), voix, strict=True)},
        )
    for key, (inscrits, votants) in TURNOUT_2017.items():
        StationResult.objects.create(
            election=e2017,
            station=stations[key],
            inscrits=inscrits,
            abstentions=inscrits - votants,
            votants=votants,
            blancs=0,
            nuls=0,
            exprimes=votants,
            votes={str(old.pk): votants},
        )
    return Dataset(e2022, e2017, melenchon, jadot, macron, stations)


@pytest.fixture
def profile(dataset: Dataset, hq_admin) -> TargetingProfile:
    """Our side: Mélenchon ticked, and the nuance ECO (Jadot); default weights."""
    profile = TargetingProfile.objects.create(
        name="Gauche", owner=hq_admin, shared=True, nuances=["ECO"]
    )
    profile.elections.set([dataset.e2022])
    profile.candidates.set([dataset.melenchon])
    return profile


@pytest.fixture
def private_profile(dataset: Dataset, hq_admin) -> TargetingProfile:
    """An HQ profile not shared with the organizers (Macron as "our side"), scored."""
    from campagne.targeting.scoring import score_profile

    profile = TargetingProfile.objects.create(name="Interne QG", owner=hq_admin)
    profile.elections.set([dataset.e2022])
    profile.candidates.set([dataset.macron])
    score_profile(profile)
    return profile
