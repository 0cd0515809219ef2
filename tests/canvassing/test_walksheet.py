"""Walk sheets: a PDF with the addresses in walking order, the script, the questionnaire."""

import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from campagne.canvassing import walksheet
from tests.canvassing.factories import turf_with_stops

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_walk_sheet_pdf_has_the_addresses_in_order(client, organizer_04):
    turf = turf_with_stops(12)
    turf.campaign.script = "**Bonjour**, nous passons pour la campagne."
    turf.campaign.save()
    client.force_login(organizer_04)

    response = client.get(reverse("canvassing:turf_sheet", args=[turf.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = " ".join(pdf_text(response.content).split())
    labels = [str(s.address) for s in turf.stops.select_related("address").order_by("position")]
    # Each row reads "<position> <address> <doors>": " 1 1 Rue de l'Hubac 04000 1 ".
    rows = [f" {position} {label} 1 " for position, label in enumerate(labels, start=1)]
    assert all(row in text for row in rows), text[:800]
    offsets = [text.index(row) for row in rows]
    assert offsets == sorted(offsets)
    assert "Bonjour" in text
    assert "Les sujets qui comptent" in text
    assert "Santé" in text


def test_route_map_is_drawn_from_numbers_only():
    svg = walksheet.route_svg((44.0, 6.0), [(44.001, 6.001), (44.002, 6.0)])
    assert svg.count("<circle") == 2
    assert "<polyline" in svg
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")


def test_sheet_refuses_outside_scope(client, organizer_05, volunteer):
    turf = turf_with_stops(3)
    url = reverse("canvassing:turf_sheet", args=[turf.pk])
    for user in (organizer_05, volunteer):
        client.force_login(user)
        assert client.get(url).status_code == 404
