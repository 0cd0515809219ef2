"""The browser fixture lives in tests/browser/chromium.py, loaded for the whole suite."""

from tests.browser.chromium import page  # noqa: F401 - for modules that import it from here
