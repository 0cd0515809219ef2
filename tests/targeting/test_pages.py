"""Targeting pages per persona: profiles, ranked table, map data, station page, export."""

import csv
import io

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from campagne.audit.models import AuditEntry
from campagne.targeting.models import PersonStation, StationScore, TargetingProfile
from campagne.targeting.scoring import score_profile
from tests.factories import PersonFactory, commune

HTMX = {"HTTP_HX_REQUEST": "true"}
LIST = reverse("targeting:profiles")
CREATE = reverse("targeting:create")


def url(name: str, profile) -> str:
    return reverse(f"targeting:{name}", args=[profile.pk])


def station_url(key: str) -> str:
    return reverse("targeting:station", args=[key])


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


@pytest.fixture
def scored(profile):
    score_profile(profile)
    profile.refresh_from_db()
    return profile


def form_data(dataset, **changes):
    data = {
        "name": "Réservoir 04",
        "elections": [dataset.e2022.pk],
        "candidates": [dataset.melenchon.pk],
        "weight_abstention": 1,
        "weight_share_exprimes": 1,
        "weight_share_inscrits": 0,
        "weight_reservoir": 2,
        "weight_turnout": 0,
        "min_inscrits": 0,
    }
    data.update(changes)
    return data


# --- access ----------------------------------------------------------------------------------
def test_anonymous_visitor_is_sent_to_login(client, scored):
    response = client.get(LIST)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_volunteer_is_refused(client, volunteer, scored):
    client.force_login(volunteer)
    assert client.get(LIST).status_code == 403
    assert client.get(url("detail", scored)).status_code == 403
    assert client.get(station_url("04070_0001")).status_code == 403


def test_organizer_lists_shared_and_own_profiles_only(
    client, organizer_04, scored, private_profile
):
    client.force_login(organizer_04)
    response = client.get(LIST)

    assert response.status_code == 200
    assert [p.name for p in response.context["profiles"]] == ["Gauche"]
    assert client.get(url("detail", private_profile)).status_code == 404


# --- the ranked table ----------------------------------------------------------------------
def test_organizer_sees_the_ranking_of_their_territory_only(client, organizer_04, scored):
    client.force_login(organizer_04)
    response = client.get(url("detail", scored))

    assert response.status_code == 200
    rows = [score.station_id for score, _explanation in response.context["rows"]]
    assert rows == ["04112_0001", "04070_0001", "04070_0003", "04070_0002"]
    body = response.content.decode()
    assert "Gap" not in body
    assert "Pourquoi 2<sup>e</sup> ?" in body
    assert reverse("targeting:geojson", args=[scored.pk]) in body
    assert "leaflet/leaflet.js" in body
    assert "https://unpkg" not in body and "cdn" not in body.lower()


def test_other_organizer_sees_only_their_station(client, organizer_05, scored):
    client.force_login(organizer_05)
    response = client.get(url("detail", scored))

    assert [s.station_id for s, _e in response.context["rows"]] == ["05061_0001"]
    # The rank is the profile's, computed over every station.
    assert response.context["rows"][0][0].rank == 4


def test_filters_and_sorting(client, hq_admin, scored):
    client.force_login(hq_admin)

    def stations(**params):
        response = client.get(url("detail", scored), params)
        assert response.status_code == 200
        return [s.station_id for s, _e in response.context["rows"]]

    assert stations(commune="digne-les-bains") == ["04070_0001", "04070_0003", "04070_0002"]
    assert stations(commune="04112") == ["04112_0001"]
    assert stations(circonscription="04-01") == ["04070_0001", "04070_0003", "04070_0002"]
    assert stations(departement="05") == ["05061_0001"]
    assert stations(min_inscrits=900) == ["04112_0001", "04070_0001"]
    assert stations(tri="abstention_rate", ordre="asc") == [
        "04070_0002",
        "04112_0001",
        "04070_0001",
        "04070_0003",
        "05061_0001",
    ]
    assert stations(tri="reservoir")[0] == "04112_0001"
    assert stations(tri="score", ordre="asc")[0] == "04070_0002"


def test_htmx_gets_the_table_fragment_in_few_queries(client, organizer_04, scored):
    client.force_login(organizer_04)
    PersonFactory.create_batch(3, commune=commune("04070"))

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url("detail", scored), {"tri": "reservoir"}, **HTMX)

    body = response.content.decode()
    assert "<html" not in body and 'id="map-source"' in body
    assert 'aria-sort="descending"' in body
    assert "HX-Request" in response["Vary"]
    # Session, user, profile, the user's 3 territory lists, 2 filter choices, the
    # profile's summary (2), the demo marker, count, page (people counted in it): the same
    # for 50 rows as for 4.
    assert len(queries) == 13


def test_people_attached_are_counted_in_scope(client, organizer_digne, scored, dataset):
    inside = PersonFactory(commune=commune("04070"))
    PersonStation.objects.create(
        person=inside, station=dataset.stations["04070_0001"], method="exact"
    )
    client.force_login(organizer_digne)

    response = client.get(url("detail", scored))

    counts = {s.station_id: s.people for s, _e in response.context["rows"]}
    assert counts == {"04070_0001": 1, "04070_0003": 0, "04070_0002": 0}


# --- the map data ---------------------------------------------------------------------------
def test_geojson_is_scoped_with_polygons_and_points(client, organizer_04, organizer_05, scored):
    client.force_login(organizer_04)
    data = client.get(url("geojson", scored)).json()

    features = {f["id"]: f for f in data["features"]}
    assert set(features) == {"04112_0001", "04070_0001", "04070_0003", "04070_0002"}
    assert features["04070_0001"]["geometry"]["type"] == "Polygon"
    assert features["04112_0001"]["geometry"] == {"type": "Point", "coordinates": [6.235, 44.095]}
    assert features["04112_0001"]["properties"]["rank"] == 1
    assert features["04112_0001"]["properties"]["commune"] == "Manosque"
    assert features["04112_0001"]["properties"]["url"].endswith(f"?profil={scored.pk}")
    assert data["truncated"] is False

    client.force_login(organizer_05)
    other = client.get(url("geojson", scored), {"commune": "04070"}).json()
    assert other["features"] == []


# --- a station ------------------------------------------------------------------------------
def test_station_page_with_chart_history_and_explanation(client, organizer_04, scored, dataset):
    client.force_login(organizer_04)
    response = client.get(station_url("04070_0001"), {"profil": scored.pk})

    assert response.status_code == 200
    body = response.content.decode()
    assert '<svg class="results-chart" role="img"' in body
    assert "MACRON" in body and "50,0\u00a0%" in body  # 290 ÷ 580
    history = response.context["history"]
    assert [row["result"].election for row in history] == [dataset.e2022, dataset.e2017]
    assert [row["side_share"] for row in history] == [0.5, None]  # 2017 is not in the profile
    assert response.context["score"].rank == 2
    contributions = [item.contribution for item in response.context["explanation"]]
    assert sum(contributions) == pytest.approx(response.context["score"].score)
    assert 'id="station-feature"' in body


def test_station_outside_the_territory_is_not_found(client, organizer_05, scored):
    client.force_login(organizer_05)
    assert client.get(station_url("04070_0001")).status_code == 404
    assert client.get(station_url("99999_0001")).status_code == 404
    assert client.get(station_url("05061_0001")).status_code == 200


def test_a_profile_not_visible_is_ignored_on_the_station_page(
    client, organizer_04, private_profile
):
    client.force_login(organizer_04)
    response = client.get(station_url("04070_0001"), {"profil": private_profile.pk})

    assert response.status_code == 200
    assert response.context["profile"] is None


def test_station_page_lists_people_and_addresses_in_scope(client, organizer_digne, dataset, scored):
    digne, gap = PersonFactory(commune=commune("04070")), PersonFactory(commune=commune("05061"))
    for person in (digne, gap):
        PersonStation.objects.create(
            person=person, station=dataset.stations["04070_0001"], method="exact"
        )
    client.force_login(organizer_digne)

    response = client.get(station_url("04070_0001"))

    assert response.context["people_count"] == 1
    assert list(response.context["people"]) == [digne]
    assert response.context["address_count"] == 0


# --- export ---------------------------------------------------------------------------------
def test_organizer_exports_their_priority_list_audited(client, organizer_04, scored):
    client.force_login(organizer_04)
    response = client.post(url("export", scored), {"format": "csv", "commune": "04070"})

    assert response.status_code == 200
    header, *rows = csv_rows(response)
    assert header[:3] == ["rang", "score", "bureau"]
    assert [row[2] for row in rows] == ["04070_0001", "04070_0003", "04070_0002"]
    assert rows[0][9] == "40"  # abstention, %
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.subject, entry.row_count) == (
        organizer_04,
        "export",
        "targeting",
        3,
    )
    assert entry.details == {
        "profile": scored.pk,
        "filters": {"commune": "04070", "sort": "score", "descending": True},
        "format": "csv",
    }


def test_xlsx_export(client, hq_admin, scored):
    client.force_login(hq_admin)
    response = client.post(url("export", scored), {"format": "xlsx"})

    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(workbook.active.values)
    assert rows[0][2] == "bureau"
    assert [row[2] for row in rows[1:]] == [
        "04112_0001",
        "04070_0001",
        "04070_0003",
        "05061_0001",
        "04070_0002",
    ]
    assert rows[1][9] == 30.0


def test_hq_staff_reads_but_cannot_export(client, hq_staff, scored):
    client.force_login(hq_staff)
    assert client.get(url("detail", scored)).status_code == 200

    response = client.post(url("export", scored), {"format": "csv"})

    assert response.status_code == 403
    assert not AuditEntry.objects.exists()


# --- profiles: create, edit, delete, rescore ------------------------------------------------
def test_organizer_creates_a_profile_limited_to_their_territory(client, organizer_04, dataset):
    client.force_login(organizer_04)
    page = client.get(CREATE)
    assert "MÉLENCHON" in page.content.decode()

    response = client.post(CREATE, form_data(dataset, nuances=["ECO"]))

    profile = TargetingProfile.objects.get(name="Réservoir 04")
    assert response.status_code == 302 and response.url == url("detail", profile)
    assert profile.owner == organizer_04 and not profile.shared
    assert list(profile.departements.values_list("pk", flat=True)) == ["04"]
    assert profile.nuances == ["ECO"]
    assert set(profile.scores.values_list("station_id", flat=True)) == {
        "04112_0001",
        "04070_0001",
        "04070_0002",
        "04070_0003",
    }


def test_organizer_cannot_target_another_territory(client, organizer_04, dataset):
    client.force_login(organizer_04)

    response = client.post(CREATE, form_data(dataset, communes="05061"))

    assert response.status_code == 400
    assert "Hors de votre territoire" in response.content.decode()
    assert not TargetingProfile.objects.exists()


def test_a_side_is_required(client, hq_admin, dataset):
    client.force_login(hq_admin)

    response = client.post(CREATE, form_data(dataset, candidates=[]))

    assert response.status_code == 400
    assert "Cochez au moins un candidat" in response.content.decode()
    assert not TargetingProfile.objects.exists()


def test_side_fieldset_follows_the_chosen_elections(client, hq_admin, dataset):
    client.force_login(hq_admin)

    response = client.get(reverse("targeting:side"), {"elections": [dataset.e2017.pk]}, **HTMX)

    body = response.content.decode()
    assert 'id="side-fieldset"' in body and "<html" not in body
    assert "HAMON" in body and "MACRON" not in body


def test_hq_staff_cannot_create_edit_or_rescore(client, hq_staff, dataset, scored):
    client.force_login(hq_staff)
    scored_before = scored.scored_at

    assert client.post(CREATE, form_data(dataset)).status_code == 403
    assert client.post(url("edit", scored), form_data(dataset, name="Changé")).status_code == 403
    assert client.post(url("rescore", scored)).status_code == 403
    assert client.post(url("delete", scored)).status_code == 403

    scored.refresh_from_db()
    assert (scored.name, scored.scored_at) == ("Gauche", scored_before)
    assert TargetingProfile.objects.count() == 1


def test_organizer_cannot_change_a_shared_hq_profile(client, organizer_04, dataset, scored):
    client.force_login(organizer_04)

    response = client.post(url("edit", scored), form_data(dataset, name="Changé"))

    assert response.status_code == 403
    scored.refresh_from_db()
    assert scored.name == "Gauche"


def test_owner_edits_and_the_ranking_follows(client, hq_admin, dataset, scored):
    client.force_login(hq_admin)
    page = client.get(url("edit", scored))
    assert page.context["form"].initial["name"] == "Gauche"

    response = client.post(
        url("edit", scored),
        form_data(
            dataset,
            name="Abstention",
            weight_abstention=3,
            weight_share_exprimes=0,
            weight_reservoir=0,
            shared="on",
        ),
    )

    assert response.status_code == 302
    ranking = list(
        StationScore.objects.filter(profile=scored)
        .order_by("rank")
        .values_list("station_id", flat=True)
    )
    assert ranking[:2] == ["04070_0003", "05061_0001"]
    scored.refresh_from_db()
    assert (scored.name, scored.shared, scored.nuances) == ("Abstention", True, [])


def test_owner_rescores_and_deletes(client, hq_admin, scored):
    client.force_login(hq_admin)
    StationScore.objects.filter(profile=scored).delete()

    assert client.post(url("rescore", scored)).status_code == 302
    assert StationScore.objects.filter(profile=scored).count() == 5

    assert client.get(url("delete", scored)).status_code == 200
    assert client.post(url("delete", scored)).status_code == 302
    assert not TargetingProfile.objects.exists()
    assert not StationScore.objects.exists()


# --- attaching people -----------------------------------------------------------------------
def test_hq_admin_attaches_people_from_the_page(client, hq_admin, dataset):
    PersonFactory(commune=commune("04112"), address_line="")
    client.force_login(hq_admin)

    response = client.post(reverse("targeting:attach"))

    assert response.status_code == 302
    assert PersonStation.objects.get().station_id == "04112_0001"
    page = client.get(reverse("targeting:attach"))
    assert page.context["matched"] == 1 and page.context["rate"] == 100.0


def test_hq_staff_sees_the_rate_but_cannot_run_it(client, hq_staff, dataset):
    PersonFactory(commune=commune("04112"), address_line="")
    client.force_login(hq_staff)

    assert client.get(reverse("targeting:attach")).status_code == 200
    assert client.post(reverse("targeting:attach")).status_code == 403
    assert not PersonStation.objects.exists()


def test_organizer_has_no_attach_page(client, organizer_04):
    client.force_login(organizer_04)
    assert client.get(reverse("targeting:attach")).status_code == 404


# --- what is real, what is generated --------------------------------------------------------
@override_settings(CAMPAGNE_DEMO=True)
def test_demo_pages_say_which_data_is_real(client, hq_admin, scored):
    client.force_login(hq_admin)
    for page in (LIST, url("detail", scored), station_url("04070_0001")):
        body = client.get(page).content.decode()
        assert "Réelles" in body and "Générées" in body
