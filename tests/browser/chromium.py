"""The `page` fixture: a real Chromium (Debian's /usr/bin/chromium) driven by Playwright.

A plugin (tests/conftest.py loads it), so that any test may ask for `page`; mark such
tests `@pytest.mark.browser`. Playwright's own browser downloads are not used: `.ci/run`
installs Debian's `chromium` package. Without it the browser tests skip and say why.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    # CI runs as root, where Chromium's sandbox cannot start.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # No calls home: the machine may have no internet access.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page(live_server) -> Iterator[object]:
    """A fresh browser page; its base URL is the live server's.

    Request it after the fixtures that create data: while the browser runs, Playwright's
    event loop runs in this thread, and Django refuses database calls from it
    (SynchronousOnlyOperation). Allowing them (DJANGO_ALLOW_ASYNC_UNSAFE) is no way out:
    Django would then open a second connection in the loop's context and never close it.
    """
    if not CHROMIUM.exists():
        pytest.skip(
            f"Browser tests skipped: {CHROMIUM} not found (apt-get install chromium; "
            ".ci/run does it)."
        )
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=live_server.url, locale="fr-FR")
        # Generous: CI machines are shared, and a slow answer is not a failure here.
        context.set_default_timeout(45_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()
