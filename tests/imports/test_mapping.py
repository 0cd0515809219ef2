"""Columns mapped from their French and English names, or from what they hold."""

import json

import pytest

from campagne.imports.mapping import (
    MappingError,
    guess_field,
    guess_mapping,
    load_mapping_file,
    validate_fields,
)


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Prénom", "first_name"),
        ("PRENOM", "first_name"),
        ("first name", "first_name"),
        ("First_Name", "first_name"),
        ("Nom", "last_name"),
        ("Nom de famille", "last_name"),
        ("NOM D'USAGE", "last_name"),
        ("last name", "last_name"),
        ("Surname", "last_name"),
        ("Courriel", "email"),
        ("E-mail", "email"),
        ("e-mail", "email"),
        ("Mail", "email"),
        ("Adresse électronique", "email"),
        ("Adresse mail perso", "email"),
        ("Email address", "email"),
        ("Téléphone", "phone"),
        ("Tél.", "phone"),
        ("Tél. portable", "phone"),
        ("Portable", "phone"),
        ("Mobile", "phone"),
        ("Phone number", "phone"),
        ("Adresse", "address_line"),
        ("Rue", "address_line"),
        ("Adresse postale", "address_line"),
        ("Complément d'adresse", "address_extra"),
        ("Code postal", "postal_code"),
        ("CP", "postal_code"),
        ("Zip code", "postal_code"),
        ("Ville", "town"),
        ("Commune", "town"),
        ("City", "town"),
        ("Code INSEE", "insee"),
        ("Date de naissance", "birth"),
        ("Année", "birth"),
        ("Année de naissance", "birth"),
        ("Date of birth", "birth"),
        ("Civilité", "civility"),
        ("Tags", "tags"),
        ("Étiquettes", "tags"),
        ("Statut", "status"),
        ("Accepte les e-mails", "consent_email"),
        ("Consentement SMS", "consent_sms"),
        ("Opt-in email", "consent_email"),
        ("Newsletter", "consent_email"),
        ("Consentement téléphone", "consent_phone"),
        ("Notes", ""),
        ("", ""),
    ],
)
def test_headers_in_french_and_english(header, field):
    assert guess_field(header) == field


def test_a_nameless_column_is_guessed_from_its_values():
    headers = ["Nom", "Colonne 2", "Colonne 3", "Colonne 4"]
    sample = [
        ["Martin", "m@example.org", "06 12 34 56 78", "04000"],
        ["Durand", "d@example.org", "0611223344", "05000"],
        ["Petit", "p@example.org", "+33 6 12 12 12 12", "4000"],
    ]
    assert guess_mapping(headers, sample) == ["last_name", "email", "phone", "postal_code"]


def test_several_phone_and_email_columns_are_kept_but_a_second_name_is_not():
    headers = ["Nom", "Nom", "Mobile", "Téléphone fixe", "Adresse", "Adresse 2"]
    assert guess_mapping(headers) == [
        "last_name",
        "",
        "phone",
        "phone",
        "address_line",
        "address_extra",
    ]


def test_a_mapping_file_overrides_the_guess(tmp_path):
    path = tmp_path / "mapping.json"
    path.write_text(
        json.dumps(
            {
                "columns": {"Colonne 3": "email", "ville": ""},
                "consents": {"email": {"mode": "statement", "proof": "case cochée"}},
                "overwrite": True,
                "tags": ["pétition"],
            }
        )
    )
    headers = ["Nom", "Ville", "Colonne 3"]
    options = load_mapping_file(path, headers, guess_mapping(headers))
    assert options.fields == ["last_name", "", "email"]
    assert options.consents == {"email": {"mode": "statement", "proof": "case cochée"}}
    assert (options.overwrite, options.tags) == (True, ["pétition"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "illisible"),
        ('{"columns": {"Absente": "email"}}', "absente"),
        ('{"columns": {"Nom": "shoe_size"}}', "inconnus"),
        ('{"columns": {"Nom": "email", "Ville": "last_name"}}', None),
        ('{"columns": {"Nom": "first_name", "Ville": "first_name", "Courriel": "email"}}', "seule"),
        ('{"columns": {"Courriel": ""}}', "joindre"),
        ('{"consents": {"pigeon": {}}}', "consentement"),
    ],
)
def test_bad_mapping_files_say_why(tmp_path, content, message):
    path = tmp_path / "mapping.json"
    path.write_text(content)
    headers = ["Nom", "Ville", "Courriel"]
    if message is None:
        assert load_mapping_file(path, headers, guess_mapping(headers)).fields == [
            "email",
            "last_name",
            "email",
        ]
        return
    with pytest.raises(MappingError, match=message):
        load_mapping_file(path, headers, guess_mapping(headers))


def test_a_mapping_without_any_way_to_reach_people_is_refused():
    with pytest.raises(MappingError):
        validate_fields(["first_name", "last_name", "town"])
    validate_fields(["first_name", "address_line", "town"])
