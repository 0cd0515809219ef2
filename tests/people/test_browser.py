"""End to end, in Chromium: the list follows the search box, tags and consents swap in place."""

import re

import pytest

from tests.browser.conftest import page  # noqa: F401 - the browser fixture
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_list_filters_live_and_person_panels_update_in_place(
    organizer_04,
    person_digne,
    person_manosque,
    page,  # noqa: F811
):
    from playwright.sync_api import expect

    page.goto("/comptes/connexion/")
    page.get_by_label("Adresse e-mail").fill(organizer_04.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto("/personnes/")
    results, status = page.locator("#people-results"), page.locator("#people-status")
    expect(status).to_have_text("2 personnes.")

    # Typing, without pressing Enter, narrows the list and records it in the address.
    search = page.get_by_role("searchbox", name="Rechercher")
    search.press_sequentially("jeanne mar", delay=30)
    expect(status).to_have_text("1 personne.")
    expect(results).not_to_contain_text("Paul Bernard")
    expect(page).to_have_url(re.compile(r"q=jeanne(%20|\+)mar"))
    expect(search).to_be_focused()

    # A filter applies on change and combines with the search.
    page.get_by_label("Statut").select_option("adherent")
    expect(status).to_have_text("Aucune personne ne correspond.")
    page.get_by_label("Statut").select_option("")
    expect(status).to_have_text("1 personne.")

    results.get_by_role("link", name="Jeanne Martin").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Jeanne Martin")

    # Adding a tag refreshes the tags panel and the timeline, and keeps the focus there.
    page.get_by_label("Ajouter une étiquette").fill("tractage")
    page.get_by_role("button", name="Ajouter").click()
    tags = page.locator("#tags-panel")
    expect(tags.locator(".tag")).to_have_text(["tractage"])
    expect(page.locator("#timeline")).to_contain_text("Étiquette ajoutée")
    expect(page.locator("#person-live")).to_have_text("Étiquette « tractage » ajoutée.")
    expect(page.get_by_label("Ajouter une étiquette")).to_be_focused()
    tags.get_by_role("button", name="Retirer l'étiquette tractage").click()
    expect(tags).to_contain_text("Aucune étiquette.")

    # A consent needs its source and proof; once given, its row says so.
    page.get_by_text("Enregistrer un consentement ou un retrait").click()
    consents = page.locator("#consents-panel")
    consents.get_by_label("Canal").select_option("sms")
    consents.get_by_label("Accordé").check()
    consents.get_by_label("Source").fill("appel du 3 mars")
    consents.get_by_role("button", name="Enregistrer").click()
    # The browser itself holds the form back (the server refuses it too, see
    # test_a_consent_needs_channel_state_source_and_proof).
    expect(consents.locator("textarea:invalid")).to_have_count(1)
    expect(consents.get_by_role("row", name=re.compile("^SMS"))).to_contain_text("Non recueilli")
    consents.get_by_label("Preuve").fill("oral, noté par l'équipe")
    consents.get_by_role("button", name="Enregistrer").click()
    expect(consents.get_by_role("row", name=re.compile("^SMS"))).to_contain_text("Accordé")
    expect(page.locator("#timeline")).to_contain_text("SMS : accordé")
