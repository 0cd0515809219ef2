"""Take the README's screenshots from a running demo (`make demo` in another terminal).

    .venv/bin/python tools/screenshots.py [--base http://127.0.0.1:8000]

Drives Debian's Chromium with Playwright, logs in as the demo accounts and writes PNGs
into docs/screenshots/.
"""

import argparse
import re
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def login(page, base: str, email: str) -> None:
    page.goto(f"{base}/comptes/connexion/")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill("campagne")
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state("networkidle")


def shoot(page, name: str, full: bool = False) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=full)
    print(f"wrote docs/screenshots/{name}.png")  # noqa: T201


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    args = parser.parse_args()
    base = args.base.rstrip("/")
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        desktop = browser.new_page(viewport={"width": 1280, "height": 860}, locale="fr-FR")
        login(desktop, base, "organisateur@demo.campagne.test")
        desktop.goto(f"{base}/personnes/?q=mar")
        shoot(desktop, "people-list")
        desktop.locator("table a[href^='/personnes/']").first.click()
        shoot(desktop, "person", full=True)
        desktop.goto(f"{base}/segments/nouveau/")
        shoot(desktop, "segment-edit")
        desktop.goto(f"{base}/ciblage/")
        first = desktop.locator("a[href^='/ciblage/']").filter(has_text=re.compile("Gauche"))
        first.first.click()
        desktop.wait_for_timeout(1500)
        desktop.locator("#map, .leaflet-container").first.scroll_into_view_if_needed()
        shoot(desktop, "targeting")
        desktop.locator("a[href^='/ciblage/bureaux/']").first.click()
        shoot(desktop, "station", full=True)
        desktop.goto(f"{base}/imports/nouveau/")
        shoot(desktop, "import")

        field_pages(desktop, base)
        mailing_pages(browser, base)

        phone = browser.new_page(
            viewport={"width": 390, "height": 800}, is_mobile=True, locale="fr-FR"
        )
        login(phone, base, "organisateur-digne@demo.campagne.test")
        phone.goto(f"{base}/personnes/")
        shoot(phone, "people-list-phone")
        field_app = browser.new_page(
            viewport={"width": 390, "height": 800}, is_mobile=True, locale="fr-FR"
        )
        login(field_app, base, "benevole@demo.campagne.test")
        field_app.goto(f"{base}/terrain/app/")
        field_app.wait_for_timeout(1500)
        shoot(field_app, "field-app-phone")
        browser.close()


def field_pages(page, base: str) -> None:
    """The organizer's field work: campaign map, a turf, the live dashboard."""
    page.goto(f"{base}/terrain/campagnes/")
    page.locator("a[href^='/terrain/campagnes/']").filter(
        has_text=re.compile("porte", re.IGNORECASE)
    ).first.click()
    campaign = page.url.rstrip("/").rsplit("/", 1)[1]
    page.goto(f"{base}/terrain/campagnes/{campaign}/carte/")
    page.wait_for_timeout(1500)
    shoot(page, "canvassing-map")
    page.goto(f"{base}/terrain/campagnes/{campaign}/")
    page.locator("a[href^='/terrain/secteurs/']").first.click()
    page.wait_for_timeout(1000)
    shoot(page, "turf", full=True)
    page.goto(f"{base}/terrain/campagnes/{campaign}/tableau/")
    page.wait_for_timeout(1500)
    shoot(page, "canvassing-dashboard", full=True)


def mailing_pages(browser, base: str) -> None:
    """HQ: a sent mailing's report, and the demo inbox with a real message."""
    page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="fr-FR")
    login(page, base, "admin@demo.campagne.test")
    page.goto(f"{base}/m/")
    hrefs = page.eval_on_selector_all(
        "a[href^='/m/']", "links => links.map(link => link.getAttribute('href'))"
    )
    first_mailing = next(href for href in hrefs if re.fullmatch(r"/m/\d+/", href))
    page.goto(f"{base}{first_mailing}rapport/")
    shoot(page, "mailing-report", full=True)
    page.goto(f"{base}/demo/boite/")
    shoot(page, "demo-inbox")
    page.close()


if __name__ == "__main__":
    main()
