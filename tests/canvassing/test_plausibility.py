"""Plausibility checks flag records that look invented; organizers accept or reject them."""

import datetime as dt
import uuid

import pytest
from django.core.exceptions import PermissionDenied
from django.test import override_settings
from django.utils import timezone

from campagne.accounts.scopes import scope_for
from campagne.canvassing import plausibility, recording
from campagne.canvassing.models import Canvass, Outcome, TurfStop
from campagne.canvassing.recording import DoorRecord
from campagne.elections.models import Address
from tests.canvassing.factories import CanvassFactory, SessionFactory, turf_with_stops
from tests.factories import UserFactory


def stops(session):
    return list(
        TurfStop.objects.filter(turf=session.turf)
        .order_by("position")
        .values_list("address_id", "address__latitude", "address__longitude")
    )


def records(session, seconds_apart, **extra):
    base = timezone.now() - dt.timedelta(hours=1)
    return [
        DoorRecord(
            client_uuid=uuid.uuid4(),
            outcome=Outcome.NOT_HOME,
            recorded_at=base + dt.timedelta(seconds=seconds_apart * i),
            session_id=session.pk,
            address_id=address,
            **extra,
        )
        for i, (address, _lat, _lon) in enumerate(stops(session))
    ]


@pytest.fixture
def session(volunteer):
    return SessionFactory(turf=turf_with_stops(12), volunteer=volunteer)


@override_settings(FIELD_MAX_DOORS_PER_MINUTE=6)
def test_too_many_doors_in_a_minute_are_flagged(volunteer, session):
    # 12 doors, 4 seconds apart: 48 seconds for the lot.
    recording.record_canvasses(scope=scope_for(volunteer), records=records(session, 4))
    assert Canvass.objects.filter(review=Canvass.Review.FLAGGED).count() == 12
    flags = Canvass.objects.first().flags
    assert flags == [{"check": "rate", "count": 12, "limit": 6}]
    assert recording.counted(Canvass.objects.all()).count() == 0


@override_settings(FIELD_MAX_DOORS_PER_MINUTE=6)
def test_a_normal_pace_is_not_flagged(volunteer, session):
    recording.record_canvasses(scope=scope_for(volunteer), records=records(session, 90))
    assert not Canvass.objects.exclude(review=Canvass.Review.OK).exists()


@override_settings(FIELD_GPS_MIN_DOORS=10, FIELD_GPS_SPOT_METRES=30)
def test_a_turf_recorded_from_one_spot_is_flagged(volunteer):
    # 12 addresses along 500 m of street; every door "recorded" from the same corner.
    session = SessionFactory(turf=turf_with_stops(12), volunteer=volunteer)
    for i, (address, _lat, _lon) in enumerate(stops(session)):
        Address.objects.filter(pk=address).update(latitude=44.09 + 0.0008 * i)
    batch = records(session, 120, latitude=44.09, longitude=6.23, accuracy_metres=10)
    recording.record_canvasses(scope=scope_for(volunteer), records=batch)
    flagged = Canvass.objects.filter(review=Canvass.Review.FLAGGED)
    assert flagged.count() == 12
    assert flagged.first().flags[0]["check"] == "one_spot"


@override_settings(FIELD_GPS_MIN_DOORS=10, FIELD_GPS_SPOT_METRES=30)
def test_gps_along_the_street_is_not_flagged(volunteer, session):
    batch = records(session, 120)
    for record, (_a, lat, lon) in zip(batch, stops(session), strict=True):
        record.latitude, record.longitude = lat, lon
    recording.record_canvasses(scope=scope_for(volunteer), records=batch)
    assert not Canvass.objects.exclude(review=Canvass.Review.OK).exists()


@override_settings(FIELD_RATIO_MIN_DOORS=30, FIELD_RATIO_Z=4)
def test_a_volunteer_far_from_the_campaign_rates_is_flagged(volunteer):
    turf = turf_with_stops(1)
    honest = SessionFactory(turf=turf, volunteer=UserFactory())
    base = timezone.now() - dt.timedelta(days=1)
    # The campaign: 1 door in 3 opens, and a third of those are positive.
    for i in range(90):
        outcome = (Outcome.NOT_HOME, Outcome.NOT_HOME, Outcome.POSITIVE)[i % 3]
        CanvassFactory(session=honest, outcome=outcome, recorded_at=base + dt.timedelta(minutes=i))
    honest.status = "done"
    honest.save()
    liar = SessionFactory(turf=turf, volunteer=volunteer)
    for i in range(40):
        CanvassFactory(
            session=liar, outcome=Outcome.POSITIVE, recorded_at=base + dt.timedelta(minutes=i)
        )
    assert plausibility.check_outcome_ratios(turf.campaign_id) == 40
    flagged = Canvass.objects.filter(review=Canvass.Review.FLAGGED)
    assert set(flagged.values_list("volunteer", flat=True)) == {volunteer.pk}
    assert flagged.first().flags[0]["check"] == "ratio"


def test_organizers_accept_or_reject_and_reviewed_records_stay_reviewed(
    volunteer, organizer_04, organizer_05, hq_staff, session
):
    with override_settings(FIELD_MAX_DOORS_PER_MINUTE=6):
        recording.record_canvasses(scope=scope_for(volunteer), records=records(session, 4))
    ids = list(Canvass.objects.order_by("id").values_list("id", flat=True))

    # Outside their territory: nothing happens; read-only HQ staff: 403, nothing changed.
    assert recording.review_canvasses(scope=scope_for(organizer_05), ids=ids, accept=True) == 0
    with pytest.raises(PermissionDenied):
        recording.review_canvasses(scope=scope_for(hq_staff), ids=ids, accept=True)
    assert Canvass.objects.filter(review=Canvass.Review.FLAGGED).count() == 12

    organizer = scope_for(organizer_04)
    assert recording.review_canvasses(scope=organizer, ids=ids[:10], accept=True) == 10
    assert recording.review_canvasses(scope=organizer, ids=ids[10:], accept=False) == 2
    assert recording.counted(Canvass.objects.all()).count() == 10
    accepted = Canvass.objects.get(pk=ids[0])
    assert (accepted.review, accepted.reviewed_by) == (Canvass.Review.OK, organizer_04)
    # Checked again: accepted records are not flagged a second time.
    assert plausibility.flag({ids[0]: [{"check": "one_spot"}]}) == 0
