"""The people list: scope, search, filters, pagination without COUNT(*), htmx fragments."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campagne.accounts.scopes import scope_for
from campagne.people import actions
from campagne.people.models import Channel, Status
from campagne.people.views import MAX_PAGE, PAGE_SIZE
from tests.factories import PersonFactory, commune
from tests.people.helpers import HTMX

LIST = reverse("people:list")


def names(response):
    """The names listed in the results table, in order."""
    return [person.full_name for person in response.context["page"].people]


def test_anonymous_visitor_is_sent_to_login(client, person_digne):
    response = client.get(LIST)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_organizer_04_lists_only_people_of_departement_04(
    client, organizer_04, person_digne, person_manosque, person_gap
):
    client.force_login(organizer_04)
    response = client.get(LIST)
    assert response.status_code == 200
    assert names(response) == ["Paul Bernard", "Jeanne Martin"]
    assert "Lucie Robert" not in response.content.decode()


def test_organizer_digne_lists_only_people_of_digne(
    client, organizer_digne, person_digne, person_manosque, person_gap
):
    client.force_login(organizer_digne)
    assert names(client.get(LIST)) == ["Jeanne Martin"]


def test_organizer_05_lists_only_people_of_departement_05(
    client, organizer_05, person_digne, person_manosque, person_gap
):
    client.force_login(organizer_05)
    assert names(client.get(LIST)) == ["Lucie Robert"]


@pytest.mark.parametrize("persona", ["hq_admin", "hq_staff"])
def test_hq_lists_everyone(client, request, persona, person_digne, person_manosque, person_gap):
    client.force_login(request.getfixturevalue(persona))
    assert names(client.get(LIST)) == ["Paul Bernard", "Jeanne Martin", "Lucie Robert"]


def test_volunteer_is_refused_the_list(client, volunteer, person_digne):
    client.force_login(volunteer)
    response = client.get(LIST)
    assert response.status_code == 403
    assert "Jeanne" not in response.content.decode()


def test_list_shows_email_phone_commune_status_and_tags(client, organizer_digne):
    PersonFactory(
        first_name="Jeanne",
        last_name="Martin",
        email="jeanne@example.test",
        phone="+33612345678",
        commune=commune("04070"),
        tags=["tractage"],
    )
    client.force_login(organizer_digne)
    body = client.get(LIST).content.decode()
    assert '<td data-label="E-mail">jeanne@example.test</td>' in body
    assert '<td data-label="Téléphone">06 12 34 56 78</td>' in body
    assert '<td data-label="Commune">Digne-les-Bains</td>' in body
    assert '<span class="badge">Contact</span>' in body
    assert '<span class="tag">tractage</span>' in body


@pytest.mark.parametrize(
    "text",
    ["martin", "Martin Jeanne", "jeanne mar", "JEANNE", "personne-digne@exemple", "06 12 34 56 78"],
)
def test_search_finds_by_name_in_either_order_email_or_phone(client, organizer_04, text):
    PersonFactory(
        first_name="Jeanne",
        last_name="Martin",
        email="personne-digne@exemple.test",
        phone="+33612345678",
        commune=commune("04070"),
    )
    PersonFactory(first_name="Paul", last_name="Bernard", commune=commune("04070"))
    client.force_login(organizer_04)
    assert names(client.get(LIST, {"q": text})) == ["Jeanne Martin"]


def test_search_never_reaches_outside_the_scope(client, organizer_digne, person_manosque):
    client.force_login(organizer_digne)
    assert names(client.get(LIST, {"q": "Bernard"})) == []
    assert names(client.get(LIST, {"q": person_manosque.email})) == []


def test_filters_by_status(client, organizer_04, person_digne, person_manosque):
    actions.update_person(
        scope=scope_for(organizer_04), person=person_digne, status=Status.ADHERENT
    )
    client.force_login(organizer_04)
    assert names(client.get(LIST, {"status": "adherent"})) == ["Jeanne Martin"]


def test_filters_by_tag(client, organizer_04, person_digne, person_manosque):
    actions.add_tag(scope=scope_for(organizer_04), person=person_manosque, name="marché")
    client.force_login(organizer_04)
    assert names(client.get(LIST, {"tag": "marché"})) == ["Paul Bernard"]


def test_filters_by_departement_and_commune(
    client, hq_admin, person_digne, person_manosque, person_gap
):
    client.force_login(hq_admin)
    assert names(client.get(LIST, {"departement": "05"})) == ["Lucie Robert"]
    assert names(client.get(LIST, {"commune": "04112"})) == ["Paul Bernard"]
    assert names(client.get(LIST, {"commune": "Manosque (04112)"})) == ["Paul Bernard"]


def test_filters_by_granted_consent_only(client, organizer_04, person_digne, person_manosque):
    scope = scope_for(organizer_04)
    for person, granted in ((person_digne, True), (person_manosque, False)):
        actions.set_consent(
            scope=scope, person=person, channel=Channel.SMS, granted=granted, source="appel"
        )
    client.force_login(organizer_04)
    assert names(client.get(LIST, {"consents": ["sms"]})) == ["Jeanne Martin"]
    assert names(client.get(LIST, {"consents": ["sms", "email"]})) == []


def test_all_filters_combine(client, organizer_04, person_digne, person_manosque):
    scope = scope_for(organizer_04)
    twin = PersonFactory(first_name="Jeanne", last_name="Martel", commune=commune("04070"))
    for person in (person_digne, twin, person_manosque):
        actions.add_tag(scope=scope, person=person, name="tractage")
        actions.set_consent(
            scope=scope, person=person, channel=Channel.EMAIL, granted=True, source="site"
        )
    actions.update_person(scope=scope, person=twin, status=Status.MILITANT)
    client.force_login(organizer_04)
    response = client.get(
        LIST,
        {
            "q": "jeanne mar",
            "status": "militant",
            "tag": "tractage",
            "departement": "04",
            "commune": "04070",
            "consents": ["email"],
        },
    )
    assert names(response) == ["Jeanne Martel"]


def test_a_commune_outside_the_scope_is_a_filter_error_not_a_result(
    client, organizer_digne, person_manosque
):
    client.force_login(organizer_digne)
    response = client.get(LIST, {"commune": "04112"})
    assert response.status_code == 200
    assert response.context["page"] is None
    assert "Aucune commune de votre périmètre" in response.content.decode()
    assert "Paul Bernard" not in response.content.decode()


def test_filter_errors_come_back_with_the_htmx_results(client, organizer_digne, person_manosque):
    client.force_login(organizer_digne)
    body = client.get(LIST, {"commune": "Manosque"}, **HTMX).content.decode()
    assert 'role="alert"' in body
    assert "Commune : Aucune commune de votre périmètre ne correspond" in body
    assert "Paul Bernard" not in body
    assert "Corrigez les filtres pour afficher les résultats." in body


def test_departement_choices_are_those_of_the_scope(client, organizer_digne, person_gap):
    client.force_login(organizer_digne)
    field = client.get(LIST).context["form"].fields["departement"]
    assert [d.code for d in field.queryset] == ["04"]


def test_htmx_request_gets_only_the_results_fragment_and_status(client, organizer_04, person_digne):
    client.force_login(organizer_04)
    response = client.get(LIST, {"q": "martin"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert "Jeanne Martin" in body
    assert '<p id="people-status" hx-swap-oob="innerHTML">1 personne.</p>' in body
    assert "HX-Request" in response["Vary"]


def test_htmx_history_restore_gets_the_whole_page(client, organizer_04, person_digne):
    client.force_login(organizer_04)
    response = client.get(LIST, **HTMX, HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in response.content.decode()


def test_search_box_is_wired_for_live_results(client, organizer_04):
    client.force_login(organizer_04)
    body = client.get(LIST).content.decode()
    assert 'hx-trigger="keyup changed delay:300ms, search"' in body
    assert 'hx-target="#people-results"' in body
    assert 'hx-push-url="true"' in body
    assert 'id="people-status" class="results-status" role="status" aria-live="polite"' in body


def test_pagination_says_more_than_a_page_without_counting(client, organizer_digne):
    PersonFactory.create_batch(PAGE_SIZE + 3, commune=commune("04070"))
    client.force_login(organizer_digne)
    first = client.get(LIST)
    assert len(first.context["page"].people) == PAGE_SIZE
    assert f"Plus de {PAGE_SIZE} personnes — 1 à {PAGE_SIZE} affichées." in first.content.decode()
    assert first.context["next_url"] == f"{LIST}?page=2"
    second = client.get(LIST, {"page": 2})
    assert len(second.context["page"].people) == 3
    assert f"{PAGE_SIZE + 3} personnes. {PAGE_SIZE + 1} à {PAGE_SIZE + 3} affichées." in (
        second.content.decode()
    )
    assert second.context["next_url"] == ""
    everyone = {p.pk for p in first.context["page"].people + second.context["page"].people}
    assert len(everyone) == PAGE_SIZE + 3


def test_pages_keep_the_filters_in_their_links(client, organizer_digne):
    PersonFactory.create_batch(PAGE_SIZE + 1, last_name="Durand", commune=commune("04070"))
    client.force_login(organizer_digne)
    response = client.get(LIST, {"q": "durand", "status": "contact"})
    assert response.context["next_url"] == f"{LIST}?q=durand&status=contact&page=2"


def test_page_numbers_are_capped(client, organizer_digne, person_digne):
    client.force_login(organizer_digne)
    assert client.get(LIST, {"page": MAX_PAGE + 50}).context["page"].number == MAX_PAGE
    assert client.get(LIST, {"page": "abc"}).context["page"].number == 1


def test_list_does_not_count_and_its_queries_do_not_grow_with_rows(
    client, organizer_04, django_assert_num_queries
):
    scope = scope_for(organizer_04)
    for index in range(3):
        person = PersonFactory(last_name="Durand", commune=commune("04070"))
        actions.add_tag(scope=scope, person=person, name=f"tag{index}")
    client.force_login(organizer_04)
    # session, user, the organizer's 3 territory lists, people by last name then by first
    # name (the page is not full after the first), their tags.
    with django_assert_num_queries(8):
        response = client.get(LIST, {"q": "durand"}, **HTMX)
    assert response.content.decode().count("<tr>") == 1 + 3
    PersonFactory.create_batch(30, commune=commune("04112", "Manosque"))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST, **HTMX)
    assert response.content.decode().count("<tr>") == 1 + 33
    # Without a name search the list is one part: one query fewer.
    assert len(queries) == 7
    assert not any("COUNT(" in query["sql"].upper() for query in queries)


def test_full_list_page_query_count_is_pinned(client, organizer_04, django_assert_num_queries):
    PersonFactory.create_batch(5, commune=commune("04070"))
    client.force_login(organizer_04)
    # As the fragment, plus the tag and département choices of the filters.
    with django_assert_num_queries(9):
        client.get(LIST)


def test_names_are_escaped_in_the_list(client, organizer_digne):
    PersonFactory(first_name="<script>alert(1)</script>", last_name="X", commune=commune("04070"))
    client.force_login(organizer_digne)
    body = client.get(LIST).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; X" in body


def test_export_buttons_show_only_to_roles_that_may_export(
    client, organizer_04, hq_staff, person_digne
):
    client.force_login(organizer_04)
    assert reverse("people:export") in client.get(LIST).content.decode()
    client.force_login(hq_staff)
    body = client.get(LIST).content.decode()
    assert reverse("people:export") not in body
    assert reverse("people:create") not in body


def test_name_search_lists_last_names_first_then_first_names(client, organizer_04):
    for first, last in (("Martin", "Durand"), ("Jeanne", "Martin"), ("Alice", "Martinez")):
        PersonFactory(first_name=first, last_name=last, commune=commune("04070"))
    client.force_login(organizer_04)
    assert names(client.get(LIST, {"q": "martin"})) == [
        "Jeanne Martin",
        "Alice Martinez",
        "Martin Durand",
    ]


@pytest.mark.parametrize(("by_last", "by_first"), [(30, 30), (5, 60)])
def test_pages_run_across_last_name_and_first_name_matches_without_gap_or_repeat(
    client, organizer_digne, by_last, by_first
):
    PersonFactory.create_batch(by_last, last_name="Roux", commune=commune("04070"))
    PersonFactory.create_batch(
        by_first, first_name="Roux", last_name="Zed", commune=commune("04070")
    )
    client.force_login(organizer_digne)
    first = client.get(LIST, {"q": "roux"}).context
    second = client.get(LIST, {"q": "roux", "page": 2}).context
    third = client.get(LIST, {"q": "roux", "page": 3}).context
    listed = [p.pk for ctx in (first, second) for p in ctx["page"].people]
    assert len(listed) == len(set(listed)) == by_last + by_first
    assert [p.last_name for ctx in (first, second) for p in ctx["page"].people] == (
        ["Roux"] * by_last + ["Zed"] * by_first
    )
    assert (first["page"].has_next, second["page"].has_next) == (True, False)
    assert third["page"].people == []


@pytest.mark.parametrize("rare", [5000, 1])
def test_tag_and_consent_filters_give_the_same_people_whichever_side_drives(
    client, organizer_04, monkeypatch, rare
):
    from campagne.people import filters

    monkeypatch.setattr(filters, "RARE", rare)
    scope = scope_for(organizer_04)
    people = [PersonFactory(last_name=f"Nom{i}", commune=commune("04070")) for i in range(4)]
    for person in people[:3]:
        actions.add_tag(scope=scope, person=person, name="tractage")
    for person in people[1:]:
        actions.set_consent(
            scope=scope, person=person, channel=Channel.EMAIL, granted=True, source="site"
        )
    client.force_login(organizer_04)
    response = client.get(LIST, {"tag": "tractage", "consents": ["email"]})
    assert names(response) == [people[1].full_name, people[2].full_name]


def test_a_city_filter_includes_its_municipal_arrondissements(client, hq_admin):
    paris = commune("75056", "Paris")
    district = commune("75101", "Paris 1er Arrondissement")
    district.parent = paris
    district.save()
    PersonFactory(first_name="Léon", last_name="Blum", commune=district)
    client.force_login(hq_admin)
    assert names(client.get(LIST, {"commune": "75056"})) == ["Léon Blum"]
