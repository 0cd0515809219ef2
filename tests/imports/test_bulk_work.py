"""The work the reader process prepares for the writing one, and the grouped inserts."""

import pytest
from django.db import IntegrityError, connection, transaction

from campagne.imports import sql
from campagne.imports.chunk import NEW_FIELDS
from campagne.imports.normalize import Chunk, RowNormalizer
from campagne.imports.prefetch import _normalised
from campagne.imports.readers import open_table
from campagne.people.models import Consent, Person, Tag
from tests.factories import PersonFactory
from tests.imports.conftest import HEADER, import_file

FIELDS = ["first_name", "last_name", "email", "phone", "postal_code", "town"]


def test_a_row_carries_its_keys_and_the_new_persons_columns(db):
    normalizer = RowNormalizer(FIELDS)
    row = normalizer(
        2, ["JEAN-PIERRE", "DE LA FONTAINE", " JP@Example.org ", "06 12 34 56 78", "", ""]
    )

    assert (row.first_key, row.last_key) == ("jean pierre", "de la fontaine")
    assert row.likely is None  # No commune: no likely-duplicate search.
    assert dict(zip(NEW_FIELDS, row.person, strict=True)) == {
        "civility": "",
        "first_name": "Jean-Pierre",
        "last_name": "de La Fontaine",
        "search_name": "de la fontaine jean pierre",
        "search_name_rev": "jean pierre de la fontaine",
        "email": "jp@example.org",
        "phone": "+33612345678",
        "address_line": "",
        "address_extra": "",
        "postal_code": "",
        "commune": None,
        "birth_year": None,
        "status": "contact",
    }
    rejected = normalizer(3, ["Jean", "Dupont", "jean@", "", "", ""])
    assert rejected.errors and rejected.person is None and rejected.likely is None


def test_a_chunk_lists_what_its_valid_rows_look_up_distinct_and_sorted(db):
    normalizer = RowNormalizer(FIELDS)
    rows = [
        normalizer(2, ["Léa", "Martin", "zoe@example.org", "0612345678", "", ""]),
        normalizer(3, ["Léa", "Martin", "ZOE@example.org", "+33 6 12 34 56 78", "", ""]),
        normalizer(4, ["Paul", "Durand", "abel@example.org", "", "", ""]),
        normalizer(5, ["Rémi", "Faux", "faux@", "0699999999", "", ""]),
    ]
    rows[0].likely = ("04070", "martin l")
    rows[2].likely = ("04070", "durand p")

    chunk = Chunk(rows)

    assert list(chunk) == rows
    assert chunk.emails == ["abel@example.org", "zoe@example.org"]
    assert chunk.phones == ["+33612345678"]  # Not the rejected row's phone.
    assert chunk.likely == [("04070", "durand p"), ("04070", "martin l")]


def test_a_large_chunk_size_starts_with_a_smaller_chunk(db, write_csv):
    path = write_csv([[f"P{n}", f"N{n}", f"p{n}@example.org", "", "", ""] for n in range(25_000)])
    table = open_table(path)

    chunks = list(_normalised(table, 0, 10_000, RowNormalizer(FIELDS)))

    assert [len(chunk) for chunk in chunks] == [2_000, 10_000, 10_000, 3_000]
    assert chunks[1][0].line == 2_002 and chunks[-1][-1].line == 25_001


def test_insert_for_ids_makes_one_row_per_id_and_may_ignore_conflicts(db):
    people = PersonFactory.create_batch(3)
    ids = [person.pk for person in people]
    tag = Tag.objects.create(name="tractage")
    people[0].tags.add(tag)
    at = Person.objects.values_list("created_at", flat=True).first()

    sql.insert_for_ids(
        Person.tags.through, ("person", "tag"), ids, (tag.pk,), ignore_conflicts=True
    )
    sql.insert_for_ids(
        Consent,
        ("person", "channel", "granted", "at", "source", "proof"),
        ids[1:],
        ("email", True, at, "Import n° 1", "Colonne « Accepte »"),
    )

    assert sorted(tag.people.values_list("pk", flat=True)) == sorted(ids)
    assert sorted(
        Consent.objects.values_list("person_id", "channel", "granted", "source", "proof")
    ) == [(pk, "email", True, "Import n° 1", "Colonne « Accepte »") for pk in sorted(ids[1:])]
    with pytest.raises(IntegrityError), transaction.atomic():
        sql.insert_for_ids(Person.tags.through, ("person", "tag"), ids[:1], (tag.pk,))


def test_tags_and_consents_written_in_groups_land_on_the_right_people(db, hq_admin, write_csv):
    header = [*HEADER, "Étiquettes", "Accepte les e-mails"]
    rows = [
        ["Ana", "Roux", "ana@example.org", "", "", "", "tractage, réunion", "oui"],
        ["Bob", "Roux", "bob@example.org", "", "", "", "Tractage", ""],
        ["Cid", "Roux", "cid@example.org", "", "", "", "", "non"],
        ["ANA", "ROUX", "ANA@example.org", "", "", "", "réunion", "oui"],
    ]
    batch = import_file(
        hq_admin,
        write_csv(rows, header=header),
        fields=[*FIELDS, "tags", "consent_email"],
        tags=["Printemps"],
    )

    assert (batch.created, batch.merged, batch.rejected) == (3, 1, 0)
    tags = {
        person.email: sorted(tag.name for tag in person.tags.all())
        for person in Person.objects.prefetch_related("tags")
    }
    assert tags == {
        "ana@example.org": ["Printemps", "réunion", "tractage"],
        "bob@example.org": ["Printemps", "tractage"],
        "cid@example.org": ["Printemps"],
    }
    assert list(Consent.objects.values_list("person__email", "channel", "granted")) == [
        ("ana@example.org", "email", True)
    ]
    created = {
        person.email: person.events.get(kind="imported").data for person in Person.objects.all()
    }
    assert created["ana@example.org"] == {
        "batch": batch.pk,
        "origin": "Pétition tests",
        "consents": {"email": True},
    }
    assert created["bob@example.org"] == {"batch": batch.pk, "origin": "Pétition tests"}


def test_people_have_no_index_a_composite_one_already_starts_with(db):
    """0003_drop_redundant_indexes: each index costs every person an import writes."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "people_person")
    indexed = [
        info["columns"]
        for info in constraints.values()
        if info["index"] and not info["primary_key"] and not info["unique"]
    ]

    assert ["commune_id"] not in indexed and ["status"] not in indexed
    assert ["commune_id", "search_name"] in indexed and ["commune_id", "status"] in indexed
    assert ["status", "search_name"] in indexed
    assert ["email"] in indexed and ["phone"] in indexed
