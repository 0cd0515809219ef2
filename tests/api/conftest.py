"""Calling the REST API as a persona, with a personal token like an outside script would."""

import json
from typing import Any

import pytest
from django.core.cache import cache
from django.forms.models import model_to_dict
from django.test import Client

from campagne.accounts.models import ApiToken
from campagne.accounts.scopes import scope_for
from campagne.api import _RateFromSettings
from campagne.audit.models import AuditEntry
from campagne.people.models import Person

PERSONAS = ["hq_admin", "hq_staff", "organizer_04", "organizer_05", "organizer_digne", "volunteer"]


class Api:
    """A test client for /api/v1 that sends a bearer token (or nothing, for anonymous)."""

    def __init__(self, user: Any = None, client: Client | None = None) -> None:
        self.client = client or Client()
        self.headers: dict[str, str] = {}
        self.user = user
        if user is not None:
            _token, raw = ApiToken.issue(user=user, name="tests")
            self.headers["Authorization"] = f"Bearer {raw}"

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(f"/api/v1{path}", params or {}, headers=self.headers)

    def _send(self, method: str, path: str, data: Any = None) -> Any:
        send = getattr(self.client, method)
        body = json.dumps(data) if data is not None else ""
        return send(f"/api/v1{path}", body, content_type="application/json", headers=self.headers)

    def post(self, path: str, data: Any = None) -> Any:
        return self._send("post", path, data)

    def patch(self, path: str, data: Any = None) -> Any:
        return self._send("patch", path, data)

    def put(self, path: str, data: Any = None) -> Any:
        return self._send("put", path, data)

    def delete(self, path: str) -> Any:
        return self._send("delete", path)


def snapshot(person: Any) -> dict[str, Any]:
    """Everything a write could change on a person, read back from the database."""
    fresh = Person.objects.get(pk=person.pk)
    return {
        "fields": model_to_dict(fresh, exclude=["tags"]) | {"updated_at": fresh.updated_at},
        "tags": sorted(fresh.tags.values_list("name", flat=True)),
        "consents": list(fresh.consents.values("channel", "granted", "source", "proof", "at")),
        "events": fresh.events.count(),
        "audit": AuditEntry.objects.count(),
        "people": Person.objects.count(),
    }


@pytest.fixture
def api_as(request):
    """``api_as("organizer_04")`` → an Api for that persona; ``api_as(None)``: anonymous."""

    def make(persona: str | None) -> Api:
        return Api(request.getfixturevalue(persona) if persona else None)

    return make


@pytest.fixture
def admin_scope(hq_admin):
    """For arranging data through the actions, as the HQ admin."""
    return scope_for(hq_admin)


@pytest.fixture(autouse=True)
def _fresh_rate_counts(db):
    # Rate counts live in the database cache (and each process's leases of it); start
    # each test from zero.
    cache.clear()
    _RateFromSettings.counter.clear()
