"""GET /api/v1/territory/communes: the communes autocomplete of the forms."""

import pytest

URL = "/api/v1/territory/communes"

DIGNE = {
    "code": "04070",
    "name": "Digne-les-Bains",
    "departement": "04",
    "parent": None,
    "postal_codes": ["04000"],
    "population": 17_979,
    "latitude": 44.0908723554,
    "longitude": 6.23590323452,
}


@pytest.fixture
def client_as(client, db, request):
    # ``db`` here, not only through the persona: requested first from inside the test,
    # pytest-django would not switch to the test database.
    def login(persona: str):
        client.force_login(request.getfixturevalue(persona))
        return client

    return login


def item_codes(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["code"] for item in response.json()["items"]]


def test_anonymous_is_refused(client, db):
    response = client.get(URL, {"q": "digne"})
    assert response.status_code == 401
    assert "items" not in response.json()


@pytest.mark.parametrize("persona", ["hq_admin", "organizer_05", "volunteer"])
def test_any_account_reads_the_public_cog(client_as, persona):
    response = client_as(persona).get(URL, {"q": "digne-les"})
    assert response.status_code == 200
    assert response.json() == {"items": [DIGNE]}


def test_by_name_most_populous_first(client_as):
    codes = item_codes(client_as("volunteer").get(URL, {"q": "saint etienne", "limit": 3}))
    # Saint-Étienne, Saint-Étienne-du-Rouvray, Saint-Étienne-de-Montluc.
    assert codes == ["42218", "76575", "44158"]


def test_abbreviated_saint(client_as):
    # Saint Geniez d'Olt et d'Aubrac, Saint-Geniez, Saint-Geniez-ô-Merle.
    codes = item_codes(client_as("volunteer").get(URL, {"q": "st geniez"}))
    assert codes == ["12224", "04179", "19205"]


def test_by_postcode_even_without_its_leading_zero(client_as):
    codes = item_codes(client_as("volunteer").get(URL, {"postcode": "4000"}))
    # Digne-les-Bains, La Javie, La Robine-sur-Galabre, Entrages: by population.
    assert codes == ["04070", "04097", "04167", "04074"]


def test_by_postcode_and_name(client_as):
    codes = item_codes(client_as("volunteer").get(URL, {"postcode": "04000", "q": "la"}))
    assert codes == ["04097", "04167"]


def test_digits_search_codes_and_postcodes(client_as):
    assert "04070" in item_codes(client_as("volunteer").get(URL, {"q": "04000"}))
    assert item_codes(client_as("volunteer").get(URL, {"q": "04070"})) == ["04070"]


def test_nothing_typed_gives_nothing(client_as):
    assert item_codes(client_as("volunteer").get(URL)) == []
    assert item_codes(client_as("volunteer").get(URL, {"postcode": "abc"})) == []


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 51}, {"q": "dig\x00ne"}, {"postcode": "0" * 11}, {"q": "x" * 101}],
)
def test_bad_input_is_refused(client_as, params):
    response = client_as("volunteer").get(URL, params)
    assert response.status_code == 422
    assert "detail" in response.json()


def test_query_count_does_not_grow_with_the_page(client_as, django_assert_max_num_queries):
    client = client_as("volunteer")
    # Session and user, the communes and their postcodes, and (when this process has no
    # rate-limit lease left) taking a new lease.
    with django_assert_max_num_queries(10) as small:
        assert len(item_codes(client.get(URL, {"q": "saint", "limit": 2}))) == 2
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(item_codes(client.get(URL, {"q": "saint", "limit": 50}))) == 50
