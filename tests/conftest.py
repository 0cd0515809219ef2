"""Shared fixtures: the named personas of every access test."""

import pytest

from campagne.accounts.models import Role
from tests.factories import PersonFactory, UserFactory, commune

# The test database (SQLite file, or a throwaway PostgreSQL server with --postgres), and
# the `page` fixture of the browser tests.
pytest_plugins = ["tests.postgres_server", "tests.browser.chromium"]


@pytest.fixture(autouse=True)
def _french_by_default():
    """Every test starts in French, the default language.

    LocaleMiddleware activates the request's language for the whole thread and the test
    client runs in the test's thread, so one English request would otherwise leak into
    the tests that follow it.
    """
    from django.utils import translation

    translation.activate("fr")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _france_in_transactional_tests(request):
    """Put France back for tests that run on committed data (live server, workers).

    Such tests end by flushing every table, the territory loaded by migrate included;
    the next one of them reloads it (about 3 s) so that it sees the real communes too.
    """
    if not {"transactional_db", "live_server"} & set(request.fixturenames):
        return
    request.getfixturevalue("transactional_db")
    from campagne.territory.loader import load_france
    from campagne.territory.models import Commune

    if not Commune.objects.filter(code="04070", population__isnull=False).exists():
        load_france()


@pytest.fixture
def hq_admin(db):
    return UserFactory(email="admin@test.campagne", role=Role.HQ_ADMIN)


@pytest.fixture
def hq_staff(db):
    return UserFactory(email="staff@test.campagne", role=Role.HQ_STAFF)


@pytest.fixture
def organizer_04(db):
    """Organizer of Alpes-de-Haute-Provence (04)."""
    return UserFactory(email="orga04@test.campagne", role=Role.ORGANIZER, departements=["04"])


@pytest.fixture
def organizer_05(db):
    """Organizer of another département, Hautes-Alpes (05)."""
    return UserFactory(email="orga05@test.campagne", role=Role.ORGANIZER, departements=["05"])


@pytest.fixture
def organizer_digne(db):
    """Organizer of the commune of Digne-les-Bains (04070) only."""
    return UserFactory(email="orgadigne@test.campagne", role=Role.ORGANIZER, communes=["04070"])


@pytest.fixture
def volunteer(db):
    return UserFactory(email="benevole@test.campagne", role=Role.VOLUNTEER)


@pytest.fixture
def person_digne(db):
    return PersonFactory(first_name="Jeanne", last_name="Martin", commune=commune("04070"))


@pytest.fixture
def person_manosque(db):
    return PersonFactory(
        first_name="Paul",
        last_name="Bernard",
        commune=commune("04112", "Manosque"),
        postal_code="04100",
    )


@pytest.fixture
def person_gap(db):
    """A person in Gap (05061), outside département 04."""
    return PersonFactory(
        first_name="Lucie", last_name="Robert", commune=commune("05061", "Gap"), postal_code="05000"
    )
