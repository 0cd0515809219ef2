"""The import pipeline: outcomes, rules for existing people, consents, scope, idempotency."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campagne.accounts.scopes import scope_for
from campagne.imports import actions
from campagne.imports.models import DuplicateCandidate, ImportBatch, ImportRejectedRow
from campagne.people import actions as people_actions
from campagne.people.models import (
    Channel,
    Consent,
    EventKind,
    Person,
    PersonEmail,
    PersonPhone,
    Suppression,
    Tag,
    TimelineEvent,
)
from tests.factories import PersonFactory, commune
from tests.imports.conftest import assert_balanced, import_file

FULL = [
    "Civilité",
    "Prénom",
    "Nom",
    "Courriel",
    "Tél",
    "CP",
    "Ville",
    "Date de naissance",
    "Étiquettes",
    "Accepte les e-mails",
]


@pytest.fixture
def jeanne(db):
    """An existing person of Digne with an address, born 1975."""
    return PersonFactory(
        first_name="Jeanne",
        last_name="Martin",
        email="jeanne.martin@example.org",
        phone="+33611111111",
        postal_code="04000",
        commune=commune("04070"),
        birth_year=1975,
    )


def people_state() -> list[dict]:
    rows = list(Person.objects.order_by("pk").values())
    for row in rows:
        row.pop("updated_at")
    return rows


def db_state() -> dict:
    return {
        "people": people_state(),
        "events": list(TimelineEvent.objects.order_by("pk").values_list("pk", "person_id", "kind")),
        "consents": list(Consent.objects.order_by("pk").values()),
        "tags": sorted(Person.tags.through.objects.values_list("person_id", "tag_id")),
        "emails": list(PersonEmail.objects.order_by("pk").values()),
        "phones": list(PersonPhone.objects.order_by("pk").values()),
        "candidates": list(DuplicateCandidate.objects.order_by("pk").values_list("pk", flat=True)),
    }


def test_every_row_is_accounted_for(hq_admin, write_csv):
    path = write_csv(
        [
            [
                "M.",
                "JEAN-PIERRE",
                "DE LA FONTAINE",
                "JP@Example.org",
                "06 12 34 56 78",
                "4000",
                "DIGNE LES BAINS",
                "12/03/1975",
                "tractage, porte-à-porte",
                "oui",
            ],
            [
                "Mme",
                "Léa",
                "Durand",
                "lea@example.org",
                "0033 4 92 31 00 00",
                "05000",
                "Gap",
                "1980",
                "",
                "non",
            ],
            [
                "",
                "Jean-Pierre",
                "de La Fontaine",
                "jp@example.org",
                "6 12 34 56 78",
                "04000",
                "Digne",
                "",
                "réunion",
                "",
            ],
            ["", "Paul", "Petit", "paul@@example.org", "", "04000", "Digne", "", "", ""],
            ["", "Zoé", "Roux", "zoe@example.org", "", "04000", "Nulle-part", "", "", ""],
            ["", "Rien", "Dutout", "", "", "", "", "", "", ""],
        ],
        header=FULL,
    )
    batch = import_file(hq_admin, path)

    assert batch.counts == {
        "rows": 6,
        "created": 2,
        "updated": 0,
        "merged": 1,
        "review": 0,
        "rejected": 3,
    }
    assert_balanced(batch)
    assert batch.status == ImportBatch.Status.DONE
    jp = Person.objects.get(email="jp@example.org")
    assert (jp.civility, jp.first_name, jp.last_name) == ("m", "Jean-Pierre", "de La Fontaine")
    assert (jp.phone, jp.postal_code, jp.commune_id, jp.birth_year) == (
        "+33612345678",
        "04000",
        "04070",
        1975,
    )
    assert jp.origin == "Pétition tests"
    assert sorted(jp.tags.values_list("name", flat=True)) == [
        "porte-à-porte",
        "réunion",
        "tractage",
    ]
    assert jp.consents.get().granted is True
    lea = Person.objects.get(email="lea@example.org")
    assert (lea.phone, lea.commune_id, lea.civility) == ("+33492310000", "05061", "mme")
    assert not lea.consents.exists()
    rejected = list(ImportRejectedRow.objects.filter(batch=batch).values_list("line", "reasons"))
    assert rejected == [
        (5, ["e-mail invalide"]),
        (6, ["commune inconnue"]),
        (7, ["aucun moyen de contact"]),
    ]
    assert ImportRejectedRow.objects.get(batch=batch, line=5).cells[3] == "paul@@example.org"


def test_created_and_updated_people_get_one_imported_event(hq_admin, jeanne, write_csv):
    path = write_csv(
        [
            ["Jeanne", "Martin", "jeanne.martin@example.org", "", "", ""],
            ["Marc", "Blanc", "marc@example.org", "", "", ""],
        ]
    )
    path2 = write_csv([["Jeanne", "Martin", "jeanne.martin@example.org", "0492310000", "", ""]])
    batch = import_file(hq_admin, path)
    assert batch.counts["updated"] == 1
    # Jeanne matched but nothing changed: no event for her.
    assert not jeanne.events.filter(kind=EventKind.IMPORTED).exists()
    marc = Person.objects.get(email="marc@example.org")
    assert list(marc.events.values_list("kind", "data")) == [
        (EventKind.IMPORTED, {"batch": batch.pk, "origin": "Pétition tests"})
    ]
    second = import_file(hq_admin, path2)
    event = jeanne.events.get(kind=EventKind.IMPORTED)
    assert event.data == {
        "batch": second.pk,
        "origin": "Pétition tests",
        "added": {"phones": ["+33492310000"]},
    }
    assert event.actor == hq_admin


def test_timeline_and_people_are_written_in_bulk(hq_admin, write_csv):
    """The number of queries does not grow with the number of rows of a chunk."""

    def queries_for(count: int, start: int) -> int:
        rows = [
            [f"Prénom{n}", f"Nom{n}", f"p{n}@example.org", "", "04000", "Digne"]
            for n in range(start, start + count)
        ]
        path = write_csv(rows)
        with CaptureQueriesContext(connection) as captured:
            batch = import_file(hq_admin, path)
        assert batch.created == count
        return len(captured)

    # (Above 100 rows PostgreSQL copies them in, which the query log does not see.)
    assert queries_for(400, 0) == queries_for(150, 1000)
    assert TimelineEvent.objects.filter(kind=EventKind.IMPORTED).count() == 550


def test_importing_the_same_file_twice_changes_nothing(hq_admin, jeanne, write_csv):
    rows = [
        ["Jeanne", "Martin", "jeanne.martin@example.org", "04 92 00 00 00", "04000", "Digne"],
        ["Marc", "Blanc", "marc@example.org", "06 22 22 22 22", "05000", "Gap"],
        ["MARC", "BLANC", "MARC@example.org", "", "05000", "Gap"],
        ["Lucie", "Roux", "lucie@example.org", "06 12 12 12 12", "05000", "Gap"],
        ["Luc", "Roux", "", "06 12 12 12 12", "05000", "Gap"],
        ["Bad", "Row", "bad@", "", "", ""],
    ]
    first = import_file(hq_admin, write_csv(rows), tags=["pétition"])
    assert first.counts == {
        "rows": 6,
        "created": 2,
        "updated": 1,
        "merged": 1,
        "review": 1,
        "rejected": 1,
    }
    before = db_state()

    second = import_file(hq_admin, write_csv(rows), tags=["pétition"])

    assert second.counts == {
        "rows": 6,
        "created": 0,
        "updated": 4,
        "merged": 1,
        "review": 0,
        "rejected": 1,
    }
    assert_balanced(second)
    assert db_state() == before


def test_existing_values_are_kept_and_empty_ones_filled(hq_admin, write_csv):
    person = PersonFactory(
        first_name="Jeanne",
        last_name="Martin",
        email="jm@example.org",
        phone="",
        postal_code="",
        commune=None,
        birth_year=None,
        status="sympathisant",
    )
    path = write_csv(
        [
            [
                "JEANNE",
                "MARTIN-DURAND",
                "jm@example.org",
                "0611223344",
                "04000",
                "Digne",
                "1975",
                "contact",
            ]
        ],
        header=["Prénom", "Nom", "Courriel", "Tél", "CP", "Ville", "Année", "Statut"],
    )
    import_file(hq_admin, path)
    person.refresh_from_db()
    assert (person.first_name, person.last_name) == ("Jeanne", "Martin")  # kept
    assert (person.phone, person.commune_id, person.birth_year) == ("+33611223344", "04070", 1975)
    assert person.status == "sympathisant"  # never goes down the ladder
    event = person.events.get(kind=EventKind.IMPORTED)
    assert event.data["changes"] == {
        "phone": ["", "+33611223344"],
        "postal_code": ["", "04000"],
        "commune": [None, "04070"],
        "birth_year": [None, 1975],
    }


def test_overwrite_replaces_existing_values(hq_admin, jeanne, write_csv):
    path = write_csv([["Jeanne", "Martin-Durand", "jeanne.martin@example.org", "", "05000", "Gap"]])
    import_file(hq_admin, path, overwrite=True)
    jeanne.refresh_from_db()
    assert (jeanne.last_name, jeanne.commune_id, jeanne.postal_code) == (
        "Martin-Durand",
        "05061",
        "05000",
    )
    assert jeanne.search_name == "martin durand jeanne"


def test_other_emails_and_phones_match_and_are_added(hq_admin, jeanne, write_csv):
    PersonEmail.objects.create(person=jeanne, address="jeanne@work.example.org")
    path = write_csv([["Jeanne", "Martin", "jeanne@work.example.org", "04 92 31 00 00", "", ""]])
    batch = import_file(hq_admin, path)
    assert batch.counts["updated"] == 1
    assert Person.objects.count() == 1
    assert list(jeanne.other_phones.values_list("number", flat=True)) == ["+33492310000"]


def test_consents_from_a_column_and_from_a_statement(hq_admin, write_csv):
    path = write_csv(
        [["a@example.org", "oui"], ["b@example.org", "non"], ["c@example.org", "désinscrit"]],
        header=["Courriel", "Accepte les e-mails"],
    )
    batch = import_file(
        hq_admin,
        path,
        consents={"sms": {"mode": "statement", "proof": "Formulaire papier signé"}},
    )
    a = Person.objects.get(email="a@example.org")
    email = a.consents.get(channel=Channel.EMAIL)
    assert email.granted and email.source == f"Import n° {batch.pk} : Pétition tests"
    assert "Accepte les e-mails" in email.proof
    assert a.consents.get(channel=Channel.SMS).proof == "Formulaire papier signé"
    assert a.last_contact_at is not None
    b = Person.objects.get(email="b@example.org")
    assert list(b.consents.values_list("channel", "granted")) == [("sms", True)]
    c = Person.objects.get(email="c@example.org")
    assert c.consents.get(channel=Channel.EMAIL).granted is False
    # A new person's consents are in its creation event (with the Consent rows' proof).
    assert a.events.get().data == {
        "batch": batch.pk,
        "origin": "Pétition tests",
        "consents": {"email": True, "sms": True},
    }


def test_a_withdrawal_always_wins(hq_admin, jeanne, write_csv):
    """Nobody who withdrew consent gets it back from a file."""
    scope = scope_for(hq_admin)
    people_actions.set_consent(
        scope=scope, person=jeanne, channel=Channel.EMAIL, granted=False, source="désinscription"
    )
    other = PersonFactory(email="granted@example.org")
    people_actions.set_consent(
        scope=scope, person=other, channel=Channel.EMAIL, granted=True, source="site"
    )
    path = write_csv(
        [["jeanne.martin@example.org", "oui"], ["granted@example.org", "STOP"]],
        header=["Courriel", "Newsletter"],
    )
    batch = import_file(hq_admin, path, consents={"sms": {"mode": "statement", "proof": "p"}})
    assert jeanne.consents.get(channel=Channel.EMAIL).granted is False
    assert jeanne.consents.get(channel=Channel.SMS).granted is True  # another channel
    assert other.consents.get(channel=Channel.EMAIL).granted is False
    assert batch.warnings == {"consentement retiré conservé (un retrait l'emporte)": 1}
    withdrawal = other.events.filter(kind=EventKind.CONSENT).latest("pk")
    assert withdrawal.data["previous"]["granted"] is True


def test_erased_people_do_not_come_back(hq_admin, jeanne, write_csv):
    people_actions.erase_person(scope=scope_for(hq_admin), person=jeanne)
    path = write_csv(
        [
            ["Jeanne", "Martin", "JEANNE.MARTIN@example.org", "", "", ""],
            ["Jeanne", "Martin", "", "06 11 11 11 11", "", ""],
            ["Marc", "Blanc", "marc@example.org", "", "", ""],
        ]
    )
    batch = import_file(hq_admin, path)
    assert batch.counts["rejected"] == 2 and batch.counts["created"] == 1
    assert list(Person.objects.values_list("email", flat=True)) == ["marc@example.org"]
    rejected = ImportRejectedRow.objects.filter(batch=batch).order_by("line")
    assert [(r.reasons, r.cells) for r in rejected] == [
        (["personne effacée (liste d'opposition)"], []),
        (["personne effacée (liste d'opposition)"], []),
    ]
    assert Suppression.objects.count() == 2


def test_a_shared_phone_with_another_first_name_goes_to_review(hq_admin, jeanne, write_csv):
    path = write_csv([["Paul", "Martin", "", "06 11 11 11 11", "04000", "Digne"]])
    batch = import_file(hq_admin, path)
    assert batch.counts["review"] == 1
    paul = Person.objects.get(first_name="Paul")
    candidate = DuplicateCandidate.objects.get()
    assert (candidate.person_a_id, candidate.person_b_id) == (jeanne.pk, paul.pk)
    assert [part["part"] for part in candidate.reasons] == [
        "phone",
        "last_name",
        "first_name_differs",
    ]
    assert candidate.batch == batch
    assert jeanne.first_name == Person.objects.get(pk=jeanne.pk).first_name


def test_a_likely_match_goes_to_review_with_its_score_explained(hq_admin, jeanne, write_csv):
    path = write_csv(
        [["Jeane", "MARTIN", "autre@example.org", "", "04000", "Digne", "12/03/1975"]],
        header=["Prénom", "Nom", "Courriel", "Tél", "CP", "Ville", "Naissance"],
    )
    batch = import_file(hq_admin, path)
    assert batch.counts == {
        "rows": 1,
        "created": 0,
        "updated": 0,
        "merged": 0,
        "review": 1,
        "rejected": 0,
    }
    candidate = DuplicateCandidate.objects.get()
    assert candidate.person_a == jeanne
    assert candidate.reasons == [
        {"part": "last_name", "detail": "martin", "points": 40},
        {"part": "first_name", "detail": "jeanne / jeane (91 %)", "points": 27},
        {"part": "commune", "detail": "04070", "points": 20},
        {"part": "birth_year", "detail": "1975 / 1975", "points": 10},
    ]
    assert candidate.score == 97
    # Never merged silently: both people exist.
    assert Person.objects.count() == 2


def test_different_birth_years_are_not_a_likely_match(hq_admin, jeanne, write_csv):
    path = write_csv(
        [["Jeanne", "Martin", "autre@example.org", "", "04000", "Digne", "1990"]],
        header=["Prénom", "Nom", "Courriel", "Tél", "CP", "Ville", "Naissance"],
    )
    assert import_file(hq_admin, path).counts["created"] == 1
    assert not DuplicateCandidate.objects.exists()


def test_likely_duplicates_within_the_file_across_chunks(hq_admin, write_csv):
    rows = [[f"P{n}", f"N{n}", f"p{n}@example.org", "", "05000", "Gap"] for n in range(4)]
    rows += [["Jean", "Durand", "a@example.org", "", "04000", "Digne"]]
    rows += [[f"Q{n}", f"M{n}", f"q{n}@example.org", "", "05000", "Gap"] for n in range(4)]
    rows += [["Jean", "DURAND", "b@example.org", "", "04000", "Digne"]]
    rows += [["Jean", "Durand", "c@example.org", "", "04000", "Digne"]]
    batch = import_file(hq_admin, write_csv(rows), chunk_size=4)
    assert batch.counts["review"] == 2
    assert DuplicateCandidate.objects.count() == 3


def test_an_organizer_imports_only_into_their_territory(organizer_04, write_csv):
    path = write_csv(
        [
            ["Jeanne", "Martin", "j@example.org", "", "04000", "Digne"],
            ["Lucie", "Robert", "l@example.org", "", "05000", "Gap"],
            ["Sans", "Commune", "s@example.org", "", "", ""],
        ]
    )
    batch = import_file(organizer_04, path)
    assert batch.counts["created"] == 1 and batch.counts["rejected"] == 2
    assert list(Person.objects.values_list("email", flat=True)) == ["j@example.org"]
    assert list(
        ImportRejectedRow.objects.filter(batch=batch).values_list("reasons", flat=True)
    ) == [
        ["commune hors périmètre"],
        ["commune manquante (obligatoire dans votre périmètre)"],
    ]


def test_an_organizer_never_updates_someone_outside_their_territory(
    organizer_04, person_gap, write_csv
):
    path = write_csv(
        [[person_gap.first_name, person_gap.last_name, person_gap.email, "", "04000", "Digne"]]
    )
    person_gap.email = "lucie@example.org"
    Person.objects.filter(pk=person_gap.pk).update(email="lucie@example.org")
    before = Person.objects.filter(pk=person_gap.pk).values().get()
    path = write_csv([["Lucie", "Robert", "lucie@example.org", "", "04000", "Digne"]])
    batch = import_file(organizer_04, path)
    assert batch.counts["review"] == 1
    assert Person.objects.filter(pk=person_gap.pk).values().get() == before
    candidate = DuplicateCandidate.objects.get()
    assert candidate.reasons[-1]["part"] == "out_of_scope"
    # The organizer's queue does not show a pair half outside their territory.
    assert not actions.candidates_for(scope_for(organizer_04)).exists()


@pytest.mark.parametrize("persona", ["hq_staff", "volunteer"])
def test_roles_that_may_not_write_cannot_import(request, persona, jeanne, write_csv):
    user = request.getfixturevalue(persona)
    path = write_csv([["Marc", "Blanc", "marc@example.org", "", "", ""]])
    before = db_state()
    with pytest.raises(PermissionDenied):
        import_file(user, path)
    assert db_state() == before
    assert not ImportBatch.objects.exists()


def test_a_batch_whose_owner_lost_the_right_to_import_fails_without_writing(
    organizer_04, write_csv
):
    scope = scope_for(organizer_04)
    batch = actions.start_import(
        scope=scope,
        origin="x",
        path=write_csv([["Marc", "Blanc", "m@example.org", "", "04000", "Digne"]]),
    )
    organizer_04.role = "hq_staff"
    organizer_04.save()
    with pytest.raises(PermissionDenied):
        actions.run_import(batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED
    assert not Person.objects.exists()


def test_tags_are_matched_case_insensitively(hq_admin, write_csv):
    Tag.objects.create(name="Tractage")
    path = write_csv([["m@example.org", "tractage; PORTE"]], header=["Courriel", "Étiquettes"])
    import_file(hq_admin, path)
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["PORTE", "Tractage"]


def test_outcomes_do_not_depend_on_the_chunk_size(hq_admin, write_csv):
    rows = [
        ["Jean", "Durand", "jean@example.org", "06 10 00 00 01", "04000", "Digne"],
        ["Paul", "Durand", "", "06 10 00 00 01", "04000", "Digne"],  # household
        ["Jeanne", "Petit", "jp@example.org", "", "04000", "Digne"],
        ["Jeane", "Petit", "jp2@example.org", "", "04000", "Digne"],  # likely
        ["JEAN", "DURAND", "JEAN@example.org", "", "04000", "Digne"],  # duplicate
        ["Pol", "Durand", "pol@example.org", "", "04000", "Digne"],
        ["Paul", "Durand", "paul@example.org", "", "04000", "Digne"],  # likely (Paul)
        ["Bad", "Row", "x@", "", "", ""],
    ]
    results = []
    for chunk_size in (1, 3, 1000):
        batch = import_file(hq_admin, write_csv(rows), chunk_size=chunk_size)
        pairs = sorted(
            tuple(sorted((c.person_a.full_name, c.person_b.full_name)))
            for c in DuplicateCandidate.objects.select_related("person_a", "person_b")
        )
        results.append((batch.counts, pairs))
        DuplicateCandidate.objects.all().delete()
        Person.objects.all().delete()
    assert results[0] == results[1] == results[2]
    assert results[0][0] == {
        "rows": 8,
        "created": 3,
        "updated": 0,
        "merged": 1,
        "review": 3,
        "rejected": 1,
    }
