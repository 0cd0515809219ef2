"""End to end, in Chromium: an organizer builds a segment and watches its live count."""

import pytest

from tests.browser.conftest import page  # noqa: F401 - the browser fixture
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_organizer_builds_a_segment_with_a_live_count(organizer_04, population, page):  # noqa: F811
    from playwright.sync_api import expect

    page.goto("/comptes/connexion/")
    page.get_by_label("Adresse e-mail").fill(organizer_04.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Segments"
    ).click()
    page.get_by_role("link", name="Nouveau segment").click()

    count = page.get_by_role("status").filter(has_text="périmètre")
    preview = page.locator("#segment-preview")
    # Organizer of 04: Alice (Digne) and Bruno (Manosque), not Chloé (Gap).
    expect(count).to_have_text("2 personnes dans votre périmètre.")
    page.get_by_label("Militant", exact=False).check()
    expect(count).to_have_text("1 personne dans votre périmètre.")
    expect(preview).to_contain_text("Bruno")
    expect(preview).not_to_contain_text("Alice")
    page.get_by_label("Sympathisant").check()
    expect(count).to_have_text("2 personnes dans votre périmètre.")
    page.get_by_label("Communes (codes INSEE)").fill("05061")
    page.get_by_label("Communes (codes INSEE)").blur()
    expect(count).to_have_text("Aucune personne dans votre périmètre.")
    page.get_by_label("Communes (codes INSEE)").fill("")
    page.get_by_label("Nom du segment").fill("Militants et sympathisants")
    page.get_by_role("button", name="Enregistrer").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Militants et sympathisants")
    expect(page.locator("#segment-count")).to_have_text("2 personnes dans votre périmètre.")
    criteria = page.get_by_role("region", name="Critères")
    expect(criteria).to_contain_text("Sympathisant ou Bénévole (militant)")
