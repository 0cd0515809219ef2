"""The interface is French by default and English once chosen (switcher or browser)."""

import pytest
from django.conf import settings
from django.urls import reverse

from campagne.people.models import Status
from tests.factories import PersonFactory, commune


def choose_language(client, code: str, next_url: str = "/") -> None:
    """What the switcher in base.html does: POST to set_language, which sets a cookie."""
    response = client.post(reverse("set_language"), {"language": code, "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == next_url
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == code


def page(client, url: str, **headers: str) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def supporter_in_digne(db):
    return PersonFactory(
        first_name="Jeanne",
        last_name="Martin",
        commune=commune("04070"),
        status=Status.SYMPATHISANT,
        tags=["tractage"],
    )


def test_login_page_is_french_by_default(client):
    html = page(client, reverse("accounts:login"))
    assert '<html lang="fr">' in html
    assert "<title>Connexion · Campagne</title>" in html
    assert "Adresse e-mail" in html
    assert "Se connecter" in html
    assert "Recevoir un lien de connexion par e-mail" in html
    assert "Log in" not in html


def test_login_page_in_english_after_choosing_it(client):
    choose_language(client, "en", reverse("accounts:login"))
    html = page(client, reverse("accounts:login"))
    assert '<html lang="en">' in html
    assert "<title>Log in · Campagne</title>" in html
    assert "E-mail address" in html
    assert "Password" in html  # Django's own catalog
    assert "Get a login link by e-mail" in html
    assert "Skip to content" in html
    assert "Se connecter" not in html
    assert "Adresse e-mail" not in html


def test_browser_language_picks_english_without_a_cookie(client):
    html = page(client, reverse("accounts:login"), accept_language="en-GB,en;q=0.9,fr;q=0.5")
    assert '<html lang="en">' in html
    assert "Get a login link by e-mail" in html


def test_unsupported_browser_language_falls_back_to_french(client):
    html = page(client, reverse("accounts:login"), accept_language="de-DE,de;q=0.9")
    assert '<html lang="fr">' in html
    assert "Se connecter" in html


def test_the_choice_beats_the_browser_and_can_be_undone(client):
    choose_language(client, "fr")
    html = page(client, reverse("accounts:login"), accept_language="en")
    assert "Se connecter" in html
    choose_language(client, "en")
    assert "Get a login link by e-mail" in page(client, reverse("accounts:login"))


def test_home_page_in_french_by_default(client, organizer_04):
    client.force_login(organizer_04)
    html = page(client, reverse("core:home"))
    assert "Votre rôle :" in html
    assert "<strong>Organisateur territorial</strong>" in html
    assert "Se déconnecter" in html


def test_home_page_in_english(client, organizer_04):
    client.force_login(organizer_04)
    choose_language(client, "en")
    html = page(client, reverse("core:home"))
    assert "<title>Home · Campagne</title>" in html
    assert "Your role:" in html
    assert "<strong>Territorial organizer</strong>" in html
    assert "territories:" in html
    assert ">People</a>" in html
    assert "<h2>My account</h2>" in html
    assert "The contacts in your scope: search, records, consents, exports." in html
    assert "Log out" in html
    assert "Votre rôle" not in html


def test_people_list_in_french_by_default(client, organizer_04, supporter_in_digne):
    client.force_login(organizer_04)
    html = page(client, reverse("people:list"))
    assert "<h1>Personnes</h1>" in html
    assert '<span class="badge">Sympathisant</span>' in html
    assert "1 personne." in html
    assert "Filtrer" in html


def test_people_list_in_english(client, organizer_04, supporter_in_digne):
    client.force_login(organizer_04)
    choose_language(client, "en", reverse("people:list"))
    html = page(client, reverse("people:list"))
    assert "<title>People · Campagne</title>" in html
    assert "<h1>People</h1>" in html
    assert 'aria-label="Search and filter people"' in html
    for header in ("Name", "E-mail", "Phone", "Municipality", "Status", "Tags"):
        assert f'<th scope="col">{header}</th>' in html
    # Model choices and form labels come from the same catalog.
    assert '<span class="badge">Supporter</span>' in html
    assert '<option value="militant">Volunteer (activist)</option>' in html
    assert '<option value="adherent">Member</option>' in html
    assert 'placeholder="Name, e-mail or phone"' in html
    assert "Consent given" in html
    assert "Door-to-door follow-up" in html
    assert "1 person." in html
    assert ">Filter</button>" in html
    assert ">Clear all</a>" in html
    assert "Export this whole list:" in html
    assert "Personnes" not in html
    assert "Sympathisant" not in html


def test_people_list_plural_in_english(client, organizer_04, supporter_in_digne):
    PersonFactory(commune=commune("04070"))
    client.force_login(organizer_04)
    choose_language(client, "en")
    assert "2 people." in page(client, reverse("people:list"))
