"""Addresses (BAN, BAL), INSEE's REU tables and station contours (GeoJSON)."""

import gzip

import pytest
from django.core.management.base import CommandError

from campagne.elections.addresses import match_key
from campagne.elections.geometry import contains
from campagne.elections.models import Address, AddressSource, PollingStation
from tests.elections.conftest import BAL, BAN, DATA, REU_ADDRESSES, REU_STATIONS, kinds, run, write

pytestmark = pytest.mark.django_db


def ban_row(ban_id, numero, rep, voie, insee, lon, lat, postcode="04000"):
    return (
        f"{ban_id};{insee}_0420;{numero};{rep};{voie};{postcode};{insee};Digne-les-Bains;;;"
        f"956000;6340000;{lon};{lat};entrée;;;DIGNE LES BAINS;{voie.upper()};commune;commune;1;"
    )


def test_ban_current_export_by_header_name(files):
    path = write(
        files,
        "adresses-04.csv",
        [
            BAN,
            ban_row("04070_0420_00012", 12, "bis", "Avenue de la République", "04070", 6.23, 44.09),
            ban_row("04070_0420_00014", 14, "", "Avenue de la République", "04070", 6.231, 44.091),
            ban_row("99999_0001_00001", 1, "", "Rue Inconnue", "99999", 1.0, 45.0),
        ],
    )
    summary, stderr = run("addresses", path)
    assert summary["rows"] == 3
    assert summary["addresses"] == 3
    assert kinds(summary) == {"commune_inconnue": 1}
    assert "commune 99999 absente" in stderr
    address = Address.objects.get(source_id="04070_0420_00012")
    assert (address.source, address.number, address.suffix) == (AddressSource.BAN, 12, "bis")
    assert (address.street, address.postal_code, address.commune_id) == (
        "Avenue de la République",
        "04000",
        "04070",
    )
    assert (address.longitude, address.latitude) == (6.23, 44.09)
    assert address.match_key == "12|b|avenue republique|04070"
    # A typed address finds it by the same key.
    assert Address.objects.filter(
        match_key=match_key(12, "B", "av. de la republique", "04070")
    ).exists()


def test_ban_2019_column_order_real_file():
    summary, _ = run("addresses", DATA / "adresses-54.csv.gz")
    assert summary["addresses"] == 712
    assert summary["anomalies"] == 0
    assert set(Address.objects.values_list("commune_id", flat=True)) == {"54084", "54295"}
    acacias = Address.objects.get(source_id="ADRNIVX_0000000265767225")
    assert (acacias.number, acacias.street, acacias.postal_code) == (
        18,
        "allée des acacias",
        "54111",
    )
    assert acacias.match_key == "18||allee acacias|54084"
    assert acacias.latitude == pytest.approx(49.3246174823707)


def test_reimport_updates_in_place_and_drops_what_the_file_dropped(files):
    first = [
        BAN,
        ban_row("04070_0420_00012", 12, "", "Avenue de la République", "04070", 6.23, 44.09),
        ban_row("04070_0420_00014", 14, "", "Avenue de la République", "04070", 6.231, 44.091),
    ]
    path = write(files, "adresses-04.csv", first)
    run("addresses", path)
    run("addresses", path)
    assert Address.objects.count() == 2
    second = [BAN, first[1].replace(";6.23;", ";6.25;")]
    path = write(files, "adresses-04.csv", second)
    summary, _ = run("addresses", path)
    assert summary["addresses_deleted"] == 1
    assert list(Address.objects.values_list("source_id", "longitude")) == [
        ("04070_0420_00012", 6.25)
    ]


def test_base_adresse_locale(files):
    path = write(
        files,
        "bal-04070.csv",
        [
            BAL,
            "a1b2;04070_0420_00003;04070;Digne-les-Bains;;;Rue de l'Hubac;;3;a;entrée;;;6.2301;44.0921;;commune;2024-01-05;1",  # noqa: E501 - a verbatim data line
        ],
    )
    summary, _ = run("addresses", path)
    assert summary["addresses"] == 1
    address = Address.objects.get()
    assert (address.source, address.source_id) == (AddressSource.BAL, "04070_0420_00003")
    assert (address.number, address.suffix, address.street) == (3, "a", "Rue de l'Hubac")
    assert address.match_key == "3|a|rue hubac|04070"


def test_reu_tables_join_addresses_to_stations(files):
    stations = write(
        files,
        "table-bv-reu.csv",
        [
            REU_STATIONS,
            "R0470001,I0470001,04070_0001,04070,1,ECOLE JEAN MACE,5,RUE DU JEU DE PAUME,04000,DIGNE LES BAINS,420,418",  # noqa: E501 - a verbatim data line
            "R0470002,I0470002,04070_2,04070,2,MAIRIE,1,PLACE DU GENERAL DE GAULLE,04000,DIGNE LES BAINS,300,301",  # noqa: E501 - a verbatim data line
        ],
    )
    addresses = write(
        files,
        "table-adresses-reu.csv",
        [
            REU_ADDRESSES,
            '04070,04070,R0470001,A1,"12 bis Rue de la Paix 04000 Digne-les-Bains",housenumber,0.97,6.2312,44.0912,"12 B RUE DE LA PAIX",9,420',  # noqa: E501 - a verbatim data line
            '04070,04070,R0470002,A2,"Place du Général de Gaulle 04000 Digne-les-Bains",street,0.81,6.2350,44.0930,"PL GAL DE GAULLE",9,300',  # noqa: E501 - a verbatim data line
            '04070,04070,R9999999,A3,"3 Rue Haute 04000 Digne-les-Bains",housenumber,0.9,6.2,44.1,"3 RUE HAUTE",9,1',  # noqa: E501 - a verbatim data line
        ],
    )
    # Addresses listed first: the command imports the stations table first anyway.
    summary, stderr = run("stations", addresses, stations)
    assert summary["stations"] == 2
    assert summary["addresses"] == 3
    assert summary["addresses_with_station"] == 2
    assert kinds(summary) == {"bureau_reu_inconnu": 1}
    assert "bureau REU R9999999 inconnu" in stderr
    mairie = PollingStation.objects.get(pk="04070_0002")
    assert (mairie.name, mairie.address_line, mairie.postal_code, mairie.reu_id) == (
        "MAIRIE",
        "1 PLACE DU GENERAL DE GAULLE",
        "04000",
        "R0470002",
    )
    assert mairie.commune_id == "04070"
    paix = Address.objects.get(source_id="A1")
    assert (paix.source, paix.station_id, paix.number, paix.suffix) == (
        "reu",
        "04070_0001",
        12,
        "bis",
    )
    assert (paix.street, paix.postal_code) == ("Rue de la Paix", "04000")
    assert paix.match_key == "12|b|rue paix|04070"
    place = Address.objects.get(source_id="A2")
    assert (place.number, place.street, place.station_id) == (
        None,
        "Place du Général de Gaulle",
        "04070_0002",
    )
    # The addresses command knows the REU addresses table too.
    again, _ = run("addresses", addresses)
    assert again["addresses"] == 3
    assert Address.objects.count() == 3


def test_official_contours():
    summary, _ = run("contours", DATA / "circo_contours.geojson.gz")
    assert summary["stations"] == 91
    assert summary["polygons"] == 91
    assert summary["anomalies"] == 0
    station = PollingStation.objects.get(pk="92002_0001")
    assert station.commune_id == "92002"
    assert station.polygon["type"] in ("Polygon", "MultiPolygon")
    assert station.min_latitude < station.latitude < station.max_latitude
    assert station.min_longitude < station.longitude < station.max_longitude


def test_contours_with_mapped_properties_and_a_missing_geometry():
    path = DATA / "Bvote_Propre_Dep_04.geojson.gz"
    with pytest.raises(CommandError) as error:
        run("contours", path)
    assert "CODE_BV, COMMUNE, DEP, INSEE_COM, nb_bv_commune" in str(error.value)
    assert not PollingStation.objects.exists()
    summary, stderr = run("contours", path, "--code-commune", "INSEE_COM", "--code-bv", "CODE_BV")
    assert summary["stations"] == 261
    assert summary["polygons"] == 260
    assert kinds(summary) == {"geometrie_absente": 1}
    assert "bureau 04116_0004 : contour sans polygone" in stderr
    brusquet = PollingStation.objects.get(pk="04036_0002")
    assert brusquet.commune_id == "04036"
    assert contains(brusquet.polygon, brusquet.longitude, brusquet.latitude)
    assert PollingStation.objects.filter(commune_id="04070").count() > 5
    # Idempotent: the same stations, the same polygons.
    run("contours", path, "--code-commune", "INSEE_COM", "--code-bv", "CODE_BV")
    assert PollingStation.objects.count() == 261
    assert PollingStation.objects.filter(polygon__isnull=False).count() == 260


def test_contours_reads_a_plain_geojson_sequence(files):
    path = files / "bv.geojsonl"
    path.write_text(
        '{"type": "Feature", "properties": {"codeCommune": "4070", "numeroBureauVote": "3"}, '
        '"geometry": {"type": "Polygon", "coordinates": [[[6.2, 44.0], [6.3, 44.0], [6.3, 44.1], [6.2, 44.0]]]}}\n'  # noqa: E501 - a verbatim data line
    )
    summary, _ = run("contours", path)
    assert summary["polygons"] == 1
    assert PollingStation.objects.get().pk == "04070_0003"


def test_not_a_geojson_is_refused(files):
    path = files / "x.geojson.gz"
    path.write_bytes(gzip.compress(b'{"type": "Topology", "objects": {}}'))
    with pytest.raises(CommandError, match="Aucun contour"):
        run("contours", path)
