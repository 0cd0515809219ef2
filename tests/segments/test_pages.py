"""Segment pages: list, page, form with live count, delete and export, per persona."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from campagne.audit.models import AuditEntry
from campagne.segments.models import Segment
from tests.segments.test_actions import state

HTMX = {"HTTP_HX_REQUEST": "true"}
LIST = reverse("segments:list")
CREATE = reverse("segments:create")
PREVIEW = reverse("segments:preview")


def url(name: str, segment) -> str:
    return reverse(f"segments:{name}", args=[segment.pk])


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


@pytest.fixture
def segments(organizer_04, organizer_05, make_segment, population):
    """One segment of each organizer and one of HQ."""
    return {
        "04": make_segment(
            {"tags": {"any": ["tractage"]}}, owner=organizer_04, name="Tracteurs 04"
        ),
        "05": make_segment({"status": ["contact"]}, owner=organizer_05, name="Contacts 05"),
        "hq": make_segment({"consents": ["email"]}, name="Joignables par e-mail"),
    }


# --- list -------------------------------------------------------------------------------------
def test_anonymous_visitor_is_sent_to_login(client, segments):
    response = client.get(LIST)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_organizer_lists_only_their_own_segments(client, organizer_04, segments):
    client.force_login(organizer_04)
    response = client.get(LIST)
    assert [s.name for s in response.context["segments"]] == ["Tracteurs 04"]
    body = response.content.decode()
    assert "Contacts 05" not in body and "Joignables" not in body
    assert f'hx-get="{url("count", segments["04"])}"' in body
    assert 'hx-trigger="revealed"' in body


@pytest.mark.parametrize("persona", ["hq_admin", "hq_staff"])
def test_hq_lists_every_segment_with_its_owner(client, request, persona, segments):
    client.force_login(request.getfixturevalue(persona))
    body = client.get(LIST).content.decode()
    for name in ("Tracteurs 04", "Contacts 05", "Joignables par e-mail"):
        assert name in body
    assert "orga05@test.campagne" in body


def test_list_costs_the_same_queries_whatever_the_number_of_segments(
    client, hq_admin, organizer_04, make_segment
):
    client.force_login(hq_admin)
    make_segment({}, owner=organizer_04)
    with CaptureQueriesContext(connection) as few:
        assert client.get(LIST).status_code == 200
    for number in range(5):
        make_segment({"status": ["militant"]}, owner=organizer_04, name=f"Segment {number}")
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(LIST).context["segments"]) == 6
    assert len(many) == len(few)


def test_volunteer_is_refused_the_list(client, volunteer, segments):
    client.force_login(volunteer)
    assert client.get(LIST).status_code == 403


def test_count_fragment_counts_within_the_scope(
    client, organizer_04, hq_admin, population, segments
):
    client.force_login(organizer_04)
    assert client.get(url("count", segments["04"])).content.decode().strip() == "2"
    assert client.get(url("count", segments["05"])).status_code == 404
    client.force_login(hq_admin)
    assert client.get(url("count", segments["05"])).content.decode().strip() == "2"


# --- one segment ------------------------------------------------------------------------------
def test_segment_page_shows_criteria_count_and_first_members(
    client, organizer_04, population, segments
):
    client.force_login(organizer_04)
    response = client.get(url("detail", segments["04"]))
    assert response.status_code == 200
    assert response.context["count"] == 2
    assert [p.first_name for p in response.context["preview"]] == ["Alice", "Bruno"]
    body = response.content.decode()
    assert "<dt>Au moins une de ces étiquettes</dt><dd>tractage</dd>" in body
    assert "<strong>2</strong> personnes dans votre périmètre." in body
    assert url("edit", segments["04"]) in body
    assert url("export", segments["04"]) in body


@pytest.mark.parametrize(("persona", "key"), [("organizer_05", "04"), ("organizer_04", "hq")])
def test_someone_elses_segment_does_not_exist_for_an_organizer(
    client, request, persona, key, segments
):
    client.force_login(request.getfixturevalue(persona))
    for name in ("detail", "count", "edit", "delete"):
        assert client.get(url(name, segments[key])).status_code == 404


def test_hq_staff_sees_a_segment_without_edit_or_export(client, hq_staff, population, segments):
    client.force_login(hq_staff)
    response = client.get(url("detail", segments["04"]))
    assert response.status_code == 200
    assert response.context["count"] == 2
    body = response.content.decode()
    assert url("edit", segments["04"]) not in body
    assert url("export", segments["04"]) not in body


# --- create and edit --------------------------------------------------------------------------
def test_organizer_creates_a_segment(client, organizer_04, population):
    client.force_login(organizer_04)
    assert client.get(CREATE).status_code == 200
    response = client.post(
        CREATE,
        {
            "name": "Jeunes militants",
            "status": ["sympathisant", "militant"],
            "tags_any": ["jeunes"],
            "departements": ["04"],
            "communes": "04070, 05061",
            "has_email": "yes",
        },
    )
    segment = Segment.objects.get()
    assert response.status_code == 302
    assert response.url == url("detail", segment)
    assert segment.owner == organizer_04
    assert segment.definition == {
        "status": ["sympathisant", "militant"],
        "tags": {"any": ["jeunes"]},
        "territory": {"departements": ["04"], "communes": ["04070", "05061"]},
        "has_email": True,
    }


def test_the_form_only_offers_the_organizers_territories(client, organizer_05, population):
    client.force_login(organizer_05)
    form = client.get(CREATE).context["form"]
    assert [d.code for d in form.fields["departements"].queryset] == ["05"]
    assert [r.code for r in form.fields["regions"].queryset] == ["93"]
    response = client.post(CREATE, {"name": "Hors périmètre", "departements": ["04"]})
    assert response.status_code == 400
    assert "departements" in response.context["form"].errors
    assert Segment.objects.count() == 0


def test_form_errors_are_shown_and_nothing_is_saved(client, organizer_04, population):
    client.force_login(organizer_04)
    response = client.post(
        CREATE, {"name": "", "created_after": "2024-05-01", "created_before": "2024-01-01"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "created_before": ["La date de début doit précéder la date de fin."]
    }
    assert "Corrigez les critères signalés pour voir le compte." in response.content.decode()
    response = client.post(CREATE, {"name": "  ", "status": ["militant"]})
    assert response.status_code == 400
    assert response.context["form"].errors == {"name": ["Donnez un nom au segment."]}
    assert Segment.objects.count() == 0


def test_count_button_counts_without_saving(client, organizer_04, population):
    client.force_login(organizer_04)
    response = client.post(CREATE, {"status": ["militant"], "compter": "1"})
    assert response.status_code == 200
    assert response.context["count"] == 1
    assert Segment.objects.count() == 0


def test_organizer_edits_their_segment(client, organizer_04, population, segments):
    client.force_login(organizer_04)
    segment = segments["04"]
    form = client.get(url("edit", segment)).context["form"]
    assert form.initial["tags_any"] == ["tractage"]
    assert segments["05"] not in form.fields["include_segments"].queryset
    assert segment not in form.fields["include_segments"].queryset
    response = client.post(
        url("edit", segment),
        {"name": "Tracteurs de Digne", "tags_any": ["tractage"], "communes": "04070"},
    )
    assert response.status_code == 302
    segment.refresh_from_db()
    assert segment.name == "Tracteurs de Digne"
    assert segment.definition == {
        "tags": {"any": ["tractage"]},
        "territory": {"communes": ["04070"]},
    }


def test_hq_admin_edits_an_organizers_segment_which_stays_theirs(
    client, hq_admin, organizer_04, segments
):
    client.force_login(hq_admin)
    response = client.post(url("edit", segments["04"]), {"name": "Renommé", "status": ["militant"]})
    assert response.status_code == 302
    segments["04"].refresh_from_db()
    assert (segments["04"].name, segments["04"].owner) == ("Renommé", organizer_04)


def test_a_cycle_is_refused_in_the_form(client, organizer_04, make_segment):
    first = make_segment({}, owner=organizer_04, name="Premier")
    second = make_segment({"include_segments": [first.pk]}, owner=organizer_04, name="Second")
    client.force_login(organizer_04)
    before = state()
    response = client.post(url("edit", first), {"name": "Premier", "exclude_segments": [second.pk]})
    assert response.status_code == 400
    assert "cycle" in response.context["form"].errors["include_segments"][0]
    assert state() == before


@pytest.mark.parametrize(("persona", "status"), [("hq_staff", 403), ("volunteer", 403)])
def test_read_only_roles_cannot_create(client, request, persona, status, segments):
    client.force_login(request.getfixturevalue(persona))
    before = state()
    assert client.get(CREATE).status_code == status
    assert client.post(CREATE, {"name": "Non", "status": ["militant"]}).status_code == status
    assert state() == before


@pytest.mark.parametrize(
    ("persona", "status"), [("hq_staff", 403), ("volunteer", 404), ("organizer_05", 404)]
)
def test_others_cannot_edit_or_delete(client, request, persona, status, segments):
    client.force_login(request.getfixturevalue(persona))
    segment = segments["04"]
    before = state()
    assert (
        client.post(url("edit", segment), {"name": "Volé", "status": ["militant"]}).status_code
        == status
    )
    assert client.post(url("delete", segment)).status_code == status
    assert state() == before


# --- live count -------------------------------------------------------------------------------
def test_live_count_answers_the_count_and_the_preview(client, organizer_04, population):
    client.force_login(organizer_04)
    response = client.post(PREVIEW, {"tags_any": ["tractage", "jeunes"]}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.startswith("<strong>2</strong> personnes dans votre périmètre.")
    assert '<div id="segment-preview" hx-swap-oob="innerHTML">' in body
    assert "Alice" in body and "Bruno" in body and "Chloé" not in body


def test_live_count_stays_within_the_scope(client, organizer_05, population):
    client.force_login(organizer_05)
    response = client.post(PREVIEW, {"communes": "04070 04112"}, **HTMX)
    body = response.content.decode()
    assert body.startswith("Aucune personne dans votre périmètre.")
    assert "Alice" not in body


def test_live_count_reports_invalid_criteria(client, organizer_04, population):
    client.force_login(organizer_04)
    response = client.post(PREVIEW, {"birth_year_min": "1990", "birth_year_max": "1980"}, **HTMX)
    assert response.status_code == 200
    assert response.content.decode().startswith(
        '<span class="error">Corrigez les critères signalés pour voir le compte.</span>'
    )


def test_live_count_of_someone_elses_segment_is_404(client, organizer_04, segments):
    client.force_login(organizer_04)
    response = client.post(PREVIEW, {"segment": segments["05"].pk}, **HTMX)
    assert response.status_code == 404


def test_the_form_page_wires_the_live_count(client, organizer_04, segments):
    client.force_login(organizer_04)
    body = client.get(url("edit", segments["04"])).content.decode()
    assert f'hx-post="{PREVIEW}" hx-trigger="change delay:300ms"' in body
    assert 'id="segment-count" class="segment-count" role="status" aria-live="polite"' in body


# --- delete -----------------------------------------------------------------------------------
def test_organizer_deletes_their_segment_after_confirming(client, organizer_04, segments):
    client.force_login(organizer_04)
    assert client.get(url("delete", segments["04"])).status_code == 200
    response = client.post(url("delete", segments["04"]))
    assert response.status_code == 302
    assert not Segment.objects.filter(pk=segments["04"].pk).exists()


def test_deleting_a_used_segment_explains_why_not(client, organizer_04, make_segment, segments):
    make_segment(
        {"include_segments": [segments["04"].pk]}, owner=organizer_04, name="Qui l'utilise"
    )
    client.force_login(organizer_04)
    before = state()
    response = client.post(url("delete", segments["04"]))
    assert response.status_code == 400
    assert "Utilisé par : Qui l&#x27;utilise." in response.content.decode()
    assert state() == before


# --- export -----------------------------------------------------------------------------------
def test_organizer_exports_the_members_in_scope_audited(client, organizer_04, population, segments):
    client.force_login(organizer_04)
    response = client.post(url("export", segments["04"]), {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="segment-tracteurs-04-')
    rows = csv_rows(response)
    assert rows[0][:3] == ["id", "civilité", "prénom"]
    assert [row[2] for row in rows[1:]] == ["Alice", "Bruno"]
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.subject, entry.row_count) == (
        organizer_04,
        AuditEntry.Action.EXPORT,
        f"segment:{segments['04'].pk}",
        2,
    )
    assert entry.details == {
        "segment": "Tracteurs 04",
        "definition": {"tags": {"any": ["tractage"]}},
        "format": "csv",
    }


def test_export_to_xlsx(client, hq_admin, population, segments):
    client.force_login(hq_admin)
    response = client.post(url("export", segments["hq"]), {"format": "xlsx"})
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = [list(row) for row in workbook.active.iter_rows(values_only=True)]
    assert [row[2] for row in rows[1:]] == ["Alice", "Denis"]
    assert AuditEntry.objects.get().row_count == 2


def test_an_organizer_export_never_leaves_their_territory(
    client, organizer_05, population, make_segment
):
    segment = make_segment({"territory": {"departements": ["04"]}}, owner=organizer_05)
    client.force_login(organizer_05)
    rows = csv_rows(client.post(url("export", segment), {"format": "csv"}))
    assert rows[1:] == []
    assert AuditEntry.objects.get().row_count == 0


@pytest.mark.parametrize(
    ("persona", "status"), [("hq_staff", 403), ("volunteer", 404), ("organizer_05", 404)]
)
def test_export_refused_to_others_and_not_audited(
    client, request, persona, status, population, segments
):
    client.force_login(request.getfixturevalue(persona))
    response = client.post(url("export", segments["04"]), {"format": "csv"})
    assert response.status_code == status
    assert AuditEntry.objects.count() == 0
