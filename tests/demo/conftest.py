"""A few real communes of Alpes-de-Haute-Provence for the demo to spread people over.

After ``migrate`` the test database holds all of France and these are the real rows;
without the territory data they are created here with their real populations.
"""

import pytest

from campagne.territory.models import Commune, PostalCode
from tests.factories import commune

# code, name, population (INSEE 2023), postcode
COMMUNES_04 = [
    ("04070", "Digne-les-Bains", 17979, "04000"),
    ("04112", "Manosque", 22718, "04100"),
    ("04209", "Sisteron", 7850, "04200"),
    ("04088", "Forcalquier", 5222, "04300"),
    ("04019", "Barcelonnette", 2518, "04400"),
    ("04107", "Majastres", 5, "04270"),
]


def _ensure(code: str, name: str, population: int, postcode: str) -> Commune:
    place = commune(code, name)
    if place.population is None:
        place.population = population
        place.save(update_fields=["population"])
    PostalCode.objects.get_or_create(code=postcode, commune=place)
    return place


@pytest.fixture
def communes_04(db) -> dict[str, Commune]:
    return {code: _ensure(code, name, pop, postcode) for code, name, pop, postcode in COMMUNES_04}


@pytest.fixture
def gap(db) -> Commune:
    """A big commune just outside the département: the demo must never use it."""
    place = _ensure("05061", "Gap", 40000, "05000")
    place.population = 1_000_000
    place.save(update_fields=["population"])
    return place
