"""End to end, in Chromium: an organizer of Digne finds Digne's people and no one else."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def searched(url: str) -> str | None:
    return parse_qs(urlsplit(url).query).get("q", [None])[0]


def test_digne_organizer_searches_opens_a_person_and_cannot_reach_manosque(
    organizer_digne, person_digne, person_manosque, page
):
    from playwright.sync_api import expect

    page.goto("/comptes/connexion/")
    page.get_by_label("Adresse e-mail").fill(organizer_digne.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    menu = page.get_by_role("navigation", name="Navigation principale")
    menu.get_by_role("link", name="Personnes").click()
    expect(page).to_have_url(re.compile(r"/personnes/$"))
    people = page.locator("#people-results")
    expect(people.get_by_role("link", name="Jeanne Martin")).to_be_visible()
    expect(people).not_to_contain_text("Bernard")

    # The search box: a person of Manosque is not found by name, e-mail or phone.
    search = page.get_by_role("searchbox", name="Rechercher")
    status = page.locator("#people-status")
    for query in ("Bernard", person_manosque.email, person_manosque.phone, "Martin"):
        search.fill(query)
        search.press("Enter")
        # htmx pushes the searched URL once the results are in.
        page.wait_for_url(lambda url, query=query: searched(url) == query)
        if query != "Martin":
            expect(status).to_have_text("Aucune personne ne correspond.")
            expect(people).not_to_contain_text("Bernard")
    expect(status).to_have_text("1 personne.")
    person_link = people.get_by_role("link", name="Jeanne Martin")
    expect(person_link).to_have_count(1)
    person_link.click()

    expect(page).to_have_url(f"/personnes/{person_digne.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Jeanne Martin")
    expect(page.get_by_text(person_digne.email).first).to_be_visible()

    # Manosque's person page, typed in the address bar: not found, and nothing shown.
    response = page.goto(f"/personnes/{person_manosque.pk}/")
    assert response is not None and response.status == 404
    expect(page.locator("body")).not_to_contain_text("Bernard")
