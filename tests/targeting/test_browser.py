"""End to end, in Chromium: an organizer filters the ranked stations and the map follows."""

import pytest
from django.test import override_settings

from campagne.targeting.scoring import score_profile
from tests.browser.conftest import page  # noqa: F401 - the browser fixture
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def scored(profile):
    score_profile(profile)
    return profile


# No tile server: the map must be useful with the stations' shapes alone (offline).
@override_settings(MAP_TILES_URL="")
def test_organizer_filters_the_ranking_and_the_map(organizer_04, scored, page):  # noqa: F811
    from playwright.sync_api import expect

    page.goto("/comptes/connexion/")
    page.get_by_label("Adresse e-mail").fill(organizer_04.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Ciblage"
    ).click()
    page.get_by_role("link", name="Gauche").click()

    map_element = page.locator("#station-map")
    # Organizer of 04: four stations, not Gap's; the legend is drawn.
    expect(map_element).to_have_attribute("data-features", "4")
    expect(page.locator(".map-legend")).to_contain_text("80–100")
    rows = page.locator("table.ranking > tbody > tr")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("Manosque")

    page.get_by_label("Commune (nom ou code INSEE)").fill("Digne-les-Bains")
    page.get_by_label("Commune (nom ou code INSEE)").press("Enter")

    expect(rows).to_have_count(3)
    expect(map_element).to_have_attribute("data-features", "3")
    assert "commune=Digne-les-Bains" in page.url

    rows.first.get_by_text("Pourquoi").click()
    expect(rows.first.locator("table.explain")).to_contain_text("Réservoir d'abstentionnistes")
    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Digne-les-Bains — bureau 0001")
    expect(page.locator("svg.results-chart")).to_be_visible()
