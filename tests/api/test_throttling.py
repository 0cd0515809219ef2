"""Rate limits on the API, counted in the database cache the deployment shares."""

import time

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings

from campagne.api import AccountRateThrottle
from campagne.lib.rate_leases import LeasedCounter
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
    # Three calls counted in the cache table, under the account's id: the bucket (one
    # call every 20 s) is full again 60 s from now.
    full_at = cache.get(f"throttle_api_user{organizer_04.pk}")
    assert 55 < full_at - time.time() <= 60
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


def test_a_large_limit_is_leased_in_slices_and_still_holds():
    # 100 calls a minute, leased 5 at a time: the shared bucket is written once per slice.
    counter = LeasedCounter()
    writes = []
    now = 1_000_000.0
    for _ in range(100):
        assert counter.take("throttle_test", 100, 60, now=now) is None
        writes.append(cache.get("throttle_test"))
    assert len(set(writes)) == 20  # one shared write per 5 calls
    assert counter.take("throttle_test", 100, 60, now=now) == pytest.approx(0.6)
    # Another process (another counter) sees the same bucket: refused too, and nothing
    # written on refusal.
    other = LeasedCounter()
    assert other.take("throttle_test", 100, 60, now=now + 0.3) == pytest.approx(0.3)
    assert cache.get("throttle_test") == writes[-1]
    # The bucket refills one call every 0.6 s.
    assert other.take("throttle_test", 100, 60, now=now + 0.6) is None
    assert counter.take("throttle_test", 100, 60, now=now + 0.7) == pytest.approx(0.5)


def test_calls_leased_by_one_process_count_for_all():
    first, second = LeasedCounter(), LeasedCounter()
    now = 2_000_000.0
    assert first.take("throttle_shared", 40, 60, now=now) is None  # leases 2 calls
    for _ in range(38):
        assert second.take("throttle_shared", 40, 60, now=now) is None
    assert second.take("throttle_shared", 40, 60, now=now) is not None
    # The first process still holds the call it leased.
    assert first.take("throttle_shared", 40, 60, now=now) is None
    assert first.take("throttle_shared", 40, 60, now=now) is not None
