"""A small, exactly known population for the segment tests, on top of the shared personas.

People are listed by last name, which sorts them like their first names.

| first name | commune             | status       | tags             | consents (granted)      |
|------------|---------------------|--------------|------------------|-------------------------|
| Alice      | Digne (04070)       | sympathisant | tractage, jeunes | email                   |
| Bruno      | Manosque (04112)    | militant     | tractage         | sms (email withdrawn)   |
| Chloé      | Gap (05061)         | contact      | jeunes           | —                       |
| Denis      | Paris 1er (75101)   | adherent     | —                | email, phone            |
| Emma       | none                | contact      | elus             | —                       |
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from campagne.accounts.scopes import scope_for
from campagne.people.models import Consent, Person
from campagne.segments import actions
from campagne.segments.definition import Definition
from tests.factories import PersonFactory, commune

PARIS = ZoneInfo("Europe/Paris")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def names(people) -> list[str]:
    """First names of a queryset of people, sorted (each test person has a distinct one)."""
    return sorted(people.values_list("first_name", flat=True))


def consent(person: Person, channel: str, granted: bool) -> None:
    Consent.objects.create(person=person, channel=channel, granted=granted, source="tests")


@pytest.fixture
def population(db):
    alice = PersonFactory(
        first_name="Alice",
        last_name="Arnaud",
        commune=commune("04070"),
        status="sympathisant",
        tags=["tractage", "jeunes"],
        birth_year=1990,
        origin="Salon de Digne 2024",
        created_at=at(2024, 1, 10, 12),
        last_contact_at=at(2024, 6, 1, 9),
    )
    bruno = PersonFactory(
        first_name="Bruno",
        last_name="Bernard",
        commune=commune("04112", "Manosque"),
        status="militant",
        tags=["tractage"],
        phone="",
        birth_year=1975,
        origin="import PS 2011",
        created_at=at(2023, 5, 1, 12),
    )
    chloe = PersonFactory(
        first_name="Chloé",
        last_name="Chevalier",
        commune=commune("05061", "Gap"),
        status="contact",
        tags=["jeunes"],
        email="",
        origin="import PS 2011 (bis)",
        # Half past midnight in Paris: still 29 February in UTC.
        created_at=at(2024, 3, 1, 0, 30),
        last_contact_at=at(2024, 3, 15, 18),
    )
    denis = PersonFactory(
        first_name="Denis",
        last_name="Durand",
        commune=commune("75101", "Paris 1er Arrondissement"),
        status="adherent",
        birth_year=1960,
        origin="Fête de la rose",
        created_at=at(2022, 1, 1, 12),
    )
    emma = PersonFactory(
        first_name="Emma",
        last_name="Estève",
        commune=None,
        status="contact",
        tags=["elus"],
        birth_year=2001,
        origin="formulaire",
        created_at=at(2024, 9, 1, 12),
    )
    consent(alice, "email", True)
    consent(bruno, "email", False)
    consent(bruno, "sms", True)
    consent(denis, "email", True)
    consent(denis, "phone", True)
    return {p.first_name: p for p in (alice, bruno, chloe, denis, emma)}


@pytest.fixture
def make_segment(hq_admin):
    """``make_segment({...}, owner=user)``: a saved segment, created through the action."""

    def make(definition: dict, *, owner=None, name: str = "Segment") -> object:
        scope = scope_for(owner or hq_admin)
        return actions.create_segment(
            scope=scope, name=name, definition=Definition.model_validate(definition)
        )

    return make


@pytest.fixture
def api_as(request, db):
    """``api_as("organizer_04")``: an API client with that persona's token; None: anonymous."""
    from django.core.cache import cache

    from tests.api.conftest import Api

    # Rate counts live in the database cache; start from zero.
    cache.clear()

    def make(persona: str | None) -> Api:
        return Api(request.getfixturevalue(persona) if persona else None)

    return make
