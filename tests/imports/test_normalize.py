"""Normalisation: the fast paths give the libraries' answers; names, dates, communes."""

import random

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email

from campagne.imports.normalize import (
    GRANTED,
    WITHDRAWN,
    CommuneResolver,
    RowNormalizer,
    format_name,
    match_folded_places,
    parse_birth_year,
)
from campagne.lib.emails import is_plain_valid, normalize_email, suspicious_domain
from campagne.lib.fast_phones import LANDLINE, MOBILE, OTHER, Phone, parse_phone
from campagne.territory.models import Commune, PostalCode, resolve_commune
from campagne.territory.places import match_places, place_key

# --- e-mails --------------------------------------------------------------------------


def library_email(address: str) -> str | None:
    try:
        return validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


EMAIL_SHAPES = [
    "jean.dupont@gmail.com",
    "jean..dupont@gmail.com",
    ".jean@gmail.com",
    "jean.@gmail.com",
    "jean@gmail",
    "jean@gmail.c",
    "jean@-gmail.com",
    "jean@gmail-.com",
    "jean@gm--ail.com",
    "jean@xn--bcher-kva.ch",
    "jean@exa_mple.com",
    "jean@example.test",
    "jean@mail.localhost",
    "jean@example.123",
    "jean+tag@example.org",
    "j'ean@example.org",
    "jean@@example.org",
    "jean dupont@example.org",
    "a" * 64 + "@example.org",
    "a" * 65 + "@example.org",
    "jean@" + "a" * 63 + ".org",
    "jean@" + "a" * 64 + ".org",
    "jean@" + ".".join(["abcdefghij"] * 24) + ".org",
    "élodie@example.org",
    "jean@exemple.fr.",
    "{jean}@example.org",
]


@pytest.mark.parametrize("address", EMAIL_SHAPES)
def test_the_fast_path_never_accepts_what_email_validator_refuses(address):
    expected = library_email(address)
    if is_plain_valid(address):
        assert expected == address
    result = normalize_email(address)
    assert (result.address or None) == expected


def test_fast_path_and_library_agree_on_random_addresses():
    rng = random.Random(7)
    alphabet = "abcz09.-_+@'"
    for _ in range(3000):
        address = "".join(rng.choice(alphabet) for _ in range(rng.randint(3, 20))) + rng.choice(
            ["@example.org", ".fr", "@a.b", "@xn--x.fr", "@ex-ample.com", ""]
        )
        if is_plain_valid(address):
            assert library_email(address) == address, address


@pytest.mark.parametrize(
    ("domain", "suggestion"),
    [
        ("gmial.com", "gmail.com"),
        ("hotmial.fr", "hotmail.fr"),
        ("wanadoo.fe", "wanadoo.fr"),
        ("gmail.co", "gmail.com"),
        ("orange.fr", ""),
        ("ymail.com", ""),
        ("example.org", ""),
    ],
)
def test_domain_typos_are_flagged(domain, suggestion):
    assert suspicious_domain(domain) == suggestion


def test_a_mistyped_domain_is_imported_as_written_with_a_warning():
    normalizer = RowNormalizer(["email"])
    row = normalizer(2, [" Jean.Dupont@GMIAL.com "])
    assert row.emails == ["jean.dupont@gmial.com"]
    assert row.errors == []
    assert row.warnings == ["domaine d'e-mail suspect : gmial.com (gmail.com ?)"]


@pytest.mark.parametrize(
    ("cell", "emails"),
    [
        ("Jean Dupont <Jean@Example.org>", ["jean@example.org"]),
        ("mailto:jean@example.org", ["jean@example.org"]),
        ("a@example.org; b@example.org", ["a@example.org", "b@example.org"]),
        ("a@example.org, A@example.org", ["a@example.org"]),
    ],
)
def test_cells_with_names_or_several_addresses(cell, emails):
    assert RowNormalizer(["email"])(2, [cell]).emails == emails


# --- phones ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("06 12 34 56 78", Phone("+33612345678", MOBILE)),
        ("0612345678", Phone("+33612345678", MOBILE)),
        ("+33 6 12 34 56 78", Phone("+33612345678", MOBILE)),
        ("+33 (0)6 12 34 56 78", Phone("+33612345678", MOBILE)),
        ("0033 6 12 34 56 78", Phone("+33612345678", MOBILE)),
        ("6 12 34 56 78", Phone("+33612345678", MOBILE)),
        ("612345678", Phone("+33612345678", MOBILE)),
        ("612345678.0", Phone("+33612345678", MOBILE)),
        ("06.12.34.56.78", Phone("+33612345678", MOBILE)),
        ("06-12-34-56-78", Phone("+33612345678", MOBILE)),
        ("07 81 23 45 67", Phone("+33781234567", MOBILE)),
        ("04 92 31 00 00", Phone("+33492310000", LANDLINE)),
        ("09 51 23 45 67", Phone("+33951234567", OTHER)),
        ("0690 12 34 56", Phone("+590690123456", MOBILE)),
        ("+44 20 7946 0958", Phone("+442079460958", LANDLINE)),
        ("06 12 34", Phone()),
        ("not a phone", Phone()),
        ("0639123456", Phone()),
    ],
)
def test_phone_shapes(text, phone):
    assert parse_phone(text) == phone


def test_the_fast_path_agrees_with_phonenumbers_on_random_french_numbers():
    rng = random.Random(11)
    for _ in range(5000):
        national = str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(8))
        number = phonenumbers.parse("0" + national, "FR")
        expected = ""
        if phonenumbers.is_valid_number(number):
            expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        found = parse_phone(rng.choice(["0", "+33 ", "0033", ""]) + national)
        # A number France does not know may be an overseas one written the French way.
        overseas = found.e164.startswith(("+590", "+594", "+596", "+262", "+269", "+508"))
        assert found.e164 == expected or (not expected and overseas), national
        if expected:
            kind = phonenumbers.number_type(number)
            if kind == phonenumbers.PhoneNumberType.MOBILE:
                assert found.kind == MOBILE
            elif kind == phonenumbers.PhoneNumberType.FIXED_LINE:
                assert found.kind == LANDLINE


def test_a_mobile_becomes_the_primary_phone():
    row = RowNormalizer(["phone", "phone"])(2, ["04 92 31 00 00", "06 12 34 56 78"])
    assert [phone.e164 for phone in row.phones] == ["+33612345678", "+33492310000"]


# --- names and dates ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("JEAN-PIERRE", "Jean-Pierre"),
        ("jean-pierre", "Jean-Pierre"),
        ("  MARIE   CLAIRE ", "Marie Claire"),
        ("DE GAULLE", "de Gaulle"),
        ("DE LA FONTAINE", "de La Fontaine"),
        ("D'ARTAGNAN", "d'Artagnan"),
        ("d’ornano", "d'Ornano"),
        ("O'NEIL", "O'Neil"),
        ("DU BELLAY", "du Bellay"),
        ("McDonald", "McDonald"),
        ("van der Berg", "van der Berg"),
        ("De", "De"),
    ],
)
def test_names(raw, name):
    assert format_name(raw) == name


@pytest.mark.parametrize(
    ("raw", "year"),
    [
        ("12/03/1975", (1975, True)),
        ("12-03-75", (1975, True)),
        ("12.03.1975", (1975, True)),
        ("1975-03-12", (1975, True)),
        ("1975-03-12 00:00:00", (1975, True)),
        ("1975", (1975, True)),
        ("12 mars 1975", (1975, True)),
        ("27465", (1975, True)),
        ("01/01/05", (2005, True)),
        ("", (None, True)),
        ("32/13/1975", (None, False)),
        ("1850", (None, False)),
        ("demain", (None, False)),
    ],
)
def test_birth_years_from_french_dates(raw, year):
    assert parse_birth_year(raw, 2026) == year


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("oui", GRANTED),
        ("X", GRANTED),
        ("1", GRANTED),
        ("non", None),
        ("", None),
        ("désinscrit", WITHDRAWN),
        ("STOP", WITHDRAWN),
    ],
)
def test_consent_columns(cell, expected):
    row = RowNormalizer(["email", "consent_email"])(2, ["a@example.org", cell])
    assert row.consents.get("email") == expected


def test_a_statement_grants_consent_to_every_row():
    row = RowNormalizer(["email"], statements=["email"])(2, ["a@example.org"])
    assert row.consents == {"email": GRANTED}


# --- communes -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def resolver(django_db_setup, django_db_blocker):
    """One resolver for the module: France's postcodes are read once (they never change)."""
    with django_db_blocker.unblock():
        found = CommuneResolver()
        found._load()
    return found


@pytest.mark.parametrize(
    ("postcode", "town"),
    [
        ("04000", "Digne-les-Bains"),
        ("4000", "DIGNE LES BAINS"),
        ("04000", ""),
        ("04000", "Gap"),
        ("04200", "ST GENIEZ"),
        ("04200", "Sisterron"),
        ("04200", "Châteauneuf"),
        ("04001", "DIGNE LES BAINS CEDEX"),
        ("05001", "DIGNE LES BAINS CEDEX"),
        ("", "Digne-les-Bains"),
        ("", "Saint-Martin"),
        ("75011", "PARIS"),
        ("13001", "Marseille"),
        ("04100", ""),
        ("99999", "Nulle part"),
    ],
)
def test_the_resolver_answers_as_resolve_commune(db, resolver, postcode, town):
    expected = resolve_commune(postcode, town)
    code, problem = resolver.resolve(postcode, town)
    assert code == (expected.code if expected else None)
    assert bool(problem) == (expected is None)


def test_folded_matching_agrees_with_match_places_on_a_whole_departement(db, resolver):
    postcodes = sorted(
        set(PostalCode.objects.filter(code__startswith="04").values_list("code", flat=True))
    )
    names = list(
        Commune.objects.filter(departement_id__in=["04", "05"]).values_list("name", flat=True)
    )
    rng = random.Random(3)
    for postcode in postcodes:
        served = {}
        for commune, name, search_names in PostalCode.objects.filter(code=postcode).values_list(
            "commune_id", "commune__name", "search_names"
        ):
            served[commune] = {name, *search_names.split("|")}
        for town in rng.sample(names, 5) + [n.upper() for n in served]:
            key = place_key(town)
            assert match_folded_places(key, resolver._folded_names(postcode)) == match_places(
                town, served
            ), (postcode, town)


def test_rows_get_their_commune_or_a_reason(db):
    normalizer = RowNormalizer(["email", "postal_code", "town", "insee"])
    assert normalizer(2, ["a@example.org", "4000", "Digne", ""]).commune == "04070"
    assert normalizer(2, ["a@example.org", "", "", "4070"]).commune == "04070"
    assert normalizer(2, ["a@example.org", "04000", "", ""]).errors == [
        "commune ambiguë (précisez la ville)"
    ]
    assert normalizer(2, ["a@example.org", "04000", "Gap", ""]).errors == ["commune inconnue"]
    assert normalizer(2, ["a@example.org", "4 0 0", "", ""]).errors == ["code postal invalide"]
    assert normalizer(2, ["a@example.org", "", "", "99999"]).errors == ["code INSEE inconnu"]


def test_a_row_with_nothing_to_reach_the_person_by_is_rejected():
    normalizer = RowNormalizer(["first_name", "email", "phone", "address_line"])
    assert normalizer(2, ["Jean", "", "", ""]).errors == ["aucun moyen de contact"]
    assert normalizer(2, ["Jean", "jean@@x", "", ""]).errors == ["e-mail invalide"]
    assert normalizer(2, ["Jean", "", "06 12", ""]).errors == ["téléphone invalide"]
