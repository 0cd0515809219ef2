"""Turf cutting, re-cutting, hand adjustments on the map, the turf page; their scoping."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from campagne.accounts.scopes import scope_for
from campagne.canvassing import actions
from campagne.canvassing.models import CutStatus, Session, Turf, TurfStop
from campagne.elections.models import Address, AddressSource
from tests.canvassing.factories import (
    FieldCampaignFactory,
    SessionFactory,
    addresses,
    station,
)

pytestmark = pytest.mark.django_db

IMMEDIATE_TASKS = {
    "default": {
        "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        "QUEUES": ["default", "imports", "mailing"],
    }
}


def building(at, number: int, copies: int) -> list[Address]:
    """An address the REU lists ``copies`` times (a building with that many doors)."""
    street = "Avenue du 8 mai 1945"
    return Address.objects.bulk_create(
        Address(
            source=AddressSource.REU,
            source_id=f"reu_{at.pk}_{number}_{i}",
            number=number,
            street=street,
            commune_id=at.commune_id,
            latitude=at.latitude + 0.002,
            longitude=at.longitude + 0.001,
            station=at,
            match_key=f"{number}||{street.lower()}|{at.commune_id}",
        )
        for i in range(copies)
    )


@pytest.fixture
def campaign(organizer_04):
    """Two stations of Digne: 130 + 1 households (one a building of 3 doors) and 30."""
    first, second = station("04070_0001", "04070"), station("04070_0002", "04070")
    second.latitude, second.longitude = 44.0990, 6.2400
    second.save()
    street = addresses(130, at=first)
    # The REU copy of an address the BAN has: the same household, one door.
    original = street[0]
    Address.objects.create(
        source=AddressSource.REU,
        source_id="reu_copy",
        number=original.number,
        street=original.street,
        commune_id=original.commune_id,
        latitude=original.latitude,
        longitude=original.longitude,
        station=first,
        match_key=original.match_key,
    )
    building(first, 2, 3)
    addresses(30, at=second, street="Rue du Pied de Ville")
    campaign = FieldCampaignFactory(created_by=organizer_04, target_turf_doors=60)
    campaign.stations.set([first, second])
    return campaign


def cut(campaign, user):
    return actions.cut_campaign(scope=scope_for(user), campaign=campaign)


def turf_rows(campaign):
    return list(campaign.turfs.order_by("number"))


def test_cutting_makes_balanced_turfs_within_stations(campaign, organizer_04):
    result = cut(campaign, organizer_04)

    turfs = turf_rows(campaign)
    assert (result.queued, result.turfs, result.households, result.kept) == (False, 3, 161, 0)
    assert [t.number for t in turfs] == [1, 2, 3]
    # 133 doors of the first station in two turfs, 30 of the second in one.
    by_station = {}
    for turf in turfs:
        by_station.setdefault(turf.station_id, []).append(turf.doors)
    assert sorted(map(sum, by_station.values())) == [30, 133]
    assert len(by_station["04070_0001"]) == 2
    # Within the 40–80 doors (the cutter allows 0.6–1.4 × the station's mean size
    # and trades balance for shorter walks from the meeting point).
    assert all(40 <= doors <= 80 for doors in by_station["04070_0001"])
    for turf in turfs:
        stops = list(turf.stops.select_related("address"))
        assert {s.address.station_id for s in stops} == {turf.station_id}
        assert [s.position for s in stops] == list(range(len(stops)))
        assert turf.households == len(stops)
        assert turf.doors == sum(s.doors for s in stops)
        assert turf.route_metres > 0
        assert turf.commune_id == "04070"
        # The meeting point is the station's place.
        assert (turf.meeting_latitude, turf.meeting_longitude) == (
            turf.station.latitude,
            turf.station.longitude,
        )
    assert TurfStop.objects.filter(campaign=campaign, doors=3).count() == 1
    assert not TurfStop.objects.filter(address__source_id="reu_copy").exists()
    campaign.refresh_from_db()
    assert (campaign.cut_status, campaign.cut_progress) == (CutStatus.DONE, 100)


def test_walk_order_follows_the_street(organizer_04):
    """One side of the street, then the other: no zigzag across it."""
    place = station("04070_0003", "04070")
    campaign = FieldCampaignFactory(created_by=organizer_04, target_turf_doors=40)
    campaign.stations.set([place])
    addresses(20, at=place, street="Rue Unique")
    cut(campaign, organizer_04)

    (turf,) = turf_rows(campaign)
    parities = [
        number % 2
        for number in turf.stops.order_by("position").values_list("address__number", flat=True)
    ]
    changes = sum(1 for a, b in zip(parities, parities[1:], strict=False) if a != b)
    assert changes == 1


def test_recutting_keeps_turfs_with_sessions(campaign, organizer_04):
    cut(campaign, organizer_04)
    walked, *others = turf_rows(campaign)
    SessionFactory(turf=walked)
    walked_stops = list(walked.stops.values_list("address_id", "position"))
    campaign.target_turf_doors = 30
    campaign.save()

    result = cut(campaign, organizer_04)

    assert result.kept == 1
    turfs = turf_rows(campaign)
    assert walked in turfs
    assert list(walked.stops.values_list("address_id", "position")) == walked_stops
    assert not Turf.objects.filter(pk__in=[t.pk for t in others]).exists()
    # Every household is in exactly one turf; new numbers follow the highest kept one.
    stops = TurfStop.objects.filter(campaign=campaign)
    assert stops.count() == 161
    assert sorted(t.number for t in turfs if t != walked) == list(range(2, 2 + len(turfs) - 1))


def test_big_campaigns_are_cut_by_a_task(
    campaign, organizer_04, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE_TASKS
    monkeypatch.setattr(actions, "CUT_IN_REQUEST_MAX", 50)
    with django_capture_on_commit_callbacks(execute=True):
        result = cut(campaign, organizer_04)

    assert result.queued is True
    campaign.refresh_from_db()
    assert campaign.cut_status == CutStatus.DONE
    assert campaign.turfs.count() == 3


def test_a_cut_already_running_is_not_started_again(campaign, organizer_04):
    campaign.cut_status = CutStatus.RUNNING
    campaign.save()
    with pytest.raises(ValidationError):
        cut(campaign, organizer_04)
    assert not campaign.turfs.exists()


def test_cut_page_for_organizer_and_refusals(client, campaign, organizer_04, hq_staff, volunteer):
    url = reverse("canvassing:campaign_cut", args=[campaign.pk])
    client.force_login(hq_staff)
    assert client.post(url).status_code == 403
    client.force_login(volunteer)
    assert client.post(url).status_code == 404
    assert not campaign.turfs.exists()

    client.force_login(organizer_04)
    response = client.post(url, follow=True)
    assert response.status_code == 200
    assert "3 secteurs créés" in response.content.decode()
    assert campaign.turfs.count() == 3


# --- hand adjustments -----------------------------------------------------------------------
@pytest.fixture
def cut_campaign(campaign, organizer_04):
    cut(campaign, organizer_04)
    return campaign


def sums(turf):
    turf.refresh_from_db()
    stops = list(turf.stops.all())
    return (turf.households, turf.doors), (len(stops), sum(s.doors for s in stops))


def test_move_addresses_between_turfs(client, cut_campaign, organizer_04):
    first, second, _third = turf_rows(cut_campaign)
    moved = list(first.stops.order_by("position").values_list("address_id", flat=True)[:3])
    client.force_login(organizer_04)
    response = client.post(
        reverse("canvassing:turfs_move", args=[cut_campaign.pk]),
        {"address": moved, "target": second.pk},
    )

    assert response.status_code == 302
    assert set(second.stops.filter(address_id__in=moved).values_list("address_id", flat=True)) == (
        set(moved)
    )
    for turf in (first, second):
        counted, actual = sums(turf)
        assert counted == actual
        positions = list(turf.stops.order_by("position").values_list("position", flat=True))
        assert positions == list(range(len(positions)))


def test_split_and_merge(client, cut_campaign, organizer_04):
    first, *_ = turf_rows(cut_campaign)
    households = first.households
    client.force_login(organizer_04)

    response = client.post(reverse("canvassing:turf_split", args=[first.pk]))
    assert response.status_code == 302
    new = cut_campaign.turfs.order_by("-number").first()
    assert new.number == 4
    first_sums, new_sums = sums(first), sums(new)
    assert first_sums[0] == first_sums[1] and new_sums[0] == new_sums[1]
    assert first_sums[0][0] + new_sums[0][0] == households
    assert abs(first_sums[0][1] - new_sums[0][1]) <= 3

    response = client.post(
        reverse("canvassing:turfs_merge", args=[cut_campaign.pk]),
        {"turf": first.pk, "other": new.pk},
    )
    assert response.status_code == 302
    assert not Turf.objects.filter(pk=new.pk).exists()
    assert sums(first)[0] == sums(first)[1]
    assert first.households == households


def test_turfs_with_an_open_session_do_not_change(cut_campaign, organizer_04):
    first, second, _ = turf_rows(cut_campaign)
    SessionFactory(turf=first)
    before = list(first.stops.values_list("address_id", "position"))
    scope = scope_for(organizer_04)
    with pytest.raises(ValidationError):
        actions.split_turf(scope=scope, turf=first)
    with pytest.raises(ValidationError):
        actions.merge_turfs(scope=scope, turf=second, other=first.pk)
    with pytest.raises(ValidationError):
        actions.move_stops(
            scope=scope, campaign=cut_campaign, address_ids=[before[0][0]], target=second.pk
        )
    assert list(first.stops.values_list("address_id", "position")) == before


def test_adjustments_are_refused_outside_scope(
    client, cut_campaign, organizer_05, hq_staff, volunteer
):
    first, second, _ = turf_rows(cut_campaign)
    moved = list(first.stops.values_list("address_id", flat=True)[:2])
    before = sorted(TurfStop.objects.values_list("turf_id", "address_id", "position"))
    calls = [
        (
            reverse("canvassing:turfs_move", args=[cut_campaign.pk]),
            {"address": moved, "target": second.pk},
        ),
        (reverse("canvassing:turf_split", args=[first.pk]), {}),
        (
            reverse("canvassing:turfs_merge", args=[cut_campaign.pk]),
            {"turf": first.pk, "other": second.pk},
        ),
    ]
    for user, status in ((organizer_05, 404), (volunteer, 404), (hq_staff, 403)):
        client.force_login(user)
        for url, data in calls:
            assert client.post(url, data).status_code == status, (user, url)
    assert sorted(TurfStop.objects.values_list("turf_id", "address_id", "position")) == before
    assert cut_campaign.turfs.count() == 3


def test_map_page_and_its_data(client, cut_campaign, organizer_04, organizer_05):
    client.force_login(organizer_04)
    page = client.get(reverse("canvassing:campaign_map", args=[cut_campaign.pk]))
    assert page.status_code == 200
    assert "organize-map.js" in page.content.decode()
    data = client.get(reverse("canvassing:campaign_map_data", args=[cut_campaign.pk])).json()
    assert [t["number"] for t in data["turfs"]] == [1, 2, 3]
    first = data["turfs"][0]
    assert [s["position"] for s in first["stops"]] == list(range(1, len(first["stops"]) + 1))
    assert sum(len(t["stops"]) for t in data["turfs"]) == 161

    client.force_login(organizer_05)
    url = reverse("canvassing:campaign_map_data", args=[cut_campaign.pk])
    assert client.get(url).status_code == 404


def test_turf_page_lists_stops_in_order(client, cut_campaign, organizer_04, volunteer):
    turf = turf_rows(cut_campaign)[2]
    client.force_login(organizer_04)
    response = client.get(reverse("canvassing:turf", args=[turf.pk]))
    assert response.status_code == 200
    text = response.content.decode()
    labels = [str(s.address) for s in turf.stops.select_related("address").order_by("position")]
    offsets = [text.index(f"<li>{label}") for label in labels]
    assert offsets == sorted(offsets)

    client.force_login(volunteer)
    assert client.get(reverse("canvassing:turf", args=[turf.pk])).status_code == 404


def test_sessions_survive_a_recut_with_their_turf(cut_campaign, organizer_04):
    turf = turf_rows(cut_campaign)[0]
    session = SessionFactory(turf=turf)
    cut(cut_campaign, organizer_04)
    assert Session.objects.get(pk=session.pk).turf_id == turf.pk
