"""Postcode → commune: several communes share a postcode; the town name decides."""

import pytest

from campagne.territory.models import Commune, resolve_commune


def codes(communes) -> set[str]:
    return {commune.code for commune in communes}


def test_a_postcode_returns_every_commune_it_serves(db):
    assert codes(Commune.objects.for_postcode("04000")) == {"04070", "04074", "04097", "04167"}
    assert Commune.objects.for_postcode("04200").count() == 19


def test_a_postcode_that_lost_its_leading_zero(db):
    assert codes(Commune.objects.for_postcode("4000")) == {"04070", "04074", "04097", "04167"}
    assert resolve_commune("4000", "Digne-les-Bains").code == "04070"


def test_unknown_or_malformed_postcodes_serve_nothing(db):
    assert not Commune.objects.for_postcode("00000").exists()
    assert not Commune.objects.for_postcode("abcde").exists()
    assert not Commune.objects.for_postcode("").exists()


@pytest.mark.parametrize(
    ("postcode", "town", "code"),
    [
        ("04000", "Digne-les-Bains", "04070"),
        ("04000", "DIGNE LES BAINS", "04070"),
        ("04000", "digne", "04070"),
        ("04000", "Digne les Bains Cedex", "04070"),
        ("04000", "La Javie", "04097"),
        ("04200", "ST GENIEZ", "04179"),
        ("04200", "Saint Geniez", "04179"),
        ("04200", "CHATEAUNEUF VAL ST DONAT", "04053"),
        ("04200", "Sisterron", "04209"),  # a typo
        ("04200", "Vilhosc", "04075"),  # a place of Entrepierres (La Poste's ligne 5)
        ("02200", "Berzy-le-Sec", "02564"),  # merged into Bernoy-le-Château in 2023
        ("12320", "Saint-Cyprien-sur-Dourdou", "12218"),  # within Conques-en-Rouergue
        ("85140", "L'Oie", "85165"),  # restored out of Essarts-en-Bocage in 2024
        ("85140", "Essarts-en-Bocage", "85084"),
        ("75011", "PARIS", "75111"),
        ("13001", "Marseille", "13201"),
    ],
)
def test_resolve_by_postcode_and_town(db, postcode, town, code):
    assert resolve_commune(postcode, town).code == code


def test_for_postcode_narrows_by_town(db):
    assert codes(Commune.objects.for_postcode("04200", "Châteauneuf")) == {"04051", "04053"}
    assert codes(Commune.objects.for_postcode("04200", "Sisteron")) == {"04209"}
    assert not Commune.objects.for_postcode("04200", "Manosque").exists()


def test_resolve_gives_none_when_unclear(db):
    assert resolve_commune("04000", None) is None  # four communes
    assert resolve_commune("04200", "Châteauneuf") is None  # two of them
    assert resolve_commune("04000", "Gap") is None  # the town contradicts the postcode
    assert resolve_commune("", "Saint-Martin") is None  # dozens in France
    assert resolve_commune("", "") is None


def test_resolve_a_single_commune_postcode_without_town(db):
    assert resolve_commune("04100", "").code == "04112"  # Manosque


def test_cedex_postcode_falls_back_to_the_town_in_its_departement(db):
    # 04001 is a CEDEX code: La Poste's file of distribution postcodes does not hold it.
    assert resolve_commune("04001", "DIGNE LES BAINS CEDEX").code == "04070"
    assert resolve_commune("05001", "DIGNE LES BAINS CEDEX") is None


def test_without_postcode_a_name_unique_in_france_resolves(db):
    assert resolve_commune(None, "Digne-les-Bains").code == "04070"


def test_for_postcode_keeps_the_queryset_filters(db):
    in_04 = Commune.objects.filter(departement_id="04")
    assert codes(in_04.for_postcode("04000", "Digne")) == {"04070"}
    assert not Commune.objects.filter(departement_id="05").for_postcode("04000").exists()
    assert in_04.filter(code="04097").resolve("04000", "Digne") is None


def test_for_postcode_query_count(db, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert len(Commune.objects.for_postcode("04200")) == 19
    # With a town: the postcode's names, then the communes.
    with django_assert_num_queries(2):
        assert len(Commune.objects.for_postcode("04200", "Sisteron")) == 1


def test_search_by_name_word_code_and_postcode(db):
    assert "04070" in codes(Commune.objects.search("digne"))
    assert "04070" in codes(Commune.objects.search("les bains"))
    assert "04070" in codes(Commune.objects.search("0407"))
    assert "04070" in codes(Commune.objects.search("04000"))
    assert "04179" in codes(Commune.objects.search("st geniez"))
    assert not Commune.objects.search("   ").exists()
