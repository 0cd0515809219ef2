"""Dashboard pages and the results export: who sees what, live fragment, audit."""

import csv
import io

import pytest
from django.test import Client

from campagne.audit.models import AuditEntry
from campagne.canvassing.models import Outcome
from tests.canvassing.factories import (
    CanvassFactory,
    FieldCampaignFactory,
    SessionFactory,
    station,
    turf_with_stops,
)
from tests.factories import departement

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def campaign_04(volunteer):
    campaign = FieldCampaignFactory(name="Porte-à-porte Digne")
    turf = turf_with_stops(6, campaign=campaign, station=station("04070_0001", "04070"))
    session = SessionFactory(turf=turf, volunteer=volunteer)
    stops = list(turf.stops.order_by("position"))
    outcomes = [Outcome.POSITIVE, Outcome.NEGATIVE, Outcome.NOT_HOME, Outcome.REFUSED]
    for stop, outcome in zip(stops, outcomes, strict=False):
        CanvassFactory(
            session=session,
            address_id=stop.address_id,
            outcome=outcome,
            opinion_consent=outcome == Outcome.POSITIVE,
            support=5 if outcome == Outcome.POSITIVE else None,
            notes="Très motivée" if outcome == Outcome.POSITIVE else "",
        )
    return campaign


@pytest.fixture
def national(campaign_04):
    """A national campaign with a turf in 04 and one in 05 (Gap)."""
    campaign = FieldCampaignFactory(name="National", departement=None)
    digne = turf_with_stops(3, campaign=campaign, station=station("04070_0002", "04070"))
    departement("05", "Hautes-Alpes")
    gap = turf_with_stops(3, campaign=campaign, station=station("05061_0001", "05061"))
    for turf, outcome in ((digne, Outcome.POSITIVE), (gap, Outcome.NEGATIVE)):
        session = SessionFactory(turf=turf)
        CanvassFactory(session=session, outcome=outcome, address_id=turf.stops.first().address_id)
    return campaign


def test_dashboard_page_and_live_fragment(organizer_04, campaign_04):
    client = client_for(organizer_04)
    url = f"/terrain/campagnes/{campaign_04.pk}/tableau/"

    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'hx-trigger="every 10s"' in html
    assert 'data-knocked="4"' in html
    assert "<svg" in html
    assert page.context["board"].totals.opened_per_positive == 3.0

    fragment = client.get(url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    body = fragment.content.decode()
    assert body.lstrip().startswith('<div id="dashboard-live"')
    assert "<html" not in body


def test_dashboard_is_404_outside_scope(organizer_05, campaign_04):
    response = client_for(organizer_05).get(f"/terrain/campagnes/{campaign_04.pk}/tableau/")
    assert response.status_code == 404


def test_dashboard_requires_login(campaign_04):
    response = Client().get(f"/terrain/campagnes/{campaign_04.pk}/tableau/")
    assert response.status_code == 302


def test_hq_staff_reads_the_dashboard(hq_staff, campaign_04):
    response = client_for(hq_staff).get(f"/terrain/campagnes/{campaign_04.pk}/tableau/")
    assert response.status_code == 200
    assert response.context["board"].totals.knocked == 4
    assert not response.context["can_export"]


def test_volunteer_sees_their_own_figures(volunteer, campaign_04):
    # Someone else's door in the same campaign, on another turf.
    other = SessionFactory(
        turf=turf_with_stops(2, campaign=campaign_04, station=station("04070_0001", "04070"))
    )
    CanvassFactory(session=other, outcome=Outcome.POSITIVE)

    response = client_for(volunteer).get(f"/terrain/campagnes/{campaign_04.pk}/tableau/")

    assert response.status_code == 200
    board = response.context["board"]
    assert board.personal and board.totals.knocked == 4
    assert "turf-map-data" not in response.content.decode()


def test_dashboard_list(organizer_digne, campaign_04, national):
    response = client_for(organizer_digne).get("/terrain/tableaux/")
    assert response.status_code == 200
    rows = {campaign.name: figures.knocked for campaign, figures in response.context["rows"]}
    assert rows == {"Porte-à-porte Digne": 4, "National": 1}


def read_csv(response) -> list[dict[str, str]]:
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(content), delimiter=";"))


def test_export_csv_with_opinions_and_audit(organizer_04, campaign_04):
    response = client_for(organizer_04).post(
        f"/terrain/campagnes/{campaign_04.pk}/tableau/export/", {"format": "csv"}
    )

    assert response.status_code == 200
    rows = read_csv(response)
    assert len(rows) == 4
    positive = next(row for row in rows if row["résultat"] == "Positif")
    assert positive["soutien (1 à 5)"] == "5"
    assert positive["notes"] == "Très motivée"
    assert positive["bureau de vote"] == "04070_0001"
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.subject, entry.row_count) == (
        organizer_04,
        "export",
        f"canvasses:{campaign_04.pk}",
        4,
    )
    assert entry.details["format"] == "csv" and entry.details["opinions"] is True


def test_export_xlsx(hq_admin, campaign_04):
    response = client_for(hq_admin).post(
        f"/terrain/campagnes/{campaign_04.pk}/tableau/export/", {"format": "xlsx"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert sheet.max_row == 5


def test_rows_without_opinion_rights_have_no_opinion_columns(campaign_04):
    from campagne.canvassing.exports import _RowMaker

    # A role that exports but may not read opinions gets rows without them.
    make_row = _RowMaker(opinions=False)
    canvass = campaign_04.canvasses.get(outcome=Outcome.POSITIVE)
    row = dict(zip(make_row.headers, make_row(canvass), strict=True))
    assert "soutien (1 à 5)" not in row and "notes" not in row
    assert "Très motivée" not in row.values() and row["résultat"] == "Positif"


def test_organizer_of_05_exports_nothing_of_04(organizer_05, campaign_04, national):
    client = client_for(organizer_05)

    response = client.post(
        f"/terrain/campagnes/{campaign_04.pk}/tableau/export/", {"format": "csv"}
    )
    assert response.status_code == 404
    # The national campaign: only its Gap doors.
    response = client.post(f"/terrain/campagnes/{national.pk}/tableau/export/", {"format": "csv"})
    rows = read_csv(response)
    assert [(row["code INSEE"], row["résultat"]) for row in rows] == [("05061", "Négatif")]
    assert AuditEntry.objects.get().row_count == 1


def test_hq_staff_cannot_export(hq_staff, campaign_04):
    response = client_for(hq_staff).post(
        f"/terrain/campagnes/{campaign_04.pk}/tableau/export/", {"format": "csv"}
    )
    assert response.status_code == 403
    assert not AuditEntry.objects.exists()


def test_volunteer_cannot_export(volunteer, campaign_04):
    response = client_for(volunteer).post(
        f"/terrain/campagnes/{campaign_04.pk}/tableau/export/", {"format": "csv"}
    )
    assert response.status_code == 403
    assert not AuditEntry.objects.exists()


def test_api_stats(organizer_04, campaign_04):
    response = client_for(organizer_04).get(f"/api/v1/canvassing/campaigns/{campaign_04.pk}/stats")

    assert response.status_code == 200
    data = response.json()
    assert data["totals"]["knocked"] == 4
    assert data["totals"]["opened_per_positive"] == 3.0
    assert [row["key"] for row in data["stations"]] == ["04070_0001"]
    assert data["coverage_reached"] == 4 and data["coverage_total"] == 6


def test_api_stats_outside_scope_is_404(organizer_05, campaign_04):
    response = client_for(organizer_05).get(f"/api/v1/canvassing/campaigns/{campaign_04.pk}/stats")
    assert response.status_code == 404
