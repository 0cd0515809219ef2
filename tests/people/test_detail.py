"""A person's page: who may see it, what it shows, which buttons each role gets."""

import pytest
from django.urls import reverse

from campagne.accounts.scopes import scope_for
from campagne.people import actions
from campagne.people.models import Channel, EventKind
from tests.factories import PersonFactory, commune
from tests.people.helpers import OUTSIDE_SCOPE, assert_sent_to_login


def detail(person):
    return reverse("people:detail", args=[person.pk])


@pytest.mark.parametrize("persona", ["hq_admin", "hq_staff", "organizer_04", "organizer_digne"])
def test_person_page_opens_for_personas_whose_scope_holds_the_person(
    client, request, persona, person_digne
):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(detail(person_digne))
    assert response.status_code == 200
    assert "<h1>Jeanne Martin</h1>" in response.content.decode()


@pytest.mark.parametrize(("persona", "person"), OUTSIDE_SCOPE)
def test_person_page_is_not_found_outside_the_scope(client, request, persona, person):
    target = request.getfixturevalue(person)
    client.force_login(request.getfixturevalue(persona))
    response = client.get(detail(target))
    assert response.status_code == 404
    assert target.last_name not in response.content.decode()


def test_unknown_person_is_not_found(client, hq_admin):
    client.force_login(hq_admin)
    assert client.get(reverse("people:detail", args=[999999])).status_code == 404


def test_anonymous_visitor_is_sent_to_login_from_a_person_page(client, person_digne):
    assert_sent_to_login(client.get(detail(person_digne)))


def test_page_shows_identity_contact_address_and_origin(client, organizer_digne):
    person = PersonFactory(
        civility="mme",
        first_name="Jeanne",
        last_name="Martin",
        email="jeanne@example.test",
        phone="+33612345678",
        address_line="3 rue de l'Hubac",
        postal_code="04000",
        commune=commune("04070"),
        birth_year=1970,
        origin="salon du 12 mars",
    )
    client.force_login(organizer_digne)
    body = client.get(detail(person)).content.decode()
    assert "<h1>Mme Jeanne Martin</h1>" in body
    assert '<a href="mailto:jeanne@example.test">jeanne@example.test</a>' in body
    assert '<a href="tel:+33612345678">06 12 34 56 78</a>' in body
    assert "3 rue de l&#x27;Hubac" in body
    assert "Digne-les-Bains (04070)" in body
    assert "<dd>1970</dd>" in body
    assert "<dd>salon du 12 mars</dd>" in body


def test_timeline_shows_edits_as_old_and_new_values_newest_first(
    client, organizer_04, digne_with_history
):
    client.force_login(organizer_04)
    body = client.get(detail(digne_with_history)).content.decode()
    assert "statut : <del>Contact</del> → <ins>Sympathisant</ins>" in body
    edited, consent, tagged = (
        body.index("<strong>Modification</strong>"),
        body.index("<strong>Consentement</strong>"),
        body.index("<strong>Étiquette ajoutée</strong>"),
    )
    assert edited < consent < tagged
    assert "admin@test.campagne" in body


def test_consents_show_state_date_source_and_proof(client, organizer_04, digne_with_history):
    client.force_login(organizer_04)
    body = client.get(detail(digne_with_history)).content.decode()
    assert '<span class="badge badge-ok">Accordé</span>' in body
    assert '— formulaire site<br><span class="muted">Preuve : case cochée le 12 mars</span>' in body
    assert body.count("Non recueilli") == 3


def test_hq_admin_gets_every_button(client, hq_admin, person_digne):
    client.force_login(hq_admin)
    body = client.get(detail(person_digne)).content.decode()
    for name in ("edit", "data_export", "erase", "tag_add", "consent"):
        assert reverse(f"people:{name}", args=[person_digne.pk]) in body


def test_organizer_may_edit_and_export_but_gets_no_erase_button(client, organizer_04, person_digne):
    client.force_login(organizer_04)
    body = client.get(detail(person_digne)).content.decode()
    for name in ("edit", "data_export", "tag_add", "consent"):
        assert reverse(f"people:{name}", args=[person_digne.pk]) in body
    assert reverse("people:erase", args=[person_digne.pk]) not in body


def test_hq_staff_reads_without_any_write_button(client, hq_staff, digne_with_history):
    client.force_login(hq_staff)
    body = client.get(detail(digne_with_history)).content.decode()
    assert "Jeanne Martin" in body
    for name in ("edit", "data_export", "erase", "tag_add", "tag_remove", "consent"):
        assert reverse(f"people:{name}", args=[digne_with_history.pk]) not in body


def test_user_text_is_escaped_on_the_person_page(client, hq_admin):
    person = PersonFactory(
        first_name="<script>alert(1)</script>", last_name="X", commune=commune("04070")
    )
    scope = scope_for(hq_admin)
    actions.add_tag(scope=scope, person=person, name="<b>gras</b>")
    actions.set_consent(
        scope=scope, person=person, channel=Channel.EMAIL, granted=True, source="<img src=x>"
    )
    client.force_login(hq_admin)
    body = client.get(detail(person)).content.decode()
    assert "<script>" not in body
    assert "<b>gras</b>" not in body
    assert "<img src=x>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; X" in body
    assert "&lt;b&gt;gras&lt;/b&gt;" in body
    assert "&lt;img src=x&gt;" in body


def test_person_page_query_count_is_pinned(
    client, organizer_04, digne_with_history, django_assert_num_queries
):
    client.force_login(organizer_04)
    # session, user, 3 territory lists, person, commune, events, consents, tags,
    # other e-mails, other phones, tag suggestions, open duplicate pairs.
    with django_assert_num_queries(14):
        client.get(detail(digne_with_history))


def test_a_long_timeline_shows_the_latest_events_and_says_so(client, organizer_04, person_digne):
    from campagne.people.views import TIMELINE_LIMIT

    for index in range(TIMELINE_LIMIT + 1):
        actions.log_event(person=person_digne, kind=EventKind.NOTE, text=f"note {index}")
    client.force_login(organizer_04)
    body = client.get(detail(person_digne)).content.decode()
    assert body.count("<strong>Note</strong>") == TIMELINE_LIMIT
    assert f"note {TIMELINE_LIMIT}</div>" in body
    assert "note 0</div>" not in body
    assert f"Seuls les {TIMELINE_LIMIT} derniers évènements sont affichés" in body
