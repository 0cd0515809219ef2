"""The report page and API: exact figures, scoped like the mailing itself."""

import json

import pytest

from campagne.mailing.actions import unsubscribe
from campagne.mailing.message import unsubscribe_token
from campagne.tracking import recorder
from campagne.tracking.models import Hit
from tests.mailing.conftest import make_mailing
from tests.tracking.conftest import BODY, path, send_to, tracked_urls

HUMAN = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"


@pytest.fixture
def organizer_mailing(sender, organizer_04, person_digne, person_manosque, client):
    mailing = make_mailing(sender, created_by=organizer_04, body=BODY)
    digne, manosque = send_to(mailing, [person_digne, person_manosque])
    clicks, pixel = tracked_urls(mailing, digne)
    client.get(path(pixel), HTTP_USER_AGENT=HUMAN)
    client.get(path(clicks[0]), HTTP_USER_AGENT=HUMAN)
    client.get(path(clicks[0]), HTTP_USER_AGENT=HUMAN)
    _c, pixel = tracked_urls(mailing, manosque)
    client.get(path(pixel), HTTP_USER_AGENT="GoogleImageProxy")
    recorder.flush_all()
    unsubscribe(token=unsubscribe_token(manosque.pk))
    assert Hit.objects.count() == 4
    return mailing


def test_api_report_has_the_exact_figures(client, organizer_04, organizer_mailing):
    client.force_login(organizer_04)
    response = client.get(f"/api/v1/mailings/{organizer_mailing.pk}/report")
    assert response.status_code == 200
    data = response.json()
    figures = {
        k: data[k]
        for k in (
            "sent",
            "delivered",
            "hard_bounces",
            "complaints",
            "unsubscribes",
            "human_openers",
            "human_open_rate",
            "machine_openers",
            "human_clickers",
            "human_clicks",
            "machine_clicks",
        )
    }
    assert figures == {
        "sent": 2,
        "delivered": 2,
        "hard_bounces": 0,
        "complaints": 0,
        "unsubscribes": 1,
        "human_openers": 1,
        "human_open_rate": 0.5,
        "machine_openers": 1,
        "human_clickers": 1,
        "human_clicks": 2,
        "machine_clicks": 0,
    }
    assert [(link["number"], link["clickers"], link["clicks"]) for link in data["links"]] == [
        (1, 1, 2),
        (2, 0, 0),
    ]
    assert [(row["code"], row["recipients"], row["openers"]) for row in data["departements"]] == [
        ("04", 2, 1)
    ]
    assert sum(bucket["clicks"] for bucket in data["timeline"]) == 2


def test_report_page_for_the_owner_and_hq(client, organizer_04, hq_staff, organizer_mailing):
    for user in (organizer_04, hq_staff):
        client.force_login(user)
        response = client.get(f"/m/{organizer_mailing.pk}/rapport/")
        assert response.status_code == 200
        assert "<svg" in response.text
        assert "https://campagne.test/meeting" in response.text
    detail = client.get(f"/m/{organizer_mailing.pk}/")
    assert f"/m/{organizer_mailing.pk}/rapport/" in detail.text


@pytest.mark.parametrize("persona", ["organizer_05", "volunteer"])
def test_report_is_404_outside_the_scope(client, request, persona, organizer_mailing):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(f"/m/{organizer_mailing.pk}/rapport/").status_code == 404
    response = client.get(f"/api/v1/mailings/{organizer_mailing.pk}/report")
    assert response.status_code == 404
    assert "human_openers" not in json.dumps(response.json())


def test_report_needs_a_login(client, organizer_mailing):
    assert client.get(f"/m/{organizer_mailing.pk}/rapport/").status_code == 302
    assert client.get(f"/api/v1/mailings/{organizer_mailing.pk}/report").status_code == 401
