"""Rate limits on the API, counted in the database cache the deployment shares."""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings

from campagne.api import AccountRateThrottle
from campagne.people.models import Person
from tests.api.conftest import Api, snapshot


def test_the_counts_live_in_the_database_cache():
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"


@override_settings(API_RATE="3/m")
def test_exceeding_the_rate_answers_429(organizer_04, organizer_05):
    api = Api(organizer_04)
    for _ in range(3):
        assert api.get("/me").status_code == 200
    refused = api.get("/people")
    assert refused.status_code == 429
    assert refused.json() == {"detail": "Trop de requêtes : réessayez dans un moment."}
    assert 0 < int(refused["Retry-After"]) <= 60
    # Three calls counted in the cache table, under the account's id.
    assert len(cache.get(f"throttle_api_user{organizer_04.pk}")) == 3
    # Counted per account: another organizer is not held back.
    assert Api(organizer_05).get("/me").status_code == 200


@override_settings(API_RATE="3/m")
def test_each_token_of_an_account_shares_its_count(organizer_04):
    first, second = Api(organizer_04), Api(organizer_04)
    for _ in range(3):
        assert first.get("/me").status_code == 200
    assert second.get("/me").status_code == 429


@override_settings(API_WRITE_RATE="1/m")
def test_writes_have_a_lower_limit_and_a_refused_write_changes_nothing(api_as, person_digne):
    api = api_as("organizer_04")
    url = f"/people/{person_digne.pk}/tags"
    assert api.post(url, {"name": "Jeunes"}).status_code == 200
    before = snapshot(person_digne)
    assert api.post(url, {"name": "Tractage"}).status_code == 429
    assert snapshot(person_digne) == before
    assert api.get(f"/people/{person_digne.pk}").status_code == 200  # reads still pass
    assert Person.objects.get().tags.count() == 1


@override_settings(API_RATE=None, API_WRITE_RATE=None)
def test_limits_can_be_turned_off(organizer_04):
    api = Api(organizer_04)
    assert all(api.get("/me").status_code == 200 for _ in range(5))
    assert cache.get(f"throttle_api_user{organizer_04.pk}") is None


@override_settings(API_RATE="beaucoup")
def test_a_malformed_rate_stops_the_start_up():
    with pytest.raises(ValueError, match="Invalid rate format: beaucoup"):
        AccountRateThrottle()
