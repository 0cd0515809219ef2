"""The published OpenAPI schema: valid, complete about auth, and kept by the implementation.

The schemathesis run generates requests from the schema for every operation, sends them
to the Django application as an HQ admin over a small database, and fails on any server
error or any response that does not match what the schema promises.
"""

import json

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from campagne.accounts.models import ApiToken
from campagne.api import api
from campagne.people import actions
from campagne.people.models import Person
from tests.factories import PersonFactory, commune

OPERATIONS = {
    ("get", "/api/v1/me"),
    ("get", "/api/v1/me/tokens"),
    ("post", "/api/v1/me/tokens"),
    ("delete", "/api/v1/me/tokens/{token_id}"),
    ("get", "/api/v1/people"),
    ("post", "/api/v1/people"),
    ("get", "/api/v1/people/export"),
    ("get", "/api/v1/people/{person_id}"),
    ("patch", "/api/v1/people/{person_id}"),
    ("delete", "/api/v1/people/{person_id}"),
    ("post", "/api/v1/people/{person_id}/tags"),
    ("delete", "/api/v1/people/{person_id}/tags/{name}"),
    ("put", "/api/v1/people/{person_id}/consents/{channel}"),
    ("get", "/api/v1/people/{person_id}/export"),
}


@pytest.fixture
def openapi(db):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_schema_is_valid_openapi(openapi):
    schemathesis.openapi.from_dict(openapi).validate()


def test_schema_describes_every_people_operation(openapi):
    # Other routers (territory…) add their own operations; these must all be there.
    published = {(method, path) for path, item in openapi["paths"].items() for method in item}
    assert OPERATIONS <= published


def test_every_operation_documents_the_errors_the_api_may_answer(openapi):
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            expected = {"429"}
            if operation.get("security"):
                expected |= {"401"} if method == "get" else {"401", "403"}
            if "requestBody" in operation:
                expected |= {"400", "422"}
            assert expected <= codes, (method, path)


def test_schema_describes_both_ways_to_authenticate(openapi):
    assert openapi["components"]["securitySchemes"] == {
        "BearerToken": {"type": "http", "scheme": "bearer"},
        "SessionAuth": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
    }
    people = openapi["paths"]["/api/v1/people"]["get"]
    assert people["security"] == [{"BearerToken": []}, {"SessionAuth": []}]
    # Minting tokens is for a logged-in person, not for a token.
    assert openapi["paths"]["/api/v1/me/tokens"]["post"]["security"] == [{"SessionAuth": []}]


def test_docs_page_is_served_without_a_third_party_cdn(db):
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    body = response.content.decode()
    assert "/api/v1/openapi.json" in body
    assert "/static/ninja/swagger-ui-bundle.js" in body
    assert "cdn." not in body


# --- schemathesis ---------------------------------------------------------------------------
# The schema as the API publishes it (test_published_schema_is_the_one_fuzzed), loaded at
# collection so that each operation is a test of its own.
SCHEMA = schemathesis.openapi.from_dict(
    api.get_openapi_schema(path_prefix="/api/v1/"),
    config=schemathesis.Config.from_dict(
        {
            "seed": 20260401,
            # Fuzzing only, a few examples per operation: the run stays near 30 seconds.
            "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
            "generation": {"max-examples": 12},
            "checks": {
                "enabled": False,
                "not_a_server_error": {"enabled": True},
                "status_code_conformance": {"enabled": True},
                "content_type_conformance": {"enabled": True},
                "response_schema_conformance": {"enabled": True},
                "negative_data_rejection": {"enabled": True},
            },
        }
    ),
)


def test_published_schema_is_the_one_fuzzed(openapi):
    assert json.loads(json.dumps(SCHEMA.raw_schema)) == openapi


@pytest.fixture
def in_test_transaction():
    """Let the WSGI application run inside the test's transaction.

    Django's test client disconnects ``close_old_connections`` around each request; the
    WSGI handler that schemathesis calls does not, and closing the connection would end
    the test's transaction. Disconnected the same way, the application sees the test's
    data without a transactional (truncating) test.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(settings, in_test_transaction, hq_admin, admin_scope):
    """A few people to read and write, and the HQ admin's token to do it with."""
    settings.ALLOWED_HOSTS = ["localhost"]  # the host schemathesis's WSGI client sends
    # Hundreds of calls in a few seconds: the rate limits have tests of their own.
    settings.API_RATE = settings.API_WRITE_RATE = None
    digne, manosque = commune("04070"), commune("04112", "Manosque")
    for index in range(4):
        person = PersonFactory(commune=digne if index % 2 else manosque, tags=["Jeunes"])
        actions.set_consent(
            scope=admin_scope, person=person, channel="email", granted=True, source="tests"
        )
    return ApiToken.issue(user=hq_admin, name="schemathesis")[1]


@pytest.fixture(scope="module")
def wsgi_app():
    return WSGIHandler()


@SCHEMA.parametrize()
@hypothesis_settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_keeps_its_schema(case, admin_token, wsgi_app):
    person_id = case.path_parameters.get("person_id") if case.path_parameters else None
    if isinstance(person_id, int) and person_id > 0:
        # Random ids would nearly all answer 404: aim most of them at real people so that
        # the generated bodies reach the actions.
        existing = list(Person.objects.order_by("pk").values_list("pk", flat=True))
        if existing and person_id % 4:
            case.path_parameters["person_id"] = existing[person_id % len(existing)]
    case.call_and_validate(app=wsgi_app, headers={"Authorization": f"Bearer {admin_token}"})
