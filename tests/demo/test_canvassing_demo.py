"""The demo's field work: a door campaign on the top priority stations, turfs, sessions of
the demo volunteer, a few days of doors at the 2012 ratios, reports, a phone campaign."""

import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from campagne.accounts.models import User
from campagne.accounts.scopes import scope_for
from campagne.canvassing import stats
from campagne.canvassing.models import (
    CallTarget,
    Canvass,
    Channel,
    FieldCampaign,
    Session,
    SessionReport,
    Turf,
)
from campagne.demo.canvassing import DOOR_CAMPAIGN, PHONE_CAMPAIGN, load_demo_canvassing
from campagne.demo.elections import PROFILE_NAME
from campagne.targeting.models import StationScore

pytestmark = pytest.mark.usefixtures("communes_04", "gap")
# Queries of the field part of the demo (campaign, cut, sessions, doors, queue, calls).
QUERY_BUDGET = 80


@pytest.fixture
def demo(db):
    call_command("demo", people=600, stdout=StringIO())
    return {user.email.split("@")[0]: user for user in User.objects.all()}


def test_door_campaign_with_turfs_sessions_doors_and_reports(demo):
    campaign = FieldCampaign.objects.get(name=DOOR_CAMPAIGN)

    stations = set(campaign.stations.values_list("pk", flat=True))
    assert stations
    ranks = StationScore.objects.filter(
        profile__name=PROFILE_NAME, station_id__in=stations
    ).values_list("rank", flat=True)
    # The best-ranked stations that have addresses: none far down the list.
    assert min(ranks) <= 3 and max(ranks) <= 30
    turfs = Turf.objects.filter(campaign=campaign)
    assert turfs.count() >= 2
    assert set(turfs.values_list("station_id", flat=True)) <= stations
    assert all(turf.stops.count() == turf.households > 0 for turf in turfs)

    # Sessions of the demo volunteer, doors over several days, reports.
    volunteer = demo["benevole"]

    sessions = Session.objects.filter(campaign=campaign)
    assert sessions.filter(volunteer=volunteer, status=Session.Status.DONE).exists()
    assert sessions.filter(volunteer=volunteer, status=Session.Status.PLANNED).count() == 1
    assert (
        SessionReport.objects.filter(session__campaign=campaign).count()
        == sessions.filter(status=Session.Status.DONE).count()
    )
    doors = Canvass.objects.filter(campaign=campaign)
    assert doors.count() > 30
    days = {c.recorded_at.date() for c in doors}
    assert len(days) >= 2
    # The volunteer sees the planned turf in the field app's scope.
    assert scope_for(volunteer).turfs().filter(campaign=campaign).count() == 1

    # Outcomes at the 2012 ratios.
    figures = stats.dashboard(scope_for(demo["admin"]), campaign, stats.Filters()).totals

    assert 0.35 <= figures.open_rate <= 0.5
    # One positive per 14 doors opened, to the nearest door (exact at the demo's full size).
    assert figures.positive > 0
    assert abs(figures.positive - figures.opened / 14) < 1
    # Opinions only with consent (the database refuses otherwise).
    assert not Canvass.objects.filter(opinion_consent=False, support__isnull=False).exists()


def test_phone_campaign_and_the_dashboard_page(demo):
    campaign = FieldCampaign.objects.get(name=PHONE_CAMPAIGN)

    assert campaign.channel == Channel.PHONE
    assert CallTarget.objects.filter(campaign=campaign).count() > 5
    calls = Canvass.objects.filter(campaign=campaign, channel=Channel.PHONE)
    assert calls.count() > 0
    assert set(calls.values_list("volunteer__email", flat=True)) == {"benevole@demo.campagne.test"}

    # The door campaign's dashboard page shows real figures.
    campaign = FieldCampaign.objects.get(name=DOOR_CAMPAIGN)
    client = Client()
    client.force_login(demo["organisateur"])

    response = client.get(f"/terrain/campagnes/{campaign.pk}/tableau/")

    assert response.status_code == 200
    board = response.context["board"]
    assert board.totals.knocked > 30 and board.totals.positive > 0
    assert board.coverage.reached > 0 and board.chart is not None
    html = response.content.decode()
    assert f'data-knocked="{board.totals.knocked}"' in html
    assert "<svg" in html and "turf-map-data" in html


def test_field_work_is_fast_and_reset_removes_it(demo):
    """The canvassing part alone, on top of a loaded demo: well under 5 s."""
    from campagne.demo.actions import _ensure_accounts
    from campagne.demo.canvassing import reset_demo_canvassing

    reset_demo_canvassing(User.objects.all())
    assert not FieldCampaign.objects.exists()
    users = _ensure_accounts()
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        report = load_demo_canvassing(users=users, seed=4)
    assert time.perf_counter() - started < 5
    # A fixed number of queries, whatever the number of doors and calls.
    assert len(queries) < QUERY_BUDGET, len(queries)
    assert report.doors > 30 and report.calls > 0
    # Reloading from scratch leaves one of each campaign.
    call_command("demo", people=50, reset=True, stdout=StringIO())
    assert sorted(FieldCampaign.objects.values_list("name", flat=True)) == sorted(
        [DOOR_CAMPAIGN, PHONE_CAMPAIGN]
    )
