"""Field campaigns: the list, the form (stations, questionnaire), who may write."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campagne.accounts.scopes import scope_for
from campagne.canvassing import actions
from campagne.canvassing.models import FieldCampaign
from campagne.targeting.models import StationScore, TargetingProfile
from tests.canvassing.factories import FieldCampaignFactory, station
from tests.factories import departement

pytestmark = pytest.mark.django_db

LIST = reverse("canvassing:campaigns")
CREATE = reverse("canvassing:campaign_create")


def form_data(**changes):
    data = {
        "name": "Digne centre",
        "channel": "door",
        "status": "active",
        "starts_on": "2026-12-01",
        "ends_on": "2026-12-20",
        "departement": "04",
        "station_codes": "04070_0001 04070_0002",
        "script": "## Bonjour\nNous passons pour la campagne.",
        "goal_doors": "800",
        "goal_conversations": "200",
        "target_turf_doors": "60",
        "allow_claim": "on",
        "q-TOTAL_FORMS": "2",
        "q-INITIAL_FORMS": "0",
        "q-MIN_NUM_FORMS": "0",
        "q-MAX_NUM_FORMS": "30",
        "q-0-label": "Ce qui compte pour vous",
        "q-0-kind": "multi",
        "q-0-choices": "Emploi\nSanté\nLogement",
        "q-1-label": "",
        "q-1-kind": "text",
        "q-1-choices": "",
    }
    data.update(changes)
    return data


@pytest.fixture
def stations():
    return {
        code: station(code, code[:5])
        for code in ("04070_0001", "04070_0002", "04112_0001", "05061_0001")
    }


@pytest.fixture
def campaign(stations, organizer_04):
    campaign = FieldCampaignFactory(name="Manosque et Digne", created_by=organizer_04)
    campaign.stations.set([stations["04070_0001"], stations["04112_0001"]])
    return campaign


def snapshot(campaign):
    campaign.refresh_from_db()
    return (
        campaign.name,
        campaign.script,
        campaign.goal_doors,
        sorted(campaign.stations.values_list("pk", flat=True)),
    )


# --- creating -----------------------------------------------------------------------------
def test_organizer_creates_a_campaign_with_its_questionnaire(client, organizer_04, stations):
    client.force_login(organizer_04)
    response = client.post(CREATE, form_data())

    campaign = FieldCampaign.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("canvassing:campaign", args=[campaign.pk])
    assert campaign.created_by == organizer_04
    assert campaign.departement_id == "04"
    assert campaign.allow_claim is True
    assert campaign.goal_doors == 800
    assert sorted(campaign.stations.values_list("pk", flat=True)) == ["04070_0001", "04070_0002"]
    assert campaign.questionnaire == [
        {
            "key": "ce-qui-compte-pour-vous",
            "label": "Ce qui compte pour vous",
            "kind": "multi",
            "choices": ["Emploi", "Santé", "Logement"],
        }
    ]
    page = client.get(response.url)
    assert page.status_code == 200
    assert "Digne centre" in page.content.decode()


def test_organizer_may_not_take_a_station_outside_their_territory(client, organizer_04, stations):
    client.force_login(organizer_04)
    response = client.post(CREATE, form_data(station_codes="04070_0001 05061_0001"))

    assert response.status_code == 400
    assert "05061_0001" in response.content.decode()
    assert not FieldCampaign.objects.exists()


def test_organizer_may_not_pick_another_departement(client, organizer_04, stations):
    departement("05", "Hautes-Alpes")
    client.force_login(organizer_04)
    response = client.post(CREATE, form_data(departement="05"))

    assert response.status_code == 400
    assert not FieldCampaign.objects.exists()


def test_unknown_station_codes_are_named(client, organizer_04, stations):
    client.force_login(organizer_04)
    response = client.post(CREATE, form_data(station_codes="04070_0001 04070_9999"))

    assert response.status_code == 400
    assert "04070_9999" in response.content.decode()
    assert not FieldCampaign.objects.exists()


def test_a_choice_question_needs_two_choices(client, organizer_04, stations):
    client.force_login(organizer_04)
    response = client.post(CREATE, form_data(**{"q-0-kind": "choice", "q-0-choices": "Oui"}))

    assert response.status_code == 400
    assert not FieldCampaign.objects.exists()


def test_stations_from_the_top_of_a_targeting_profile(client, organizer_digne, stations):
    profile = TargetingProfile.objects.create(name="Réservoir", shared=True)
    # Ranks 1 and 3 are in Digne, rank 2 in Manosque: outside this organizer's commune.
    for rank, code in enumerate(["04070_0002", "04112_0001", "04070_0001"], start=1):
        StationScore.objects.create(
            profile=profile,
            station=stations[code],
            inscrits=1000,
            abstentions=300,
            side_votes=100,
            score=100 - rank,
            rank=rank,
        )
    client.force_login(organizer_digne)
    response = client.post(
        CREATE,
        form_data(station_codes="", targeting_profile=profile.pk, top_count="2", departement=""),
    )

    assert response.status_code == 302
    campaign = FieldCampaign.objects.get()
    assert sorted(campaign.stations.values_list("pk", flat=True)) == ["04070_0001", "04070_0002"]
    assert campaign.targeting_profile == profile
    # An organizer's campaign always belongs to a territory they cover.
    assert campaign.departement_id == "04"


def test_stations_of_a_commune(client, organizer_04, stations):
    client.force_login(organizer_04)
    response = client.post(CREATE, form_data(station_codes="", commune_code="04112"))

    assert response.status_code == 302
    campaign = FieldCampaign.objects.get()
    assert list(campaign.stations.values_list("pk", flat=True)) == ["04112_0001"]


def test_questionnaire_keys_are_unique_and_kinds_checked():
    cleaned = actions.clean_questionnaire(
        [
            {"label": "Soutien", "kind": "scale", "choices": ["x"]},
            {"label": "Soutien", "kind": "choice", "choices": ["Oui", "Non", "Oui"]},
            {"label": "  ", "kind": "text"},
        ]
    )
    assert cleaned == [
        {"key": "soutien", "label": "Soutien", "kind": "scale", "choices": []},
        {"key": "soutien-2", "label": "Soutien", "kind": "choice", "choices": ["Oui", "Non"]},
    ]
    with pytest.raises(ValidationError):
        actions.clean_questionnaire([{"label": "Q", "kind": "poll"}])


# --- editing ------------------------------------------------------------------------------
def test_organizer_edits_their_campaign(client, organizer_04, campaign):
    client.force_login(organizer_04)
    url = reverse("canvassing:campaign_edit", args=[campaign.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, form_data(name="Renommée", station_codes="04112_0001"))

    assert response.status_code == 302
    assert snapshot(campaign)[0] == "Renommée"
    assert snapshot(campaign)[3] == ["04112_0001"]


def test_commune_organizer_may_not_edit_a_campaign_reaching_outside(
    client, organizer_digne, campaign
):
    # The campaign has a Manosque station; the organizer of Digne sees it (it is theirs),
    # but may not change it.
    campaign.created_by = organizer_digne
    campaign.save()
    before = snapshot(campaign)
    client.force_login(organizer_digne)
    url = reverse("canvassing:campaign_edit", args=[campaign.pk])

    assert client.post(url, form_data(name="Piratée")).status_code == 403
    assert snapshot(campaign) == before


def test_hq_staff_reads_but_may_not_write(client, hq_staff, campaign):
    before = snapshot(campaign)
    client.force_login(hq_staff)

    assert client.get(LIST).status_code == 200
    assert client.get(reverse("canvassing:campaign", args=[campaign.pk])).status_code == 200
    assert client.post(CREATE, form_data()).status_code == 403
    edit = reverse("canvassing:campaign_edit", args=[campaign.pk])
    assert client.post(edit, form_data(name="Non")).status_code == 403
    assert FieldCampaign.objects.count() == 1
    assert snapshot(campaign) == before


def test_volunteers_do_not_see_organizer_pages(client, volunteer, campaign):
    before = snapshot(campaign)
    client.force_login(volunteer)

    assert client.get(LIST).status_code == 404
    assert client.get(reverse("canvassing:campaign", args=[campaign.pk])).status_code == 404
    assert client.post(CREATE, form_data()).status_code == 404
    edit = reverse("canvassing:campaign_edit", args=[campaign.pk])
    assert client.post(edit, form_data(name="Non")).status_code == 404
    assert FieldCampaign.objects.count() == 1
    assert snapshot(campaign) == before


def test_organizer_of_another_departement_gets_404(client, organizer_05, campaign):
    before = snapshot(campaign)
    client.force_login(organizer_05)

    assert client.get(reverse("canvassing:campaign", args=[campaign.pk])).status_code == 404
    edit = reverse("canvassing:campaign_edit", args=[campaign.pk])
    assert client.post(edit, form_data(name="Non")).status_code == 404
    assert snapshot(campaign) == before
    assert "Manosque et Digne" not in client.get(LIST).content.decode()


def test_anonymous_visitor_is_sent_to_login(client, campaign):
    response = client.get(LIST)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_list_query_count_does_not_grow_with_campaigns(client, organizer_04, stations):
    client.force_login(organizer_04)
    FieldCampaignFactory().stations.set([stations["04070_0001"]])
    with CaptureQueriesContext(connection) as one:
        assert client.get(LIST).status_code == 200
    for _ in range(5):
        FieldCampaignFactory().stations.set([stations["04070_0002"]])
    with CaptureQueriesContext(connection) as six:
        response = client.get(LIST)
    assert len(re.findall(r'href="/terrain/campagnes/\d+/"', response.content.decode())) == 6
    assert len(six.captured_queries) == len(one.captured_queries)


def test_scope_check_in_the_action_itself(organizer_05, stations):
    with pytest.raises(ValidationError) as refused:
        actions.create_campaign(
            scope=scope_for(organizer_05),
            name="Hors territoire",
            stations=[stations["04070_0001"]],
        )
    assert "stations" in refused.value.message_dict
    assert not FieldCampaign.objects.exists()
