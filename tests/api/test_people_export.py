"""Downloading a people list through the API: scoped, filtered, audited."""

import csv
import io

import pytest
from openpyxl import load_workbook

from campagne.audit.models import AuditEntry


def csv_rows(response):
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


@pytest.fixture
def three_people(person_digne, person_manosque, person_gap):
    return person_digne, person_manosque, person_gap


@pytest.mark.parametrize(
    ("persona", "names"),
    [
        ("hq_admin", {"Jeanne", "Paul", "Lucie"}),
        ("organizer_04", {"Jeanne", "Paul"}),
        ("organizer_05", {"Lucie"}),
        ("organizer_digne", {"Jeanne"}),
    ],
)
def test_csv_export_is_the_scope_and_is_audited(api_as, request, three_people, persona, names):
    response = api_as(persona).get("/people/export")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    header, *rows = csv_rows(response)
    assert header[2] == "prénom"
    assert {row[2] for row in rows} == names
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.row_count, entry.details) == (
        request.getfixturevalue(persona),
        AuditEntry.Action.EXPORT,
        len(names),
        {"filters": {}, "format": "csv"},
    )


def test_xlsx_export_with_filters(api_as, three_people):
    response = api_as("hq_admin").get("/people/export", {"format": "xlsx", "departement": "04"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert sorted(row[2] for row in sheet.iter_rows(min_row=2, values_only=True)) == [
        "Jeanne",
        "Paul",
    ]
    assert AuditEntry.objects.get().details == {
        "filters": {"departement": "04"},
        "format": "xlsx",
    }


@pytest.mark.parametrize(
    ("persona", "status"), [("hq_staff", 403), ("volunteer", 403), (None, 401)]
)
def test_export_refused_writes_no_audit_row(api_as, three_people, persona, status):
    response = api_as(persona).get("/people/export")
    assert response.status_code == status
    assert "Jeanne" not in response.content.decode()
    assert not AuditEntry.objects.exists()


def test_unknown_format_is_invalid(api_as, three_people):
    assert api_as("hq_admin").get("/people/export", {"format": "pdf"}).status_code == 422
    assert not AuditEntry.objects.exists()
