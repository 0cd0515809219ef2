"""Session reports (sent from the field app, read by organizers), the review page, and
the field app's pages (shell, service worker, bundle)."""

import uuid

import pytest
from django.test import Client

from campagne.canvassing.models import Canvass, SessionReport
from tests.api.conftest import Api
from tests.canvassing.factories import CanvassFactory, SessionFactory, turf_with_stops


@pytest.fixture
def session(volunteer):
    return SessionFactory(turf=turf_with_stops(3), volunteer=volunteer)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_report_is_stored_once_per_uuid(volunteer, session):
    api = Api(volunteer)
    payload = {
        "session_id": session.pk,
        "client_uuid": str(uuid.uuid4()),
        "heard": "Le bus du matin a été supprimé.",
        "material": "Plus de tracts",
    }
    first = api.post("/canvassing/reports", payload)
    assert first.status_code == 201, first.content
    again = api.post("/canvassing/reports", payload)
    assert again.status_code == 200 and again.json()["created"] is False
    report = SessionReport.objects.get()
    assert (report.author, report.session, report.heard, report.material) == (
        volunteer,
        session,
        "Le bus du matin a été supprimé.",
        "Plus de tracts",
    )


def test_a_report_on_someone_elses_session_is_404(volunteer):
    other = SessionFactory(turf=turf_with_stops(1))
    response = Api(volunteer).post("/canvassing/reports", {"session_id": other.pk, "heard": "x"})
    assert response.status_code == 404
    assert SessionReport.objects.count() == 0


def test_hq_staff_cannot_send_a_report(hq_staff, session):
    response = Api(hq_staff).post("/canvassing/reports", {"session_id": session.pk, "heard": "x"})
    assert response.status_code == 403
    assert SessionReport.objects.count() == 0


def test_an_empty_report_is_refused(volunteer, session):
    response = Api(volunteer).post("/canvassing/reports", {"session_id": session.pk})
    assert response.status_code == 422
    assert SessionReport.objects.count() == 0


def test_organizers_read_the_reports_of_their_territory(volunteer, organizer_04, organizer_05):
    session = SessionFactory(turf=turf_with_stops(2), volunteer=volunteer)
    SessionReport.objects.create(session=session, author=volunteer, heard="Accueil chaleureux")
    page = logged_in(organizer_04).get("/terrain/comptes-rendus/")
    assert page.status_code == 200
    assert "Accueil chaleureux" in page.content.decode()
    other = logged_in(organizer_05).get("/terrain/comptes-rendus/")
    assert other.status_code == 200
    assert "Accueil chaleureux" not in other.content.decode()
    assert logged_in(volunteer).get("/terrain/comptes-rendus/").status_code == 404


def test_review_page_lists_flagged_and_accepts(volunteer, organizer_04, organizer_05, hq_staff):
    session = SessionFactory(turf=turf_with_stops(2), volunteer=volunteer)
    flagged = CanvassFactory(
        session=session,
        review=Canvass.Review.FLAGGED,
        flags=[{"check": "rate", "count": 9, "limit": 6}],
    )
    page = logged_in(organizer_04).get("/terrain/verification/")
    assert "9 portes en une minute (maximum 6)" in page.content.decode()

    # HQ staff reads but may not decide; another département's organizer sees nothing.
    refused = logged_in(hq_staff).post(
        "/terrain/verification/", {"ids": [flagged.pk], "decision": "accept"}
    )
    assert refused.status_code == 403
    logged_in(organizer_05).post(
        "/terrain/verification/", {"ids": [flagged.pk], "decision": "accept"}
    )
    assert Canvass.objects.get(pk=flagged.pk).review == Canvass.Review.FLAGGED

    response = logged_in(organizer_04).post(
        "/terrain/verification/", {"ids": [flagged.pk], "decision": "accept"}
    )
    assert response.status_code == 302
    assert Canvass.objects.get(pk=flagged.pk).review == Canvass.Review.OK


def test_the_field_app_pages(volunteer, session):
    client = logged_in(volunteer)
    shell = client.get("/terrain/app/")
    assert shell.status_code == 200
    assert "csrftoken" in shell.cookies
    worker = client.get("/terrain/app/sw.js")
    assert worker["Service-Worker-Allowed"] == "/terrain/app/"
    assert worker["Content-Type"].startswith("text/javascript")
    assert b"/static/canvassing/field/app.js" in worker.content
    bundle = client.get("/terrain/app/bundle.json").json()
    assert bundle["user"] == volunteer.pk
    [mine] = bundle["sessions"]
    assert mine["id"] == session.pk
    assert [stop["label"] for stop in mine["stops"]] == [
        "1 Rue de l'Hubac",
        "2 Rue de l'Hubac",
        "3 Rue de l'Hubac",
    ]
    assert mine["script"] == session.campaign.script
    assert Client().get("/terrain/app/").status_code == 302  # login first


def test_the_bundle_holds_only_my_sessions(volunteer, session):
    SessionFactory(turf=turf_with_stops(1))
    bundle = logged_in(volunteer).get("/terrain/app/bundle.json").json()
    assert [s["id"] for s in bundle["sessions"]] == [session.pk]
