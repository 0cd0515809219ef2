"""/api/v1/targeting: profiles, ranked stations and station results, scoped like the pages."""

import pytest

from campagne.targeting.scoring import score_profile

API = "/api/v1/targeting"


@pytest.fixture
def scored(profile):
    score_profile(profile)
    return profile


def get(client, user, path, params=None):
    client.force_login(user)
    return client.get(f"{API}{path}", params or {})


def test_profiles_list_and_detail(client, organizer_04, scored, dataset):
    listed = get(client, organizer_04, "/profiles").json()
    assert [(p["id"], p["name"], p["stations"]) for p in listed] == [(scored.pk, "Gauche", 5)]

    detail = get(client, organizer_04, f"/profiles/{scored.pk}").json()
    assert detail["side_candidates"] == [dataset.melenchon.pk]
    assert detail["side_nuances"] == ["ECO"]
    assert detail["side"] == {str(dataset.e2022.pk): [dataset.melenchon.pk, dataset.jadot.pk]}
    assert detail["weights"] == {
        "abstention_rate": 1,
        "share_exprimes": 1,
        "share_inscrits": 0,
        "reservoir": 2,
        "turnout_change": 0,
    }
    assert detail["ranges"]["reservoir"] == {"min": 10.0, "max": 300.0}


def test_ranked_stations_are_scoped_with_their_parts(client, organizer_04, organizer_05, scored):
    page = get(client, organizer_04, f"/profiles/{scored.pk}/stations").json()
    assert page["count"] == 4
    assert [item["station"] for item in page["items"]] == [
        "04112_0001",
        "04070_0001",
        "04070_0003",
        "04070_0002",
    ]
    first = page["items"][0]
    assert (first["rank"], first["commune_name"], first["inscrits"]) == (1, "Manosque", 2000)
    parts = {part["key"]: part for part in first["parts"]}
    assert parts["reservoir"]["value"] == pytest.approx(300.0)
    assert parts["reservoir"]["contribution"] == pytest.approx(50.0)
    assert sum(p["contribution"] for p in first["parts"]) == pytest.approx(first["score"])

    other = get(client, organizer_05, f"/profiles/{scored.pk}/stations").json()
    assert [item["station"] for item in other["items"]] == ["05061_0001"]


def test_ranked_stations_filters_and_paging(client, hq_admin, scored):
    page = get(
        client,
        hq_admin,
        f"/profiles/{scored.pk}/stations",
        {"commune": "04070", "sort": "abstention_rate", "order": "asc", "limit": 2, "offset": 1},
    ).json()
    assert page["count"] == 3
    assert [item["station"] for item in page["items"]] == ["04070_0001", "04070_0003"]


def test_station_detail_with_results(client, organizer_04, scored, dataset):
    data = get(client, organizer_04, "/stations/04070_0001").json()

    assert data["commune_name"] == "Digne-les-Bains" and data["has_contour"] is True
    assert [r["election"]["year"] for r in data["results"]] == [2022, 2017]
    latest = data["results"][0]
    assert (latest["inscrits"], latest["exprimes"]) == (1000, 580)
    assert latest["abstention_rate"] == pytest.approx(0.4)
    votes = {c["name"]: (c["voix"], c["share_of_exprimes"]) for c in latest["candidates"]}
    assert votes["Emmanuel MACRON"] == (290, pytest.approx(0.5))


def test_outside_the_scope_is_not_found(client, organizer_05, private_profile):
    assert get(client, organizer_05, "/stations/04070_0001").status_code == 404
    assert get(client, organizer_05, f"/profiles/{private_profile.pk}").status_code == 404
    path = f"/profiles/{private_profile.pk}/stations"
    assert get(client, organizer_05, path).status_code == 404


def test_volunteer_is_refused(client, volunteer, scored):
    assert get(client, volunteer, "/profiles").status_code == 403
    assert get(client, volunteer, "/stations/04070_0001").status_code == 403
