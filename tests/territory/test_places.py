"""Postcodes and town names as people write them (pure functions, no database)."""

import pytest

from campagne.territory.places import (
    departements_for_postcode,
    match_places,
    normalize_postcode,
    place_key,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("04000", "04000"),
        ("4000", "04000"),  # read as a number by a spreadsheet
        (4000, "04000"),
        ("4000.0", "04000"),
        (" 04 000 ", "04000"),
        ("75011", "75011"),
        ("", None),
        (None, None),
        ("400", None),
        ("040000", None),
        ("O4000", None),
        ("０４０００", None),  # full-width digits are not a postcode
    ],
)
def test_normalize_postcode(raw, expected):
    assert normalize_postcode(raw) == expected


def test_departements_for_postcode():
    assert departements_for_postcode("04000") == ["04"]
    assert departements_for_postcode("20000") == ["2A", "2B"]
    assert departements_for_postcode("97400") == ["974"]
    assert departements_for_postcode("98000") == []


@pytest.mark.parametrize(
    ("town", "key"),
    [
        ("Digne-les-Bains", "digne les bains"),
        ("DIGNE LES BAINS CEDEX", "digne les bains"),
        ("Saint-Étienne cedex 2", "saint etienne"),
        ("ST ETIENNE", "saint etienne"),
        ("Ste-Tulle", "sainte tulle"),
        ("L'Oie", "l oie"),
        ("Stenay", "stenay"),  # only whole words are abbreviations
        ("", ""),
    ],
)
def test_place_key(town, key):
    assert place_key(town) == key


CANDIDATES = {
    "04053": ["Châteauneuf-Val-Saint-Donat", "chateauneuf val st donat"],
    "04051": ["Châteauneuf-Miravail", "chateauneuf miravail"],
    "04075": ["Entrepierres", "entrepierres", "st symphorien", "vilhosc"],
    "04209": ["Sisteron", "sisteron"],
}


@pytest.mark.parametrize(
    ("town", "codes"),
    [
        ("Sisteron", ["04209"]),
        ("SISTERON CEDEX", ["04209"]),
        ("Sisterron", ["04209"]),  # a typo
        ("CHATEAUNEUF VAL ST DONAT", ["04053"]),
        ("Châteauneuf-Val-Saint-Donat", ["04053"]),
        ("chateauneufvalsaintdonat", ["04053"]),
        ("Châteauneuf", ["04053", "04051"]),  # the start of two names
        ("Saint-Symphorien", ["04075"]),  # a place of La Poste's ligne 5
        ("Marseille", []),
    ],
)
def test_match_places(town, codes):
    assert match_places(town, CANDIDATES) == codes


def test_exact_name_wins_over_prefix_and_typo():
    candidates = {"1": ["Gap"], "2": ["Gapençais"], "3": ["Gax"]}
    assert match_places("GAP", candidates) == ["1"]


def test_no_town_keeps_every_candidate():
    assert match_places("  ", CANDIDATES) == list(CANDIDATES)
