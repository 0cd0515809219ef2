"""End to end, in Chromium: an organizer imports a messy file and watches it run."""

import re
import threading

import pytest

from tests.factories import PASSWORD, commune
from tests.imports.conftest import csv_bytes

pytestmark = pytest.mark.browser

ROWS = [
    ["JEAN", "MARTIN", "jean@example.org", "06 12 34 56 78", "4070"],
    ["Léa", "Roux", "lea@@example.org", "", "04070"],
    ["Lucie", "Robert", "lucie@example.org", "", "05061"],
]


@pytest.fixture
def places(db):
    """Digne and Gap, whatever an earlier transactional test left of the map of France."""
    return commune("04070"), commune("05061", "Gap")


def run_in_thread(batch_id: int) -> threading.Thread:
    """The worker's part, in a thread of its own (its own database connection)."""
    from django.db import connection

    from campagne.imports import actions

    def work() -> None:
        try:
            actions.run_import(batch_id=batch_id, chunk_size=1, pause=0.5)
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def test_upload_check_start_and_follow_an_import(organizer_04, places, tmp_path, page):
    from playwright.sync_api import expect

    path = tmp_path / "contacts.csv"
    path.write_bytes(
        csv_bytes(ROWS, encoding="cp1252", header=["Prénom", "Nom", "Mél", "Portable", "INSEE"])
    )
    page.goto("/comptes/connexion/")
    page.get_by_label("Adresse e-mail").fill(organizer_04.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Imports"
    ).click()
    page.get_by_role("link", name="Importer un fichier").click()
    page.get_by_label("Fichier").set_input_files(str(path))
    page.get_by_label("Origine des données").fill("Pétition du marché")
    page.get_by_role("button", name="Lire le fichier").click()

    # The mapping step: guessed columns, the preview and its problems, nothing written.
    expect(page.get_by_role("heading", level=1)).to_contain_text("contacts.csv")
    expect(page.get_by_label("Mél")).to_have_value("email")
    preview = page.locator("#preview")
    expect(preview).to_contain_text("+33612345678")
    expect(preview).to_contain_text("e-mail invalide : 1")
    expect(preview).to_contain_text("commune hors périmètre : 1")
    # A corrected column updates the preview in place (htmx).
    page.get_by_label("Prénom").select_option("last_name")
    page.get_by_label("Nom", exact=True).select_option("first_name")
    expect(preview.locator("tbody tr").first).to_contain_text("Martin Jean")
    page.get_by_label("Prénom").select_option("first_name")
    page.get_by_label("Nom", exact=True).select_option("last_name")
    expect(preview.locator("tbody tr").first).to_contain_text("Jean Martin")
    page.screenshot(path=str(tmp_path / "mapping.png"), full_page=True)

    page.get_by_role("button", name="Lancer l'import").click()
    expect(page).to_have_url(re.compile(r"/imports/\d+/$"))
    expect(page.locator("#progress")).to_contain_text("En attente")
    batch_id = int(page.url.rstrip("/").rsplit("/", 1)[1])

    worker = run_in_thread(batch_id)
    # The page polls: the counters and the state change without a reload.
    expect(page.locator("#progress")).to_contain_text("Terminé", timeout=30_000)
    worker.join()
    counts = page.locator("#progress .counts")
    for count, label in (("3", "lignes"), ("1", "créées"), ("2", "rejetées")):
        expect(counts).to_contain_text(re.compile(rf"\b{count}\s+{label}"))
    expect(page.get_by_role("link", name="Télécharger les lignes rejetées (CSV)")).to_be_visible()
    page.screenshot(path=str(tmp_path / "detail.png"), full_page=True)
