"""/api/v1/segments: the same rules as the pages, checked per persona."""

import pytest

from campagne.segments.models import Segment
from tests.segments.test_actions import state

DEFINITION = {"status": ["sympathisant", "militant"], "tags": {"any": ["tractage"]}}


@pytest.fixture
def segments(organizer_04, organizer_05, make_segment, population):
    return {
        "04": make_segment(
            {"tags": {"any": ["tractage"]}}, owner=organizer_04, name="Tracteurs 04"
        ),
        "05": make_segment({"status": ["contact"]}, owner=organizer_05, name="Contacts 05"),
        "hq": make_segment({"consents": ["email"]}, name="Joignables par e-mail"),
    }


def test_anonymous_caller_gets_401(api_as, segments):
    assert api_as(None).get("/segments").status_code == 401
    assert api_as(None).post("/segments/count", {}).status_code == 401


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("hq_admin", ["Contacts 05", "Joignables par e-mail", "Tracteurs 04"]),
        ("hq_staff", ["Contacts 05", "Joignables par e-mail", "Tracteurs 04"]),
        ("organizer_04", ["Tracteurs 04"]),
        ("organizer_05", ["Contacts 05"]),
    ],
)
def test_list_shows_the_segments_each_persona_may_see(api_as, segments, persona, expected):
    body = api_as(persona).get("/segments").json()
    assert [item["name"] for item in body["items"]] == expected
    assert body["count"] == len(expected)


def test_volunteer_is_refused(api_as, segments):
    api = api_as("volunteer")
    assert api.get("/segments").status_code == 403
    assert api.get(f"/segments/{segments['hq'].pk}").status_code == 404
    assert api.post("/segments/count", {}).status_code == 403


def test_detail_gives_the_definition(api_as, segments, organizer_04):
    response = api_as("organizer_04").get(f"/segments/{segments['04'].pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Tracteurs 04"
    assert body["owner"] == "orga04@test.campagne"
    assert body["definition"]["tags"] == {"any": ["tractage"], "all": [], "none": []}
    assert body["definition"]["status"] == []


@pytest.mark.parametrize(("persona", "key"), [("organizer_04", "05"), ("organizer_05", "hq")])
def test_someone_elses_segment_is_404(api_as, segments, persona, key):
    api = api_as(persona)
    pk = segments[key].pk
    before = state()
    assert api.get(f"/segments/{pk}").status_code == 404
    assert api.get(f"/segments/{pk}/count").status_code == 404
    assert api.get(f"/segments/{pk}/members").status_code == 404
    assert api.patch(f"/segments/{pk}", {"name": "Volé"}).status_code == 404
    assert api.delete(f"/segments/{pk}").status_code == 404
    assert state() == before


def test_organizer_creates_updates_and_deletes_a_segment(api_as, organizer_04, population):
    api = api_as("organizer_04")
    response = api.post("/segments", {"name": "Militants", "definition": DEFINITION})
    assert response.status_code == 201, response.content
    segment = Segment.objects.get()
    assert response.json()["id"] == segment.pk
    assert (segment.owner, segment.definition) == (organizer_04, DEFINITION)
    response = api.patch(f"/segments/{segment.pk}", {"description": "Pour la rentrée"})
    assert response.status_code == 200
    assert response.json()["description"] == "Pour la rentrée"
    response = api.patch(f"/segments/{segment.pk}", {"definition": {"has_phone": False}})
    assert response.json()["definition"]["has_phone"] is False
    segment.refresh_from_db()
    assert (segment.name, segment.definition) == ("Militants", {"has_phone": False})
    assert api.delete(f"/segments/{segment.pk}").status_code == 204
    assert Segment.objects.count() == 0


def test_hq_staff_reads_and_counts_but_cannot_write(api_as, segments, population):
    api = api_as("hq_staff")
    pk = segments["04"].pk
    assert api.get(f"/segments/{pk}").status_code == 200
    assert api.get(f"/segments/{pk}/count").json() == {"count": 2}
    assert api.post("/segments/count", DEFINITION).json() == {"count": 2}
    before = state()
    assert api.post("/segments", {"name": "Non", "definition": {}}).status_code == 403
    assert api.patch(f"/segments/{pk}", {"name": "Non"}).status_code == 403
    assert api.delete(f"/segments/{pk}").status_code == 403
    assert state() == before


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        (
            {"name": "X", "definition": {"tags": {"any": ["inconnue"]}}},
            {"tags": ["Étiquette inconnue : inconnue."]},
        ),
        (
            {"name": "X", "definition": {"territory": {"communes": ["04999"]}}},
            {"communes": ["Commune inconnue : 04999."]},
        ),
    ],
)
def test_create_refuses_unknown_references(api_as, population, payload, detail):
    response = api_as("hq_admin").post("/segments", payload)
    assert response.status_code == 422
    assert response.json() == {"detail": detail}
    assert Segment.objects.count() == 0


@pytest.mark.parametrize(
    "payload",
    [
        {"definition": {}},
        {"name": "", "definition": {}},
        {"name": "X", "definition": {"status": ["roi"]}},
        {"name": "X", "definition": {"birth_year": {"min": 2000, "max": 1990}}},
        {"name": "X", "definition": {"colour": "rouge"}},
        {"name": "X", "owner": "moi@example.test"},
    ],
)
def test_create_refuses_malformed_payloads(api_as, db, payload):
    assert api_as("hq_admin").post("/segments", payload).status_code == 422
    assert Segment.objects.count() == 0


def test_patch_refuses_a_null_name_and_a_cycle(api_as, organizer_04, make_segment):
    first = make_segment({}, owner=organizer_04)
    second = make_segment({"include_segments": [first.pk]}, owner=organizer_04)
    api = api_as("organizer_04")
    before = state()
    response = api.patch(f"/segments/{first.pk}", {"name": None})
    assert response.status_code == 422
    assert response.json() == {"detail": {"name": ["Ce champ ne peut pas être vide."]}}
    response = api.patch(f"/segments/{first.pk}", {"definition": {"exclude_segments": [second.pk]}})
    assert response.status_code == 422
    assert "cycle" in response.json()["detail"]["segments"][0]
    assert state() == before


def test_delete_refused_while_used(api_as, organizer_04, make_segment):
    used = make_segment({}, owner=organizer_04)
    make_segment({"include_segments": [used.pk]}, owner=organizer_04)
    before = state()
    response = api_as("organizer_04").delete(f"/segments/{used.pk}")
    assert response.status_code == 422
    assert state() == before


# --- count and members ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("persona", "count"),
    [("hq_admin", 2), ("organizer_04", 2), ("organizer_digne", 1), ("organizer_05", 0)],
)
def test_count_of_an_unsaved_definition_is_scoped(api_as, population, persona, count):
    response = api_as(persona).post("/segments/count", {"tags": {"any": ["Tractage"]}})
    assert response.status_code == 200
    assert response.json() == {"count": count}


def test_count_endpoint_of_a_saved_segment(api_as, segments):
    assert api_as("organizer_04").get(f"/segments/{segments['04'].pk}/count").json() == {"count": 2}
    assert api_as("hq_admin").get(f"/segments/{segments['05'].pk}/count").json() == {"count": 2}
    assert api_as("organizer_05").get(f"/segments/{segments['05'].pk}/count").json() == {"count": 1}


def test_members_are_people_items_paginated_within_scope(api_as, segments, population):
    api = api_as("hq_admin")
    pk = segments["hq"].pk
    body = api.get(f"/segments/{pk}/members").json()
    assert body["count"] == 2
    assert [item["first_name"] for item in body["items"]] == ["Alice", "Denis"]
    alice = population["Alice"]
    # The same item as /api/v1/people gives for that person.
    people_item = next(
        item
        for item in api.get("/people", {"q": "Arnaud"}).json()["items"]
        if item["id"] == alice.pk
    )
    assert body["items"][0] == people_item
    page = api.get(f"/segments/{pk}/members", {"limit": 1, "offset": 1}).json()
    assert ([item["first_name"] for item in page["items"]], page["count"]) == (["Denis"], 2)
    assert api.get(f"/segments/{pk}/members", {"limit": 0}).status_code == 422


def test_members_never_leave_the_organizers_territory(
    api_as, organizer_05, make_segment, population
):
    segment = make_segment({"territory": {"departements": ["04"]}}, owner=organizer_05)
    body = api_as("organizer_05").get(f"/segments/{segment.pk}/members").json()
    assert body == {"items": [], "count": 0}
