"""Attaching people to polling stations by their address, offline."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campagne.elections.addresses import match_key
from campagne.elections.models import Address, AddressSource
from campagne.targeting.matching import attach_people, person_key
from campagne.targeting.models import MatchMethod, PersonStation
from tests.factories import PersonFactory, commune


def address(source_id, number, suffix, street, station=None, lon=None, lat=None, insee="04070"):
    return Address.objects.create(
        source=AddressSource.REU if station else AddressSource.BAN,
        source_id=source_id,
        number=number,
        suffix=suffix,
        street=street,
        commune=commune(insee),
        station_id=station,
        longitude=lon,
        latitude=lat,
        match_key=match_key(number, suffix, street, insee),
    )


@pytest.fixture
def addresses(dataset):
    return [
        address("a1", 12, "bis", "Avenue de la République", "04070_0001"),
        address("a2", 14, "", "Avenue de la République", "04070_0002"),
        address("a3", 20, "", "Avenue de la République", "04070_0002"),
        # A BAN address has no station: its point lies in the contour of 04070_0001.
        address("a4", 3, "", "Rue du Lavoir", lon=6.235, lat=44.095),
    ]


@pytest.fixture
def people(addresses):
    digne, manosque = commune("04070"), commune("04112")
    return {
        "exact": PersonFactory(address_line="12 bis av. de la République", commune=digne),
        "contour": PersonFactory(address_line="3, rue du Lavoir", commune=digne),
        "street": PersonFactory(address_line="18 avenue de la republique", commune=digne),
        "street_no_number": PersonFactory(address_line="Avenue de la République", commune=digne),
        "single": PersonFactory(address_line="", commune=manosque),
        "unknown_street": PersonFactory(address_line="5 impasse Inconnue", commune=digne),
        "no_commune": PersonFactory(address_line="12 bis av. de la République", commune=None),
    }


def links() -> dict[int, tuple[str, str]]:
    return {link.person_id: (link.station_id, link.method) for link in PersonStation.objects.all()}


def test_person_key_uses_the_importers_normaliser():
    assert person_key("12 bis av. de la République", "04070") == (
        "12|b|avenue republique",
        "avenue republique",
        12,
    )
    assert match_key(12, "bis", "Avenue de la République", "04070").startswith("12|b|avenue")


def test_each_method_and_the_rate(people):
    report = attach_people()

    assert report.as_dict() == {
        "people": 7,
        "matched": 5,
        "rate": 0.7143,
        "by_method": {"exact": 2, "street": 2, "single_station": 1},
    }
    assert links() == {
        people["exact"].pk: ("04070_0001", MatchMethod.EXACT),
        people["contour"].pk: ("04070_0001", MatchMethod.EXACT),
        # 18: the closest numbers are 20 and 14, both in 04070_0002.
        people["street"].pk: ("04070_0002", MatchMethod.STREET),
        # No number: the station most of the street's addresses belong to.
        people["street_no_number"].pk: ("04070_0002", MatchMethod.STREET),
        people["single"].pk: ("04112_0001", MatchMethod.SINGLE_STATION),
    }


def test_rerunning_replaces_and_keeps_unchanged_dates(people):
    attach_people()
    before = {link.person_id: link.matched_at for link in PersonStation.objects.all()}
    moved = people["street"]
    moved.address_line = "12 bis avenue de la République"
    moved.save()

    report = attach_people()

    assert report.matched == 5
    assert links()[moved.pk] == ("04070_0001", MatchMethod.EXACT)
    after = {link.person_id: link.matched_at for link in PersonStation.objects.all()}
    assert after[people["exact"].pk] == before[people["exact"].pk]
    assert after[moved.pk] > before[moved.pk]


def test_a_person_whose_address_no_longer_matches_is_detached(people):
    attach_people()
    person = people["exact"]
    person.address_line = "9 chemin Perdu"
    person.save()

    attach_people()

    assert person.pk not in links()


def test_runs_in_a_few_queries_whatever_the_number_of_people(people):
    digne = commune("04070")
    PersonFactory.create_batch(30, address_line="14 avenue de la République", commune=digne)

    with CaptureQueriesContext(connection) as queries:
        report = attach_people()

    assert report.by_method[MatchMethod.EXACT] == 32
    assert len(queries) <= 16


def test_command_prints_the_json_summary(people):
    out = StringIO()
    call_command("targeting", "attach-people", stdout=out)

    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary == {
        "people": 7,
        "matched": 5,
        "rate": 0.7143,
        "by_method": {"exact": 2, "street": 2, "single_station": 1},
    }
    assert PersonStation.objects.count() == 5


def test_erasing_a_person_removes_the_link(people):
    attach_people()
    people["exact"].delete()

    assert PersonStation.objects.count() == 4
