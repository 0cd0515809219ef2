"""The recording endpoints: OSDI record_canvass and the field app's batch, by token and by
session (with CSRF), scoped, idempotent, throttled like every write."""

import datetime as dt
import json
import uuid

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campagne.canvassing.models import Canvass, TurfStop
from tests.api.conftest import Api
from tests.canvassing.factories import SessionFactory, turf_with_stops


@pytest.fixture
def session(volunteer):
    return SessionFactory(turf=turf_with_stops(6), volunteer=volunteer)


def addresses(session) -> list[int]:
    return list(
        TurfStop.objects.filter(turf=session.turf)
        .order_by("position")
        .values_list("address_id", flat=True)
    )


def record(session, address_id, minutes=0, **extra):
    return {
        "client_uuid": str(uuid.uuid4()),
        "session_id": session.pk,
        "address_id": address_id,
        "outcome": "not_home",
        "recorded_at": (timezone.now() - dt.timedelta(minutes=60 - 3 * minutes)).isoformat(),
        **extra,
    }


def test_batch_stores_each_record_once(volunteer, session):
    api = Api(volunteer)
    records = [record(session, a, i) for i, a in enumerate(addresses(session))]
    response = api.post("/canvassing/canvasses/batch", {"records": records})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["stored"], body["duplicates"], body["rejected"]) == (6, 0, 0)
    assert [r["client_uuid"] for r in body["results"]] == [r["client_uuid"] for r in records]

    # The phone lost the answer and sends again, with one new door.
    extra = record(session, addresses(session)[0], 10, door="1er étage")
    response = api.post("/canvassing/canvasses/batch", {"records": [*records, extra]})
    body = response.json()
    assert (body["stored"], body["duplicates"]) == (1, 6)
    assert [r["status"] for r in body["results"]] == ["duplicate"] * 6 + ["stored"]
    assert Canvass.objects.count() == 7


def test_a_sync_is_six_statements_and_no_rate_count_write(volunteer, session):
    api = Api(volunteer)
    stops = addresses(session)
    # The first call notes the token's use and leases calls from the rate limit.
    first = [record(session, a, i) for i, a in enumerate(stops[:3])]
    assert api.post("/canvassing/canvasses/batch", {"records": first}).status_code == 200
    second = [record(session, a, 10 + i) for i, a in enumerate(stops[3:])]
    with CaptureQueriesContext(connection) as queries:
        response = api.post("/canvassing/canvasses/batch", {"records": second})
    assert response.json()["stored"] == 3
    markers = ("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT")
    statements = [q["sql"] for q in queries if not q["sql"].startswith(markers)]
    # Token, session (through the scope), stops, the insert, same doors, rate check: the
    # rate limit is neither read nor written (leased), last_used_at not rewritten.
    assert len(statements) == 6, statements
    assert [sql.split()[0] for sql in statements] == ["SELECT"] * 3 + ["INSERT"] + ["SELECT"] * 2
    assert not any("campagne_cache" in sql for sql in statements)


def test_batch_with_an_out_of_scope_session_is_404_and_writes_nothing(volunteer, session):
    other = SessionFactory(turf=turf_with_stops(2))
    records = [record(session, addresses(session)[0]), record(other, addresses(other)[0])]
    response = Api(volunteer).post("/canvassing/canvasses/batch", {"records": records})
    assert response.status_code == 404
    assert Canvass.objects.count() == 0


def test_opinion_without_consent_is_dropped(volunteer, session):
    payload = record(session, addresses(session)[0], outcome="positive", support=5)
    payload["issues"] = ["Santé"]
    body = Api(volunteer).post("/canvassing/canvasses/batch", {"records": [payload]}).json()
    assert body["results"][0]["opinions_dropped"] is True
    stored = Canvass.objects.get()
    assert (stored.support, stored.issues, stored.opinion_consent) == (None, [], False)


def test_hq_staff_cannot_record(hq_staff, session):
    response = Api(hq_staff).post(
        "/canvassing/canvasses/batch", {"records": [record(session, addresses(session)[0])]}
    )
    assert response.status_code == 403
    response = Api(hq_staff).post(
        "/canvassing/record_canvass",
        {
            "canvass": {"action_date": timezone.now().isoformat(), "status_code": "not_home"},
            "session_id": session.pk,
            "address_id": addresses(session)[0],
        },
    )
    assert response.status_code == 403
    assert Canvass.objects.count() == 0


def test_osdi_record_canvass(volunteer, session):
    client_uuid = uuid.uuid4()
    payload = {
        "canvass": {
            "action_date": timezone.now().isoformat(),
            "contact_type": "in-person",
            "success": True,
            "status_code": "positive",
            "identifiers": [f"campagne:{client_uuid}"],
        },
        "add_answers": [{"question": "sujets", "responses": ["Emploi", "Santé"]}],
        "session_id": session.pk,
        "address_id": addresses(session)[2],
        "opinion_consent": True,
        "support": 4,
    }
    api = Api(volunteer)
    response = api.post("/canvassing/record_canvass", payload)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["identifiers"]) == ("stored", [f"campagne:{client_uuid}"])
    stored = Canvass.objects.get(client_uuid=client_uuid)
    assert (stored.outcome, stored.support) == ("positive", 4)
    assert stored.answers == {"sujets": ["Emploi", "Santé"]}

    again = api.post("/canvassing/record_canvass", payload)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert Canvass.objects.count() == 1


def test_osdi_record_canvass_out_of_scope_is_404(volunteer, session):
    other = SessionFactory(turf=turf_with_stops(1))
    payload = {
        "canvass": {"action_date": timezone.now().isoformat(), "status_code": "refused"},
        "session_id": other.pk,
        "address_id": addresses(other)[0],
    }
    assert Api(volunteer).post("/canvassing/record_canvass", payload).status_code == 404
    assert Canvass.objects.count() == 0


def test_session_auth_needs_the_csrf_token(volunteer, session):
    client = Client(enforce_csrf_checks=True)
    client.force_login(volunteer)
    body = json.dumps({"records": [record(session, addresses(session)[0])]})
    url = "/api/v1/canvassing/canvasses/batch"
    refused = client.post(url, body, content_type="application/json")
    assert refused.status_code == 403
    assert Canvass.objects.count() == 0
    client.get("/terrain/app/")  # sets the CSRF cookie, as the field app's page does
    token = client.cookies["csrftoken"].value
    accepted = client.post(
        url, body, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert accepted.status_code == 200
    assert Canvass.objects.count() == 1


@override_settings(API_WRITE_RATE="2/m")
def test_a_batch_counts_as_one_write(volunteer, session):
    api = Api(volunteer)
    stops = addresses(session)
    for i in range(2):
        batch = [record(session, a, i * 3 + j) for j, a in enumerate(stops[i * 3 : i * 3 + 3])]
        assert api.post("/canvassing/canvasses/batch", {"records": batch}).status_code == 200
    third = api.post("/canvassing/canvasses/batch", {"records": [record(session, stops[0], 30)]})
    assert third.status_code == 429
    assert Canvass.objects.count() == 6


def test_anonymous_is_401(session):
    response = Api().post(
        "/canvassing/canvasses/batch", {"records": [record(session, addresses(session)[0])]}
    )
    assert response.status_code == 401
    assert Canvass.objects.count() == 0
