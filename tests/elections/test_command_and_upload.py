"""`campagne import`: sub-commands from the registry, exit status; the upload page and task."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campagne.elections.models import ImportJob, ImportStatus, StationResult
from campagne.elections.tasks import run_import_job
from campagne.lib import import_registry
from tests.elections.conftest import DATA, run

pytestmark = pytest.mark.django_db

IMPORTS = reverse("elections:imports")
IMMEDIATE_TASKS = {
    "default": {
        "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        "QUEUES": ["default", "imports", "mailing"],
    }
}
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_every_import_is_recorded_as_a_job():
    summary, _ = run("results", DATA / "circos23-tour1.csv", "--year", "2024")
    job = ImportJob.objects.get()
    assert (job.kind, job.status, job.original_name) == ("results", "done", "circos23-tour1.csv")
    assert job.summary == summary
    assert job.options["year"] == 2024
    assert job.rows_read == 201


def test_another_app_registers_its_own_subcommand(files):
    calls = []

    def handle(options, log):
        log("lu")
        calls.append(options["path"])
        return {"rows": 1, "contacts": 1}

    import_registry.register_importer(
        "testing", lambda parser: parser.add_argument("path"), handle, help="test"
    )
    try:
        summary, stderr = run("testing", "x.csv")
    finally:
        import_registry._importers.pop("testing")
    assert summary == {"rows": 1, "contacts": 1}
    assert calls == ["x.csv"]
    assert stderr.strip() == "lu"
    assert {"results", "addresses", "stations", "contours"} <= import_registry.importers().keys()


def test_unknown_file_exits_non_zero_with_one_line(tmp_path, database_url):
    """The real command line: exit status 1 and one line on stderr, nothing on stdout."""
    path = tmp_path / "notes.csv"
    path.write_text("nom;prénom\nMartin;Jeanne\n")
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CAMPAGNE_VAR_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [sys.executable, "-m", "campagne", "import", "addresses", str(path)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=Path(__file__).resolve().parents[2],
        timeout=120,
        check=False,
    )
    assert process.returncode == 1
    assert process.stdout == ""
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("CommandError: Fichier d'adresses non reconnu")


# --- the upload page --------------------------------------------------------------------


def upload(client, name="circos23-tour1.csv", **data):
    content = (DATA / name).read_bytes()
    payload = {"kind": "results", "file": SimpleUploadedFile(name, content), **data}
    return client.post(IMPORTS, payload)


def test_hq_admin_uploads_and_the_task_imports(
    client, hq_admin, tmp_path, settings, django_capture_on_commit_callbacks
):
    # Both through the `settings` fixture: it restores them in the right order.
    settings.TASKS = IMMEDIATE_TASKS
    settings.MEDIA_ROOT = tmp_path
    client.force_login(hq_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, year="2024")
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("elections:import_job", args=[job.pk])
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert (job.created_by, job.original_name) == (hq_admin, "circos23-tour1.csv")
    assert job.summary["stations"] == 201
    assert (tmp_path / job.path).is_file()
    assert StationResult.objects.count() == 201
    page = client.get(response.url)
    assert page.status_code == 200
    assert "201" in page.content.decode()
    # The finished job's fragment stops polling.
    fragment = client.get(response.url, **HTMX)
    assert 'hx-trigger="every 1s"' not in fragment.content.decode()
    assert "<html" not in fragment.content.decode()


def test_a_file_the_importer_does_not_know_fails_the_job_with_its_reason(
    client, hq_admin, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE_TASKS
    settings.MEDIA_ROOT = tmp_path
    client.force_login(hq_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, "adresses-54.csv.gz")
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.FAILED
    assert job.error.startswith("Fichier de résultats non reconnu")
    assert job.error in client.get(response.url).content.decode()


def test_queued_job_page_polls_and_the_task_runs_once(client, hq_admin, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(hq_admin)
    upload(client, year="2024")  # on_commit not run: the job stays queued
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.QUEUED
    fragment = client.get(reverse("elections:import_job", args=[job.pk]), **HTMX)
    assert 'hx-trigger="every 1s"' in fragment.content.decode()
    assert run_import_job.call(job.pk) == ImportStatus.DONE
    # A second delivery of the same task does nothing.
    assert run_import_job.call(job.pk) == "skipped"
    assert StationResult.objects.count() == 201


def test_hq_staff_may_look_but_not_upload(client, hq_staff, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(hq_staff)
    assert client.get(IMPORTS).status_code == 200
    response = upload(client, year="2024")
    assert response.status_code == 403
    assert not ImportJob.objects.exists()
    assert not any(tmp_path.rglob("*.csv"))


@pytest.mark.parametrize("persona", ["organizer_04", "volunteer"])
def test_outside_hq_the_pages_do_not_exist(client, request, persona, hq_admin, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    job = ImportJob.objects.create(kind="results", path="imports/x.csv", created_by=hq_admin)
    client.force_login(request.getfixturevalue(persona))
    assert client.get(IMPORTS).status_code == 404
    assert client.get(reverse("elections:import_job", args=[job.pk])).status_code == 404
    assert upload(client, year="2024").status_code == 404
    assert ImportJob.objects.count() == 1


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get(IMPORTS)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))
