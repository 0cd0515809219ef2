"""RGPD: one person's data export (right of access) and erasure (right to be forgotten)."""

import json

import pytest
from django.urls import reverse

from campagne.audit.models import AuditEntry
from campagne.people.models import EventKind, Person, Suppression, TimelineEvent, suppression_digest
from tests.people.helpers import OUTSIDE_SCOPE, assert_sent_to_login, db_state


def url(name, person):
    return reverse(f"people:{name}", args=[person.pk])


# --- data export ------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["hq_admin", "organizer_04", "organizer_digne"])
def test_data_export_downloads_everything_held_on_the_person(
    client, request, persona, digne_with_history
):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    response = client.post(url("data_export", digne_with_history))
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="personne-{digne_with_history.pk}.json"'
    )
    data = json.loads(response.content)
    assert (data["id"], data["first_name"], data["last_name"]) == (
        digne_with_history.pk,
        "Jeanne",
        "Martin",
    )
    assert data["tags"] == ["tractage"]
    assert [c["channel"] for c in data["consents"]] == ["email"]
    assert [e["kind"] for e in data["timeline"]] == ["tagged", "consent", "edited"]
    event = TimelineEvent.objects.filter(person=digne_with_history).first()
    assert (event.kind, event.actor) == (EventKind.EXPORTED, user)
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.subject, entry.actor) == (
        AuditEntry.Action.DATA_EXPORT,
        f"person:{digne_with_history.pk}",
        user,
    )


def test_hq_staff_may_not_export_a_person_and_nothing_is_logged(
    client, hq_staff, digne_with_history
):
    before = db_state(digne_with_history)
    client.force_login(hq_staff)
    response = client.post(url("data_export", digne_with_history))
    assert response.status_code == 403
    assert "Jeanne" not in response.content.decode()
    assert db_state(digne_with_history) == before


@pytest.mark.parametrize(("persona", "person"), OUTSIDE_SCOPE)
def test_data_export_outside_the_scope_is_not_found(client, request, persona, person):
    target = request.getfixturevalue(person)
    before = db_state(target)
    client.force_login(request.getfixturevalue(persona))
    assert client.post(url("data_export", target)).status_code == 404
    assert db_state(target) == before


def test_anonymous_visitor_cannot_export_a_person(client, person_digne):
    before = db_state(person_digne)
    assert_sent_to_login(client.post(url("data_export", person_digne)))
    assert db_state(person_digne) == before


def test_data_export_needs_a_post(client, hq_admin, person_digne):
    client.force_login(hq_admin)
    assert client.get(url("data_export", person_digne)).status_code == 405
    assert AuditEntry.objects.count() == 0


# --- erasure ----------------------------------------------------------------------------


def test_hq_admin_is_asked_to_confirm_the_erasure(client, hq_admin, person_digne):
    client.force_login(hq_admin)
    response = client.get(url("erase", person_digne))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<h1>Effacer la fiche de Jeanne Martin ?</h1>" in body
    assert 'method="post"' in body
    assert Person.objects.filter(pk=person_digne.pk).exists()


def test_hq_admin_erases_a_person_who_leaves_only_suppression_hashes(
    client, hq_admin, digne_with_history
):
    email, phone, pk = digne_with_history.email, digne_with_history.phone, digne_with_history.pk
    client.force_login(hq_admin)
    response = client.post(url("erase", digne_with_history), follow=True)
    assert response.redirect_chain == [(reverse("people:list"), 302)]
    assert "La fiche a été effacée définitivement." in response.content.decode()
    assert not Person.objects.filter(pk=pk).exists()
    assert not TimelineEvent.objects.filter(person_id=pk).exists()
    assert set(Suppression.objects.values_list("digest", flat=True)) == {
        suppression_digest("email", email),
        suppression_digest("phone", phone),
    }
    entry = AuditEntry.objects.get(action=AuditEntry.Action.ERASE)
    assert (entry.subject, entry.actor) == (f"person:{pk}", hq_admin)


@pytest.mark.parametrize("persona", ["hq_staff", "organizer_04", "organizer_digne"])
def test_roles_other_than_hq_admin_may_not_erase_and_nothing_changes(
    client, request, persona, digne_with_history
):
    before = db_state(digne_with_history)
    client.force_login(request.getfixturevalue(persona))
    assert client.get(url("erase", digne_with_history)).status_code == 403
    assert client.post(url("erase", digne_with_history)).status_code == 403
    assert db_state(digne_with_history) == before


@pytest.mark.parametrize(("persona", "person"), OUTSIDE_SCOPE)
def test_erasure_outside_the_scope_is_not_found(client, request, persona, person):
    target = request.getfixturevalue(person)
    before = db_state(target)
    client.force_login(request.getfixturevalue(persona))
    assert client.post(url("erase", target)).status_code == 404
    assert db_state(target) == before


def test_anonymous_visitor_cannot_erase(client, person_digne):
    before = db_state(person_digne)
    assert_sent_to_login(client.post(url("erase", person_digne)))
    assert db_state(person_digne) == before
