"""CSV and XLSX exports of the list: scoped, filtered, audited, refused to read-only roles."""

import csv
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from openpyxl import load_workbook

from campagne.accounts.scopes import scope_for
from campagne.audit.models import AuditEntry
from campagne.people import actions
from campagne.people.exports import export_people, safe_cell
from campagne.people.filters import PeopleFilters
from campagne.people.models import Channel, EventKind, TimelineEvent
from tests.factories import PersonFactory, commune
from tests.people.helpers import assert_sent_to_login

EXPORT = reverse("people:export")


def csv_rows(response):
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def xlsx_rows(response):
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


def test_organizer_exports_the_csv_of_their_scope_only(
    client, organizer_04, person_digne, person_manosque, person_gap
):
    client.force_login(organizer_04)
    response = client.post(EXPORT, {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="personnes-')
    rows = csv_rows(response)
    assert rows[0][:4] == ["id", "civilité", "prénom", "nom"]
    assert [(row[2], row[3], row[9]) for row in rows[1:]] == [
        ("Paul", "Bernard", "04112"),
        ("Jeanne", "Martin", "04070"),
    ]
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.subject, entry.row_count) == (
        organizer_04,
        AuditEntry.Action.EXPORT,
        "people",
        2,
    )
    assert entry.details == {"filters": {}, "format": "csv"}


def test_export_is_exactly_the_filtered_list(client, organizer_04, person_digne, person_manosque):
    actions.set_consent(
        scope=scope_for(organizer_04),
        person=person_digne,
        channel=Channel.EMAIL,
        granted=True,
        source="site",
    )
    client.force_login(organizer_04)
    data = {"format": "csv", "q": "martin", "commune": "04070", "consents": ["email"]}
    rows = csv_rows(client.post(EXPORT, data))
    assert [row[3] for row in rows[1:]] == ["Martin"]
    consent_columns = dict(zip(rows[0], rows[1], strict=True))
    assert consent_columns["consentement E-mail"] == "oui"
    assert consent_columns["consentement SMS"] == ""
    entry = AuditEntry.objects.get()
    assert entry.row_count == 1
    assert entry.details == {
        "filters": {"q": "martin", "commune": "04070", "consents": ["email"]},
        "format": "csv",
    }


def test_organizer_digne_export_holds_only_digne(
    client, organizer_digne, person_digne, person_manosque, person_gap
):
    client.force_login(organizer_digne)
    rows = csv_rows(client.post(EXPORT, {"format": "csv"}))
    assert [row[3] for row in rows[1:]] == ["Martin"]
    assert AuditEntry.objects.get().row_count == 1


def test_xlsx_export_has_the_same_rows_and_its_own_audit_row(
    client, hq_admin, person_digne, person_manosque, person_gap
):
    client.force_login(hq_admin)
    response = client.post(EXPORT, {"format": "xlsx", "departement": "04"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = xlsx_rows(response)
    assert rows[0][:4] == ["id", "civilité", "prénom", "nom"]
    assert [row[3] for row in rows[1:]] == ["Bernard", "Martin"]
    entry = AuditEntry.objects.get()
    assert (entry.row_count, entry.details) == (
        2,
        {"filters": {"departement": "04"}, "format": "xlsx"},
    )


def test_list_export_adds_no_timeline_event(client, organizer_04, person_digne):
    events = TimelineEvent.objects.count()
    client.force_login(organizer_04)
    csv_rows(client.post(EXPORT, {"format": "csv"}))
    assert TimelineEvent.objects.count() == events
    assert not TimelineEvent.objects.filter(kind=EventKind.EXPORTED).exists()


@pytest.mark.parametrize("persona", ["hq_staff", "volunteer"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_roles_without_export_right_get_403_and_no_audit_row(
    client, request, persona, fmt, person_digne
):
    client.force_login(request.getfixturevalue(persona))
    response = client.post(EXPORT, {"format": fmt})
    assert response.status_code == 403
    assert "Jeanne" not in response.content.decode()
    assert AuditEntry.objects.count() == 0


def test_anonymous_visitor_cannot_export(client, person_digne):
    assert_sent_to_login(client.post(EXPORT, {"format": "csv"}))
    assert AuditEntry.objects.count() == 0


def test_export_needs_a_post(client, organizer_04, person_digne):
    client.force_login(organizer_04)
    assert client.get(EXPORT, {"format": "csv"}).status_code == 405
    assert AuditEntry.objects.count() == 0


def test_export_with_a_filter_outside_the_scope_is_refused(
    client, organizer_digne, person_manosque
):
    client.force_login(organizer_digne)
    response = client.post(EXPORT, {"format": "csv", "commune": "04112"})
    assert response.status_code == 302
    assert response.url == f"{reverse('people:list')}?commune=04112"
    assert AuditEntry.objects.count() == 0


def test_export_with_an_unknown_format_is_refused(client, organizer_04, person_digne):
    client.force_login(organizer_04)
    assert client.post(EXPORT, {"format": "pdf"}).status_code == 302
    assert AuditEntry.objects.count() == 0


def test_cells_that_a_spreadsheet_would_run_are_neutralised(client, organizer_digne):
    PersonFactory(
        first_name='=HYPERLINK("http://x")',
        last_name="@SUM(A1)",
        phone="+33612345678",
        commune=commune("04070"),
    )
    client.force_login(organizer_digne)
    row = csv_rows(client.post(EXPORT, {"format": "csv"}))[1]
    assert (row[2], row[3], row[5]) == ('\'=HYPERLINK("http://x")', "'@SUM(A1)", "+33612345678")
    cells = xlsx_rows(client.post(EXPORT, {"format": "xlsx"}))[1]
    assert (cells[2], cells[3]) == ('\'=HYPERLINK("http://x")', "'@SUM(A1)")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=1+1", "'=1+1"), ("-2+3", "'-2+3"), ("+33612345678", "+33612345678"), ("Martin", "Martin")],
)
def test_safe_cell_escapes_formulas_but_not_plain_numbers(value, expected):
    assert safe_cell(value) == expected


def test_export_function_refuses_read_only_roles_for_every_caller(hq_staff, person_digne):
    with pytest.raises(PermissionDenied):
        export_people(scope=scope_for(hq_staff), filters=PeopleFilters(), fmt="csv")
    assert AuditEntry.objects.count() == 0


def test_export_queries_do_not_grow_with_rows(organizer_04, django_assert_num_queries):
    for _index in range(30):
        PersonFactory(commune=commune("04070"), tags=["a", "b"])
    response = export_people(scope=scope_for(organizer_04), filters=PeopleFilters(), fmt="csv")
    # Streaming reads people, then their tags and consents, once per chunk of 2,000.
    with django_assert_num_queries(3):
        rows = csv_rows(response)
    assert len(rows) == 31
