"""Reading people through the API: each persona sees exactly their scope."""

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from campagne.people import actions
from campagne.people.models import Channel, Person, PersonEmail
from tests.factories import PersonFactory, commune

# Who sees whom among Jeanne Martin (Digne, 04), Paul Bernard (Manosque, 04) and
# Lucie Robert (Gap, 05).
VISIBLE = {
    "hq_admin": {"Jeanne", "Paul", "Lucie"},
    "hq_staff": {"Jeanne", "Paul", "Lucie"},
    "organizer_04": {"Jeanne", "Paul"},
    "organizer_05": {"Lucie"},
    "organizer_digne": {"Jeanne"},
    "volunteer": set(),
}


@pytest.fixture
def three_people(person_digne, person_manosque, person_gap):
    return {"Jeanne": person_digne, "Paul": person_manosque, "Lucie": person_gap}


@pytest.mark.parametrize("persona", sorted(VISIBLE))
def test_list_shows_exactly_the_scope(api_as, three_people, persona):
    response = api_as(persona).get("/people")
    assert response.status_code == 200
    body = response.json()
    assert {item["first_name"] for item in body["items"]} == VISIBLE[persona]
    assert body["count"] == len(VISIBLE[persona])


def test_list_item_has_exact_values(api_as, admin_scope, person_digne):
    actions.add_tag(scope=admin_scope, person=person_digne, name="Jeunes")
    response = api_as("organizer_digne").get("/people")
    assert response.json() == {
        "items": [
            {
                "id": person_digne.pk,
                "civility": "",
                "first_name": "Jeanne",
                "last_name": "Martin",
                "email": person_digne.email,
                "phone": person_digne.phone,
                "postal_code": "04000",
                "commune": "04070",
                "status": "contact",
                "birth_year": None,
                "origin": "tests",
                "tags": ["Jeunes"],
            }
        ],
        "count": 1,
    }


def iso(moment):
    """A datetime as the API writes it (ISO 8601, milliseconds, UTC as "Z")."""
    return DjangoJSONEncoder().default(moment)


def test_anonymous_list_is_refused(api_as, person_digne):
    response = api_as(None).get("/people")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert "items" not in response.json()


def test_filters(api_as, admin_scope, three_people):
    admin = admin_scope
    actions.add_tag(scope=admin, person=three_people["Paul"], name="Tractage")
    actions.update_person(scope=admin, person=three_people["Lucie"], status="militant")
    actions.set_consent(
        scope=admin, person=three_people["Jeanne"], channel=Channel.SMS, granted=True, source="t"
    )
    api = api_as("hq_admin")

    def names(**params):
        response = api.get("/people", params)
        assert response.status_code == 200, response.content
        return {item["first_name"] for item in response.json()["items"]}

    assert names(q="martin") == {"Jeanne"}
    assert names(q="jea") == {"Jeanne"}
    assert names(q=three_people["Paul"].email) == {"Paul"}
    assert names(status="militant") == {"Lucie"}
    assert names(tag="Tractage") == {"Paul"}
    assert names(commune="04112") == {"Paul"}
    assert names(departement="04") == {"Jeanne", "Paul"}
    assert names(departement="05") == {"Lucie"}
    assert names(consent="sms") == {"Jeanne"}
    assert names(departement="04", q="bernard") == {"Paul"}
    assert names(commune="99999") == set()


def test_filters_never_widen_the_scope(api_as, three_people):
    response = api_as("organizer_digne").get("/people", {"departement": "05"})
    assert response.json() == {"items": [], "count": 0}


def test_unknown_status_filter_is_invalid(api_as, three_people):
    response = api_as("hq_admin").get("/people", {"status": "président"})
    assert response.status_code == 422


def test_pagination_and_count(api_as, db):
    digne = commune("04070")
    for name in ["Anne", "Bruno", "Chloé"]:
        PersonFactory(first_name=name, last_name="Durand", commune=digne)
    api = api_as("organizer_digne")
    first = api.get("/people", {"limit": 2}).json()
    second = api.get("/people", {"limit": 2, "offset": 2}).json()
    assert [p["first_name"] for p in first["items"]] == ["Anne", "Bruno"]
    assert [p["first_name"] for p in second["items"]] == ["Chloé"]
    assert first["count"] == second["count"] == 3
    assert api.get("/people", {"limit": 0}).status_code == 422
    assert api.get("/people", {"offset": -1}).status_code == 422


def test_limit_is_capped(api_as, db):
    digne = commune("04070")
    Person.objects.bulk_create(
        Person(first_name=f"P{i}", email=f"p{i}@example.test", commune=digne, origin="t")
        for i in range(501)
    )
    body = api_as("hq_admin").get("/people", {"limit": 10_000}).json()
    assert len(body["items"]) == 500
    assert body["count"] == 501


def test_list_query_count_does_not_grow_with_the_page(api_as, db, django_assert_num_queries):
    digne = commune("04070")
    api = api_as("organizer_04")
    PersonFactory(commune=digne, tags=["A"])
    api.get("/me")  # the token's first use records it; later calls within a minute don't
    # Token (1), scope (3), page, tags, count (3): the same for 1 row as for 20. The
    # rate count is not read: /me leased a slice of calls (campagne.lib.rate_leases).
    with django_assert_num_queries(7) as first:
        assert len(api.get("/people").json()["items"]) == 1
    for _ in range(19):
        PersonFactory(commune=digne, tags=["A", "B"])
    with django_assert_num_queries(len(first.captured_queries)):
        assert len(api.get("/people").json()["items"]) == 20


@pytest.mark.parametrize("persona", sorted(VISIBLE))
def test_detail_follows_the_scope(api_as, three_people, persona):
    api = api_as(persona)
    for name, person in three_people.items():
        response = api.get(f"/people/{person.pk}")
        if name in VISIBLE[persona]:
            assert response.status_code == 200
            assert response.json()["first_name"] == name
        else:
            assert response.status_code == 404
            assert response.json() == {"detail": "Introuvable."}


def test_detail_has_addresses_and_consents(api_as, admin_scope, person_manosque):
    admin = admin_scope
    actions.update_person(
        scope=admin,
        person=person_manosque,
        address_line="12 rue Grande",
        address_extra="Bâtiment B",
        birth_year=1980,
        civility="m",
    )
    PersonEmail.objects.create(person=person_manosque, address="paul.pro@example.test")
    consent = actions.set_consent(
        scope=admin,
        person=person_manosque,
        channel=Channel.EMAIL,
        granted=True,
        source="salon du 12 mars",
        proof="case cochée",
    )
    person_manosque.refresh_from_db()
    body = api_as("organizer_04").get(f"/people/{person_manosque.pk}").json()
    assert body == {
        "id": person_manosque.pk,
        "civility": "m",
        "first_name": "Paul",
        "last_name": "Bernard",
        "email": person_manosque.email,
        "phone": person_manosque.phone,
        "postal_code": "04100",
        "commune": "04112",
        "commune_name": "Manosque",
        "departement": "04",
        "status": "contact",
        "birth_year": 1980,
        "origin": "tests",
        "tags": [],
        "address_line": "12 rue Grande",
        "address_extra": "Bâtiment B",
        "other_emails": ["paul.pro@example.test"],
        "other_phones": [],
        "consents": [
            {
                "channel": "email",
                "granted": True,
                "at": iso(consent.at),
                "source": "salon du 12 mars",
                "proof": "case cochée",
            }
        ],
        "created_at": iso(person_manosque.created_at),
        "updated_at": iso(person_manosque.updated_at),
        "last_contact_at": iso(person_manosque.last_contact_at),
    }


def test_detail_of_a_missing_or_malformed_id(api_as, db):
    api = api_as("hq_admin")
    assert api.get("/people/999999").status_code == 404
    assert api.get("/people/abc").status_code == 422
    assert api.get(f"/people/{2**64}").status_code == 422


def test_anonymous_detail_is_refused(api_as, person_digne):
    response = api_as(None).get(f"/people/{person_digne.pk}")
    assert response.status_code == 401
    assert "first_name" not in response.json()
