"""Creating and editing a person: validation, scope of the commune, refusals change nothing."""

import pytest
from django.urls import reverse

from campagne.accounts.scopes import scope_for
from campagne.lib.phones import display
from campagne.people import actions
from campagne.people.models import EventKind, Person, TimelineEvent
from campagne.territory.models import PostalCode
from tests.factories import commune
from tests.people.helpers import OUTSIDE_SCOPE, assert_sent_to_login, db_state

CREATE = reverse("people:create")
VALID = {
    "civility": "mme",
    "first_name": "Anne",
    "last_name": "Durand",
    "email": " Anne.Durand@Example.ORG ",
    "phone": "06 12 34 56 78",
    "address_line": "1 place du Marché",
    "address_extra": "",
    "postal_code": "04000",
    "commune": "Digne-les-Bains (04070)",
    "birth_year": "1980",
    "status": "sympathisant",
    "origin": "salon du 12 mars",
}


def edit(person):
    return reverse("people:edit", args=[person.pk])


def form_data(person, **changes):
    """The edit form as the browser posts it, unchanged but for ``changes``."""
    data = {
        "civility": person.civility,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "phone": person.phone,
        "address_line": person.address_line,
        "address_extra": person.address_extra,
        "postal_code": person.postal_code,
        "commune": person.commune_id or "",
        "birth_year": person.birth_year or "",
        "status": person.status,
        "origin": person.origin,
    }
    return {**data, **changes}


# --- create -----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["hq_admin", "organizer_04", "organizer_digne"])
def test_create_form_opens_for_roles_that_may_write(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(CREATE)
    assert response.status_code == 200
    assert "<h1>Nouvelle personne</h1>" in response.content.decode()


@pytest.mark.parametrize("persona", ["hq_staff", "volunteer"])
def test_create_form_is_refused_to_roles_that_may_not_write(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(CREATE).status_code == 403
    assert client.post(CREATE, VALID).status_code == 403
    assert Person.objects.count() == 0


def test_anonymous_visitor_cannot_create(client, db):
    assert_sent_to_login(client.post(CREATE, VALID))
    assert Person.objects.count() == 0


def test_organizer_creates_a_person_with_normalised_email_and_phone(client, organizer_digne):
    client.force_login(organizer_digne)
    response = client.post(CREATE, VALID)
    person = Person.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("people:detail", args=[person.pk])
    assert (person.email, person.phone) == ("anne.durand@example.org", "+33612345678")
    assert (person.commune_id, person.status, person.birth_year) == ("04070", "sympathisant", 1980)
    assert person.origin == "salon du 12 mars"
    event = TimelineEvent.objects.get(person=person)
    assert (event.kind, event.actor, event.data["origin"]) == (
        EventKind.CREATED,
        organizer_digne,
        "salon du 12 mars",
    )


@pytest.mark.parametrize(
    "typed", ["04070", "Digne-les-Bains", "digne les bains", "04000", "04000 Digne-les-Bains"]
)
def test_commune_may_be_typed_as_code_name_or_postcode(client, organizer_digne, typed):
    PostalCode.objects.get_or_create(code="04000", commune=commune("04070"))
    client.force_login(organizer_digne)
    assert client.post(CREATE, {**VALID, "commune": typed}).status_code == 302
    assert Person.objects.get().commune_id == "04070"


def test_a_commune_outside_the_scope_is_refused_next_to_the_field(client, organizer_digne):
    commune("04112", "Manosque")
    client.force_login(organizer_digne)
    response = client.post(CREATE, {**VALID, "commune": "Manosque (04112)"})
    assert response.status_code == 400
    assert response.context["form"].errors["commune"] == [
        "Aucune commune de votre périmètre ne correspond : choisissez-en une."
    ]
    assert Person.objects.count() == 0


def test_organizers_must_give_a_commune_but_hq_admin_need_not(client, organizer_04, hq_admin):
    client.force_login(organizer_04)
    response = client.post(CREATE, {**VALID, "commune": ""})
    assert "commune" in response.context["form"].errors
    assert Person.objects.count() == 0
    client.force_login(hq_admin)
    assert client.post(CREATE, {**VALID, "commune": ""}).status_code == 302
    assert Person.objects.get().commune is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "anne@", "Cette adresse e-mail n’est pas valide."),
        ("email", "anne durand@example.org", "Cette adresse e-mail n’est pas valide."),
        ("phone", "12", "Ce numéro de téléphone n’est pas valide."),
        ("phone", "06 12", "Ce numéro de téléphone n’est pas valide."),
        ("postal_code", "4000", "Un code postal a cinq chiffres."),
        ("origin", "", "Ce champ est obligatoire."),
        ("birth_year", "2999", "Cette année n’est pas encore arrivée."),
    ],
)
def test_invalid_values_are_shown_next_to_their_field(client, organizer_04, field, value, message):
    client.force_login(organizer_04)
    response = client.post(CREATE, {**VALID, field: value})
    assert response.status_code == 400
    errors = [error.replace("'", "’") for error in response.context["form"].errors[field]]
    assert errors == [message]
    assert f'id="id_{field}_error"' in response.content.decode()
    assert Person.objects.count() == 0


def test_a_person_needs_a_name_an_email_or_a_phone(client, organizer_04):
    client.force_login(organizer_04)
    blank = {"first_name": "", "last_name": "", "email": "", "phone": ""}
    response = client.post(CREATE, {**VALID, **blank})
    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [
        "Indiquez au moins un nom, un prénom, un e-mail ou un téléphone."
    ]
    assert Person.objects.count() == 0


def test_an_erased_email_is_refused_next_to_the_field(client, hq_admin, organizer_04, person_digne):
    erased_email = "jeanne.martin@example.org"
    Person.objects.filter(pk=person_digne.pk).update(email=erased_email)
    person_digne.refresh_from_db()
    actions.erase_person(scope=scope_for(hq_admin), person=person_digne)
    client.force_login(organizer_04)
    response = client.post(CREATE, {**VALID, "email": erased_email})
    assert response.status_code == 400
    assert response.context["form"].errors["email"] == [
        "Cette adresse a été effacée à la demande de la personne."
    ]
    assert Person.objects.count() == 0


# --- edit -------------------------------------------------------------------------------


def test_edit_form_is_filled_with_the_person(client, organizer_04, person_digne):
    client.force_login(organizer_04)
    body = client.get(edit(person_digne)).content.decode()
    assert 'value="Digne-les-Bains (04070)"' in body
    assert f'value="{person_digne.email}"' in body
    assert f'name="phone" value="{display(person_digne.phone)}"' in body


def test_organizer_edits_a_person_and_the_timeline_shows_old_and_new(
    client, organizer_04, person_digne
):
    client.force_login(organizer_04)
    data = form_data(person_digne, last_name="Martin-Roux", commune="04112", status="militant")
    commune("04112", "Manosque")
    response = client.post(edit(person_digne), data, follow=True)
    body = response.content.decode()
    assert "Fiche enregistrée." in body
    person_digne.refresh_from_db()
    assert (person_digne.last_name, person_digne.commune_id) == ("Martin-Roux", "04112")
    event = TimelineEvent.objects.get(person=person_digne, kind=EventKind.EDITED)
    assert event.data["changes"] == {
        "last_name": ["Martin", "Martin-Roux"],
        "commune": ["04070", "04112"],
        "status": ["contact", "militant"],
    }
    assert "nom : <del>Martin</del> → <ins>Martin-Roux</ins>" in body
    assert "statut : <del>Contact</del> → <ins>Bénévole (militant)</ins>" in body
    assert "commune : <del>Digne-les-Bains (04070)</del> → <ins>Manosque (04112)</ins>" in body


def test_saving_an_unchanged_form_logs_nothing(client, organizer_04, person_digne):
    before = db_state(person_digne)
    client.force_login(organizer_04)
    response = client.post(edit(person_digne), form_data(person_digne), follow=True)
    assert "Aucune modification." in response.content.decode()
    assert db_state(person_digne) == before


def test_organizer_digne_cannot_move_a_person_out_of_digne(client, organizer_digne, person_digne):
    commune("04112", "Manosque")
    before = db_state(person_digne)
    client.force_login(organizer_digne)
    response = client.post(edit(person_digne), form_data(person_digne, commune="04112"))
    assert response.status_code == 400
    assert "commune" in response.context["form"].errors
    assert db_state(person_digne) == before


def test_hq_staff_may_not_edit_and_nothing_changes(client, hq_staff, person_digne):
    before = db_state(person_digne)
    client.force_login(hq_staff)
    assert client.get(edit(person_digne)).status_code == 403
    response = client.post(edit(person_digne), form_data(person_digne, last_name="Pirate"))
    assert response.status_code == 403
    assert db_state(person_digne) == before


@pytest.mark.parametrize(("persona", "person"), OUTSIDE_SCOPE)
def test_editing_a_person_outside_the_scope_is_not_found_and_unchanged(
    client, request, persona, person
):
    target = request.getfixturevalue(person)
    before = db_state(target)
    client.force_login(request.getfixturevalue(persona))
    assert client.get(edit(target)).status_code == 404
    assert client.post(edit(target), form_data(target, last_name="Pirate")).status_code == 404
    assert db_state(target) == before


def test_anonymous_visitor_cannot_edit(client, person_digne):
    before = db_state(person_digne)
    assert_sent_to_login(client.post(edit(person_digne), form_data(person_digne, last_name="X")))
    assert db_state(person_digne) == before


def test_form_errors_put_the_focus_on_the_first_wrong_field(client, organizer_04, person_digne):
    client.force_login(organizer_04)
    response = client.post(edit(person_digne), form_data(person_digne, phone="12"))
    body = response.content.decode()
    assert 'name="phone" value="12" autocomplete="off" maxlength="30"' in body
    assert "autofocus" in body.split('name="phone"')[1].split(">")[0]
