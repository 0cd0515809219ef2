"""End to end, in Chromium: a volunteer with no network records doors in the field app,
reloads it, closes and reopens it, comes back online; the server has each door once."""

import concurrent.futures
import re

import pytest
from django.db import connection

from campagne.canvassing.models import Canvass, SessionReport
from tests.canvassing.factories import SessionFactory, turf_with_stops
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def in_other_thread(function):
    """Run a database read outside Playwright's event loop (see tests/browser/chromium.py)."""

    def run():
        try:
            return function()
        finally:
            connection.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


@pytest.fixture
def field_session(volunteer, settings):
    # No tile server in tests (no internet): the map draws the addresses alone.
    settings.MAP_TILES_URL = ""
    return SessionFactory(turf=turf_with_stops(6), volunteer=volunteer)


@pytest.fixture
def service_worker_network(monkeypatch):
    # Playwright's offline mode only reaches a service worker's own requests when its
    # network events are on; the test then also aborts them (see go_offline).
    monkeypatch.setenv("PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS", "1")


def go_offline(context, seen):
    def abort(route):
        seen.append(route.request.url)
        route.abort("internetdisconnected")

    context.set_offline(True)
    context.route("**/*", abort)
    return abort


def go_online(context, abort):
    context.unroute("**/*", abort)
    context.set_offline(False)


def test_doors_recorded_offline_reach_the_server_exactly_once(
    volunteer, field_session, service_worker_network, page
):
    from playwright.sync_api import expect

    context = page.context
    page.goto("/comptes/connexion/")
    page.get_by_label("Adresse e-mail").fill(volunteer.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"^(?!.*connexion).*$"))

    page.goto("/terrain/app/")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    # The service worker is installed (shell and scripts cached) and controls the page.
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    assert page.evaluate("!!navigator.serviceWorker.controller")
    pending = page.locator("#field-pending")
    expect(pending).to_have_text("Tout est envoyé")

    page.get_by_role("link", name=re.compile("Secteur")).first.click()
    expect(page.get_by_role("list", name="Adresses").get_by_role("listitem")).to_have_count(6)

    seen: list[str] = []
    abort = go_offline(context, seen)
    expect(page.locator("#field-network")).to_have_text("Hors ligne")

    # Three doors nobody opened: one tap each, the app moves on to the next address.
    page.get_by_role(
        "link", name=re.compile(r"^1\. ?1 Rue de l'Hubac|1 Rue de l'Hubac")
    ).first.click()
    for expected in ("1 Rue de l'Hubac", "2 Rue de l'Hubac", "3 Rue de l'Hubac"):
        expect(page.get_by_role("heading", level=1)).to_have_text(expected)
        page.get_by_role("button", name="Absent / pas de réponse").click()
    # A conversation, with the person's consent to record their opinion.
    expect(page.get_by_role("heading", level=1)).to_have_text("4 Rue de l'Hubac")
    page.get_by_role("button", name="Positif").click()
    page.get_by_label("La personne accepte que son avis soit enregistré").check()
    page.get_by_label("4", exact=True).check()
    page.get_by_role("button", name="Enregistrer").click()
    expect(pending).to_have_text("4 non envoyés")

    # Reload with no network: the service worker serves the app, the queue is intact.
    response = page.reload()
    assert response is not None and response.from_service_worker
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(pending).to_have_text("4 non envoyés")
    page.get_by_role("button", name="Absent / pas de réponse").click()  # 5 Rue de l'Hubac
    expect(pending).to_have_text("5 non envoyés")

    # Close the app and open it again, still offline.
    page.close()
    page = context.new_page()
    page.goto("/terrain/app/")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    pending = page.locator("#field-pending")
    expect(pending).to_have_text("5 non envoyés")
    assert in_other_thread(lambda: Canvass.objects.count()) == 0

    # A report written offline is queued too.
    page.goto(f"/terrain/app/#/s/{field_session.pk}/r")
    page.get_by_label("Ce que vous avez entendu").fill("Beaucoup de questions sur l'hôpital.")
    page.get_by_role("button", name="Envoyer").click()
    expect(pending).to_have_text("6 non envoyés")

    # Back online: the queue empties by itself.
    go_online(context, abort)
    expect(pending).to_have_text("Tout est envoyé")
    local = page.evaluate(
        """() => new Promise((resolve) => {
            const open = indexedDB.open("campagne-terrain");
            open.onsuccess = () => {
              const get = open.result.transaction("doors").objectStore("doors").getAll();
              get.onsuccess = () => resolve(get.result);
            };
        })"""
    )
    # The same doors sent again (as after a lost answer) are answered "duplicate".
    resent = page.evaluate(
        """(doors) => fetch("/api/v1/canvassing/canvasses/batch", {
            method: "POST", credentials: "same-origin",
            headers: {"Content-Type": "application/json",
                      "X-CSRFToken": document.cookie.match(/csrftoken=([^;]+)/)[1]},
            body: JSON.stringify({records: doors.map((d) => ({client_uuid: d.client_uuid,
              session_id: d.session_id, address_id: d.address_id, door: d.door,
              outcome: d.outcome, recorded_at: d.recorded_at}))}),
        }).then((r) => r.json())""",
        local,
    )
    assert (resent["stored"], resent["duplicates"]) == (0, 5)
    local = [door["client_uuid"] for door in local]
    # The service worker did try the network while offline, and fell back on its cache.
    assert any(url.endswith("/terrain/app/") for url in seen)

    stored = in_other_thread(
        lambda: list(Canvass.objects.values_list("client_uuid", "outcome", "support", "volunteer"))
    )
    reports = in_other_thread(lambda: list(SessionReport.objects.values_list("heard", flat=True)))
    assert len(local) == 5
    assert sorted(str(u) for u, *_ in stored) == sorted(local)
    assert sorted(outcome for _u, outcome, _s, _v in stored) == ["not_home"] * 4 + ["positive"]
    assert [s for _u, o, s, _v in stored if o == "positive"] == [4]
    assert {v for *_r, v in stored} == {volunteer.pk}
    assert reports == ["Beaucoup de questions sur l'hôpital."]
