"""Writing people through the API: allowed writes land, refused ones change nothing."""

import pytest

from campagne.audit.models import AuditEntry
from campagne.people import actions
from campagne.people.models import Consent, EventKind, Person, Suppression, TimelineEvent
from tests.api.conftest import snapshot

NEW_PERSON = {
    "civility": "mme",
    "first_name": "Marie",
    "last_name": "Curie",
    "email": " Marie.Curie@Exemple.FR ",
    "phone": "06 12 34 56 78",
    "address_line": "3 place du Marché",
    "postal_code": "04100",
    "commune": "04112",
    "birth_year": 1967,
    "status": "sympathisant",
    "origin": "salon du 12 mars",
    "tags": ["Jeunes", "Tractage"],
}


def kinds(person):
    return list(person.events.order_by("at", "id").values_list("kind", flat=True))


# --- create -------------------------------------------------------------------------------
def test_organizer_creates_a_person_in_their_territory(api_as, organizer_04):
    response = api_as("organizer_04").post("/people", NEW_PERSON)
    assert response.status_code == 201, response.content
    body = response.json()
    person = Person.objects.get()
    assert body["id"] == person.pk
    assert {key: body[key] for key in NEW_PERSON} == NEW_PERSON | {
        "email": "marie.curie@exemple.fr",
        "phone": "+33612345678",
    }
    assert body["commune_name"] == "Manosque"
    assert (person.email, person.phone, person.commune_id) == (
        "marie.curie@exemple.fr",
        "+33612345678",
        "04112",
    )
    assert sorted(person.tags.values_list("name", flat=True)) == ["Jeunes", "Tractage"]
    assert kinds(person) == [EventKind.CREATED, EventKind.TAGGED, EventKind.TAGGED]
    created = person.events.get(kind=EventKind.CREATED)
    assert created.actor == organizer_04
    assert created.data["origin"] == "salon du 12 mars"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"email": "pas-une-adresse"}, "email", "Cette adresse e-mail n'est pas valide."),
        # Reserved domains (.test, .invalid, localhost) cannot receive mail.
        ({"email": "marie@exemple.test"}, "email", "Cette adresse e-mail n'est pas valide."),
        ({"phone": "12"}, "phone", "Ce numéro de téléphone n'est pas valide."),
        ({"birth_year": 2099}, "birth_year", "Cette année n'est pas encore arrivée."),
        ({"commune": "00000"}, "commune", "Code INSEE de commune inconnu."),
        (
            {"first_name": "", "last_name": "", "email": "", "phone": ""},
            "__all__",
            "Indiquez au moins un nom, un prénom, un e-mail ou un téléphone.",
        ),
    ],
)
def test_create_refuses_bad_contact_data_with_a_clear_message(api_as, db, change, field, message):
    response = api_as("hq_admin").post("/people", NEW_PERSON | change)
    assert response.status_code == 422
    assert response.json() == {"detail": {field: [message]}}
    assert Person.objects.count() == 0


@pytest.mark.parametrize(
    "payload",
    [
        {key: value for key, value in NEW_PERSON.items() if key != "origin"},
        NEW_PERSON | {"origin": "   "},
        NEW_PERSON | {"status": "président"},
        NEW_PERSON | {"birth_year": 1492},
        NEW_PERSON | {"postal_code": "4100"},
        NEW_PERSON | {"nickname": "Mimi"},
        NEW_PERSON | {"first_name": "Ma\x00rie"},
    ],
    ids=["no-origin", "blank-origin", "status", "birth-year", "postcode", "unknown", "nul"],
)
def test_create_refuses_input_outside_the_schema(api_as, db, payload):
    response = api_as("hq_admin").post("/people", payload)
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)
    assert Person.objects.count() == 0


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("hq_staff", 403),  # reads everything, writes nothing
        ("organizer_05", 403),  # Manosque is in 04
        ("organizer_digne", 403),  # Manosque is not Digne
        ("volunteer", 403),
        (None, 401),
    ],
)
def test_create_is_refused_outside_the_scope_and_to_read_only_roles(api_as, db, persona, status):
    response = api_as(persona).post("/people", NEW_PERSON)
    assert response.status_code == status
    assert Person.objects.count() == 0
    assert not TimelineEvent.objects.exists()


def test_create_refuses_an_erased_address(api_as, admin_scope, person_digne):
    actions.update_person(scope=admin_scope, person=person_digne, email="jeanne@exemple.fr")
    actions.erase_person(scope=admin_scope, person=person_digne)
    response = api_as("hq_admin").post(
        "/people", NEW_PERSON | {"email": "Jeanne@exemple.fr", "commune": "04070"}
    )
    assert response.status_code == 422
    assert response.json() == {
        "detail": {"email": ["Cette adresse a été effacée à la demande de la personne."]}
    }
    assert Person.objects.count() == 0


# --- update -------------------------------------------------------------------------------
def test_organizer_updates_a_person_of_their_commune(api_as, organizer_digne, person_digne):
    response = api_as("organizer_digne").patch(
        f"/people/{person_digne.pk}",
        {"last_name": "Martin-Durand", "phone": "06 11 22 33 44", "status": "militant"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["last_name"], body["phone"], body["status"]) == (
        "Martin-Durand",
        "+33611223344",
        "militant",
    )
    old_phone = person_digne.phone
    person_digne.refresh_from_db()
    assert (person_digne.last_name, person_digne.phone, person_digne.status) == (
        "Martin-Durand",
        "+33611223344",
        "militant",
    )
    edited = person_digne.events.get(kind=EventKind.EDITED)
    assert edited.actor == organizer_digne
    assert edited.data["changes"] == {
        "last_name": ["Martin", "Martin-Durand"],
        "phone": [old_phone, "+33611223344"],
        "status": ["contact", "militant"],
    }


def test_null_empties_a_field_and_commune(api_as, admin_scope, person_digne):
    actions.update_person(scope=admin_scope, person=person_digne, address_line="1 rue Haute")
    response = api_as("hq_admin").patch(
        f"/people/{person_digne.pk}", {"address_line": None, "commune": None}
    )
    assert response.status_code == 200
    person_digne.refresh_from_db()
    assert (person_digne.address_line, person_digne.commune) == ("", None)


@pytest.mark.parametrize(
    ("persona", "person", "status"),
    [
        ("hq_staff", "person_digne", 403),
        ("organizer_05", "person_digne", 404),
        ("organizer_digne", "person_manosque", 404),
        ("volunteer", "person_digne", 404),
        (None, "person_digne", 401),
    ],
)
def test_update_refused_changes_nothing(request, api_as, persona, person, status):
    person = request.getfixturevalue(person)
    before = snapshot(person)
    response = api_as(persona).patch(f"/people/{person.pk}", {"last_name": "Changé"})
    assert response.status_code == status
    assert snapshot(person) == before


def test_organizer_cannot_move_a_person_out_of_their_territory(api_as, person_digne):
    before = snapshot(person_digne)
    response = api_as("organizer_04").patch(f"/people/{person_digne.pk}", {"commune": "05061"})
    assert response.status_code == 403
    assert snapshot(person_digne) == before


@pytest.mark.parametrize(
    "payload",
    [{"status": None}, {"origin": None}, {"email": "@"}, {"commune": "ABCDE"}, {"id": 3}],
)
def test_update_refuses_invalid_input(api_as, person_digne, payload):
    before = snapshot(person_digne)
    response = api_as("hq_admin").patch(f"/people/{person_digne.pk}", payload)
    assert response.status_code == 422
    assert snapshot(person_digne) == before


def test_update_keeps_contact_data_already_on_file(api_as, person_digne):
    # Imported before the checks: a reserved domain, a number in no usual form.
    Person.objects.filter(pk=person_digne.pk).update(email="jeanne@ancien.test", phone="0000")
    response = api_as("hq_admin").patch(
        f"/people/{person_digne.pk}",
        {"email": "Jeanne@ancien.test", "phone": "0000", "first_name": "Jeanne-Marie"},
    )
    assert response.status_code == 200, response.content
    person_digne.refresh_from_db()
    assert (person_digne.first_name, person_digne.email, person_digne.phone) == (
        "Jeanne-Marie",
        "jeanne@ancien.test",
        "0000",
    )


# --- tags ---------------------------------------------------------------------------------
def test_tag_and_untag(api_as, organizer_04, person_digne):
    api = api_as("organizer_04")
    url = f"/people/{person_digne.pk}/tags"
    assert api.post(url, {"name": "Marché/Gap"}).json() == {"tags": ["Marché/Gap"]}
    assert api.post(url, {"name": " marché/gap "}).json() == {"tags": ["Marché/Gap"]}
    assert kinds(person_digne) == [EventKind.TAGGED]
    assert api.delete(f"{url}/Marché/Gap").status_code == 204
    assert list(person_digne.tags.all()) == []
    untagged = person_digne.events.get(kind=EventKind.UNTAGGED)
    assert (untagged.actor, untagged.data) == (organizer_04, {"tag": "Marché/Gap"})
    again = api.delete(f"{url}/Marché/Gap")
    assert again.status_code == 404
    assert again.json() == {"detail": "Cette personne n'a pas cette étiquette."}


@pytest.mark.parametrize(
    ("persona", "status"),
    [("hq_staff", 403), ("organizer_05", 404), ("volunteer", 404), (None, 401)],
)
def test_tag_refused_changes_nothing(api_as, admin_scope, person_digne, persona, status):
    actions.add_tag(scope=admin_scope, person=person_digne, name="Jeunes")
    before = snapshot(person_digne)
    api = api_as(persona)
    url = f"/people/{person_digne.pk}/tags"
    assert api.post(url, {"name": "Tractage"}).status_code == status
    assert api.delete(f"{url}/Jeunes").status_code == status
    assert snapshot(person_digne) == before


# --- consents -----------------------------------------------------------------------------
def test_consent_given_then_withdrawn(api_as, organizer_04, person_manosque):
    api = api_as("organizer_04")
    url = f"/people/{person_manosque.pk}/consents/sms"
    given = api.put(url, {"granted": True, "source": "formulaire site", "proof": "case cochée"})
    assert given.status_code == 200, given.content
    consent = Consent.objects.get(person=person_manosque, channel="sms")
    assert given.json() == {
        "channel": "sms",
        "granted": True,
        "at": given.json()["at"],
        "source": "formulaire site",
        "proof": "case cochée",
    }
    assert consent.granted is True
    withdrawn = api.put(url, {"granted": False, "source": "STOP par SMS"})
    assert withdrawn.json()["granted"] is False
    consent.refresh_from_db()
    assert (consent.granted, consent.source, consent.proof) == (False, "STOP par SMS", "")
    last = person_manosque.events.filter(kind=EventKind.CONSENT).order_by("-id").first()
    assert last.actor == organizer_04
    assert last.data["previous"]["granted"] is True
    assert last.data["granted"] is False


@pytest.mark.parametrize(
    ("channel", "payload"),
    [("fax", {"granted": True, "source": "x"}), ("sms", {"granted": True, "source": " "})],
)
def test_consent_refuses_invalid_input(api_as, person_digne, channel, payload):
    before = snapshot(person_digne)
    response = api_as("hq_admin").put(f"/people/{person_digne.pk}/consents/{channel}", payload)
    assert response.status_code == 422
    assert snapshot(person_digne) == before


@pytest.mark.parametrize(
    ("persona", "status"),
    [("hq_staff", 403), ("organizer_05", 404), ("volunteer", 404), (None, 401)],
)
def test_consent_refused_changes_nothing(api_as, person_digne, persona, status):
    before = snapshot(person_digne)
    response = api_as(persona).put(
        f"/people/{person_digne.pk}/consents/email", {"granted": True, "source": "x"}
    )
    assert response.status_code == status
    assert snapshot(person_digne) == before


# --- RGPD export --------------------------------------------------------------------------
def test_rgpd_export_is_audited(api_as, organizer_04, person_digne):
    response = api_as("organizer_04").get(f"/people/{person_digne.pk}/export")
    assert response.status_code == 200
    data = response.json()
    assert (data["id"], data["first_name"], data["email"]) == (
        person_digne.pk,
        "Jeanne",
        person_digne.email,
    )
    assert [event["kind"] for event in data["timeline"]] == []
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.subject, entry.row_count) == (
        organizer_04,
        AuditEntry.Action.DATA_EXPORT,
        f"person:{person_digne.pk}",
        1,
    )
    assert kinds(person_digne) == [EventKind.EXPORTED]


@pytest.mark.parametrize(
    ("persona", "status"),
    [("hq_staff", 403), ("organizer_05", 404), ("volunteer", 404), (None, 401)],
)
def test_rgpd_export_refused_records_nothing(api_as, person_digne, persona, status):
    before = snapshot(person_digne)
    response = api_as(persona).get(f"/people/{person_digne.pk}/export")
    assert response.status_code == status
    assert "email" not in response.json()
    assert snapshot(person_digne) == before


# --- erasure ------------------------------------------------------------------------------
def test_hq_admin_erases_for_good(api_as, hq_admin, person_digne):
    email = person_digne.email
    response = api_as("hq_admin").delete(f"/people/{person_digne.pk}")
    assert response.status_code == 204
    assert not Person.objects.filter(pk=person_digne.pk).exists()
    assert Suppression.objects.contains_email(email)
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.subject) == (
        hq_admin,
        AuditEntry.Action.ERASE,
        f"person:{person_digne.pk}",
    )
    assert api_as("hq_admin").get(f"/people/{person_digne.pk}").status_code == 404


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("hq_staff", 403),
        ("organizer_04", 403),  # may edit, may not erase
        ("organizer_05", 404),
        ("volunteer", 404),
        (None, 401),
    ],
)
def test_erasure_refused_changes_nothing(api_as, person_digne, persona, status):
    before = snapshot(person_digne)
    response = api_as(persona).delete(f"/people/{person_digne.pk}")
    assert response.status_code == status
    assert snapshot(person_digne) == before
    assert not Suppression.objects.exists()
