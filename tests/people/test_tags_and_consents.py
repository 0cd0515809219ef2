"""Adding and removing tags, granting and withdrawing consents from the person page."""

import pytest
from django.urls import reverse

from campagne.people.models import Consent, EventKind, TimelineEvent
from tests.people.helpers import HTMX, OUTSIDE_SCOPE, assert_sent_to_login, db_state

CONSENT = {"channel": "sms", "granted": "1", "source": "appel du 3 mars", "proof": "oral, noté"}


def url(name, person):
    return reverse(f"people:{name}", args=[person.pk])


def tag_names(person):
    return sorted(person.tags.values_list("name", flat=True))


# --- tags -------------------------------------------------------------------------------


def test_organizer_adds_a_tag_with_htmx_and_gets_the_panel_and_timeline_back(
    client, organizer_04, person_digne
):
    client.force_login(organizer_04)
    response = client.post(url("tag_add", person_digne), {"name": "porte-à-porte"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert '<section id="tags-panel"' in body
    assert '<span class="tag">porte-à-porte</span>' in body
    assert (
        '<section id="timeline" class="panel" aria-labelledby="timeline-title" hx-swap-oob="true">'
        in body
    )
    assert (
        '<div id="person-live" hx-swap-oob="innerHTML">Étiquette « porte-à-porte » ajoutée.</div>'
        in body
    )
    assert "autofocus" in body
    assert tag_names(person_digne) == ["porte-à-porte"]
    event = TimelineEvent.objects.get(person=person_digne, kind=EventKind.TAGGED)
    assert (event.actor, event.data) == (organizer_04, {"tag": "porte-à-porte"})


def test_adding_a_tag_without_javascript_redirects_to_the_page(client, organizer_04, person_digne):
    client.force_login(organizer_04)
    response = client.post(url("tag_add", person_digne), {"name": "marché"}, follow=True)
    assert response.redirect_chain == [(url("detail", person_digne), 302)]
    assert "Étiquette « marché » ajoutée." in response.content.decode()
    assert tag_names(person_digne) == ["marché"]


def test_an_empty_tag_is_refused_next_to_the_field(client, organizer_04, person_digne):
    before = db_state(person_digne)
    client.force_login(organizer_04)
    response = client.post(url("tag_add", person_digne), {"name": "   "}, **HTMX)
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.content.decode()
    assert db_state(person_digne) == before


def test_organizer_removes_a_tag(client, organizer_digne, digne_with_history):
    client.force_login(organizer_digne)
    response = client.post(url("tag_remove", digne_with_history), {"name": "tractage"}, **HTMX)
    assert (
        '<div id="person-live" hx-swap-oob="innerHTML">Étiquette « tractage » retirée.</div>'
        in (response.content.decode())
    )
    assert tag_names(digne_with_history) == []
    event = TimelineEvent.objects.filter(person=digne_with_history).first()
    assert (event.kind, event.data) == (EventKind.UNTAGGED, {"tag": "tractage"})


def test_tags_panel_escapes_tag_names(client, organizer_04, person_digne):
    client.force_login(organizer_04)
    body = client.post(url("tag_add", person_digne), {"name": "<i>x</i>"}, **HTMX).content.decode()
    assert "<i>x</i>" not in body
    assert "&lt;i&gt;x&lt;/i&gt;" in body


@pytest.mark.parametrize("action", ["tag_add", "tag_remove"])
def test_hq_staff_may_not_change_tags_and_nothing_changes(
    client, hq_staff, digne_with_history, action
):
    before = db_state(digne_with_history)
    client.force_login(hq_staff)
    response = client.post(url(action, digne_with_history), {"name": "tractage"}, **HTMX)
    assert response.status_code == 403
    assert db_state(digne_with_history) == before


@pytest.mark.parametrize("action", ["tag_add", "tag_remove"])
@pytest.mark.parametrize(("persona", "person"), OUTSIDE_SCOPE)
def test_tags_of_a_person_outside_the_scope_are_not_found_and_unchanged(
    client, request, persona, person, action
):
    target = request.getfixturevalue(person)
    target.tags.create(name="tractage")
    before = db_state(target)
    client.force_login(request.getfixturevalue(persona))
    response = client.post(url(action, target), {"name": "tractage"})
    assert response.status_code == 404
    assert db_state(target) == before


def test_anonymous_visitor_cannot_tag(client, person_digne):
    before = db_state(person_digne)
    assert_sent_to_login(client.post(url("tag_add", person_digne), {"name": "x"}))
    assert db_state(person_digne) == before


def test_tagging_needs_a_post(client, organizer_04, person_digne):
    client.force_login(organizer_04)
    assert client.get(url("tag_add", person_digne), {"name": "x"}).status_code == 405
    assert tag_names(person_digne) == []


# --- consents ---------------------------------------------------------------------------


def test_organizer_grants_a_consent_with_its_source_and_proof(client, organizer_04, person_digne):
    client.force_login(organizer_04)
    response = client.post(url("consent", person_digne), CONSENT, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert '<section id="consents-panel"' in body
    assert "Consentement SMS accordé." in body
    consent = Consent.objects.get(person=person_digne)
    assert (consent.channel, consent.granted, consent.source, consent.proof) == (
        "sms",
        True,
        "appel du 3 mars",
        "oral, noté",
    )
    event = TimelineEvent.objects.get(person=person_digne, kind=EventKind.CONSENT)
    assert event.actor == organizer_04
    assert event.data["granted"] is True


def test_withdrawal_is_recorded_with_the_previous_state(client, organizer_04, digne_with_history):
    client.force_login(organizer_04)
    withdrawal = {"channel": "email", "granted": "0", "source": "courrier", "proof": "lettre du 5"}
    response = client.post(url("consent", digne_with_history), withdrawal, follow=True)
    assert "Consentement E-mail retiré." in response.content.decode()
    consent = Consent.objects.get(person=digne_with_history, channel="email")
    assert (consent.granted, consent.source) == (False, "courrier")
    event = TimelineEvent.objects.filter(person=digne_with_history, kind=EventKind.CONSENT).first()
    assert event.data["granted"] is False
    assert event.data["previous"]["granted"] is True
    assert event.data["previous"]["source"] == "formulaire site"


@pytest.mark.parametrize("missing", ["source", "proof", "granted", "channel"])
def test_a_consent_needs_channel_state_source_and_proof(
    client, organizer_04, person_digne, missing
):
    before = db_state(person_digne)
    client.force_login(organizer_04)
    data = {**CONSENT, missing: ""}
    response = client.post(url("consent", person_digne), data, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert f'id="id_{missing}_error"' in body
    assert "Le consentement n&#x27;a pas été enregistré : corrigez le formulaire." in body
    assert db_state(person_digne) == before


def test_a_refused_consent_without_javascript_shows_the_page_with_errors(
    client, organizer_04, person_digne
):
    client.force_login(organizer_04)
    response = client.post(url("consent", person_digne), {**CONSENT, "proof": ""})
    assert response.status_code == 400
    assert "<html" in response.content.decode()
    assert not Consent.objects.exists()


def test_hq_staff_may_not_record_a_consent_and_nothing_changes(
    client, hq_staff, digne_with_history
):
    before = db_state(digne_with_history)
    client.force_login(hq_staff)
    response = client.post(url("consent", digne_with_history), {**CONSENT, "channel": "email"})
    assert response.status_code == 403
    assert db_state(digne_with_history) == before


@pytest.mark.parametrize(("persona", "person"), OUTSIDE_SCOPE)
def test_consent_of_a_person_outside_the_scope_is_not_found_and_unchanged(
    client, request, persona, person
):
    target = request.getfixturevalue(person)
    before = db_state(target)
    client.force_login(request.getfixturevalue(persona))
    assert client.post(url("consent", target), CONSENT).status_code == 404
    assert db_state(target) == before


def test_anonymous_visitor_cannot_record_a_consent(client, person_digne):
    before = db_state(person_digne)
    assert_sent_to_login(client.post(url("consent", person_digne), CONSENT))
    assert db_state(person_digne) == before
