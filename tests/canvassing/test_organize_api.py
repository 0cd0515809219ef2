"""The organizing API: campaigns, turfs with their walk order, sessions, claims."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone

from campagne.canvassing.models import Session, Turf
from tests.api.conftest import Api
from tests.canvassing.factories import FieldCampaignFactory, station, turf_with_stops
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_counts(db):
    cache.clear()


@pytest.fixture
def turf():
    campaign = FieldCampaignFactory(name="Digne", allow_claim=True)
    campaign.stations.set([station()])
    return turf_with_stops(6, campaign=campaign)


@pytest.fixture
def digne_volunteer():
    return UserFactory(email="militant.digne@test.campagne", communes=["04070"])


def session_payload(turf, volunteer):
    start = timezone.now() + dt.timedelta(days=1)
    return {
        "turf": turf.pk,
        "volunteer": volunteer.pk,
        "starts_at": start.isoformat(),
        "ends_at": (start + dt.timedelta(hours=2)).isoformat(),
        "meeting_label": "Fontaine",
    }


def test_campaigns_and_turfs_for_an_organizer(organizer_04, turf):
    api = Api(organizer_04)
    listed = api.get("/canvassing/campaigns")
    assert listed.status_code == 200
    assert [c["name"] for c in listed.json()] == ["Digne"]

    detail = api.get(f"/canvassing/campaigns/{turf.campaign_id}")
    assert detail.status_code == 200
    assert detail.json()["stations"] == ["04070_0001"]
    assert detail.json()["questionnaire"][0]["key"] == "sujets"

    turfs = api.get(f"/canvassing/campaigns/{turf.campaign_id}/turfs").json()
    assert [t["id"] for t in turfs] == [turf.pk]
    labels = [str(s.address) for s in turf.stops.select_related("address").order_by("position")]
    assert [s["label"] for s in turfs[0]["stops"]] == labels
    assert [s["position"] for s in turfs[0]["stops"]] == [1, 2, 3, 4, 5, 6]


def test_campaigns_are_hidden_outside_scope(organizer_05, volunteer, turf):
    for user in (organizer_05, volunteer):
        api = Api(user)
        assert api.get(f"/canvassing/campaigns/{turf.campaign_id}").status_code == 404
        assert api.get(f"/canvassing/campaigns/{turf.campaign_id}/turfs").status_code == 404
    assert Api(organizer_05).get("/canvassing/campaigns").json() == []
    assert Api(volunteer).get("/canvassing/campaigns").status_code == 404


def test_organizer_creates_a_session(organizer_04, digne_volunteer, turf):
    response = Api(organizer_04).post(
        "/canvassing/sessions", session_payload(turf, digne_volunteer)
    )

    assert response.status_code == 201
    session = Session.objects.get()
    assert response.json()["id"] == session.pk
    assert (session.volunteer, session.meeting_label) == (digne_volunteer, "Fontaine")
    assert Turf.objects.get(pk=turf.pk).status == Turf.Status.ASSIGNED

    again = Api(organizer_04).post("/canvassing/sessions", session_payload(turf, digne_volunteer))
    assert again.status_code == 422
    assert Session.objects.count() == 1


def test_session_creation_refused(organizer_05, hq_staff, volunteer, digne_volunteer, turf):
    payload = session_payload(turf, digne_volunteer)
    assert Api(organizer_05).post("/canvassing/sessions", payload).status_code == 404
    assert Api(volunteer).post("/canvassing/sessions", payload).status_code == 404
    assert Api(hq_staff).post("/canvassing/sessions", payload).status_code == 403
    stranger = UserFactory(communes=["05061"])
    refused = Api(hq_staff).post("/canvassing/sessions", session_payload(turf, stranger))
    assert refused.status_code == 403
    assert not Session.objects.exists()
    assert Turf.objects.get(pk=turf.pk).status == Turf.Status.OPEN


def test_volunteer_claims_through_the_api(digne_volunteer, volunteer, turf):
    assert Api(volunteer).post(f"/canvassing/turfs/{turf.pk}/claim").status_code == 404
    assert not Session.objects.exists()

    response = Api(digne_volunteer).post(f"/canvassing/turfs/{turf.pk}/claim")

    assert response.status_code == 201
    assert response.json()["claimed"] is True
    assert response.json()["volunteer"] == digne_volunteer.pk
    other = UserFactory(communes=["04070"])
    assert Api(other).post(f"/canvassing/turfs/{turf.pk}/claim").status_code == 404
    assert Session.objects.count() == 1
