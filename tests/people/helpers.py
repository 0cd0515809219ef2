"""Helpers of the people page tests: the htmx header and a snapshot of what a write touches."""

from typing import Any

from campagne.audit.models import AuditEntry
from campagne.people.models import Consent, Person, Suppression, Tag, TimelineEvent

HTMX = {"HTTP_HX_REQUEST": "true"}


def db_state(person: Person) -> dict[str, Any]:
    """Everything a refused write must leave as it was, re-read from the database."""
    return {
        "person": Person.objects.filter(pk=person.pk).values().first(),
        "tags": sorted(Person.objects.get(pk=person.pk).tags.values_list("name", flat=True))
        if Person.objects.filter(pk=person.pk).exists()
        else None,
        "consents": list(Consent.objects.filter(person_id=person.pk).order_by("channel").values()),
        "events": TimelineEvent.objects.filter(person_id=person.pk).count(),
        "all_people": Person.objects.count(),
        "all_tags": Tag.objects.count(),
        "audit": AuditEntry.objects.count(),
        "suppressions": Suppression.objects.count(),
    }


# (persona, person) pairs where the person lies outside the persona's scope.
OUTSIDE_SCOPE = [
    ("organizer_05", "person_digne"),
    ("organizer_digne", "person_manosque"),
    ("volunteer", "person_digne"),
]


def assert_sent_to_login(response: Any) -> None:
    from django.urls import reverse

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))
