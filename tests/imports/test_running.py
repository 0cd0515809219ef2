"""Running imports: the command line, the background task, crashes and resumption."""

import io
import json
import multiprocessing
import os
import signal
import sqlite3

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from campagne.accounts.scopes import scope_for
from campagne.imports import actions
from campagne.imports.mapping import ImportOptions
from campagne.imports.models import ImportBatch, ImportRejectedRow
from campagne.imports.pipeline import ImportConflict, ImportRun
from campagne.people.models import Person
from tests.core.processes import CampagneProcess, wait_for
from tests.imports.conftest import assert_balanced, csv_bytes, import_file


class Crash(Exception):
    pass


def contacts(count: int) -> list[list[str]]:
    """``count`` rows, every fourth one repeating the person three rows above it (in
    capitals, phone written otherwise), every tenth one invalid. No commune: these tests
    also run after a transactional test has emptied the map of France."""
    rows = []
    for n in range(count):
        if n % 10 == 9:
            rows.append([f"Prénom{n}", f"Nom{n}", f"bad{n}@", "", "", ""])
        elif n % 4 == 3:
            m = n - 3
            rows.append([f"PRÉNOM{m}", f"NOM{m}", f"P{m}@EXAMPLE.ORG", f"6{m:08d}", "", ""])
        else:
            rows.append([f"Prénom{n}", f"Nom{n}", f"p{n}@example.org", f"06{n:08d}", "", ""])
    return rows


def run_command(*args: str) -> tuple[dict, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import", "contacts", *args, stdout=out, stderr=err)
    return json.loads(out.getvalue().strip().splitlines()[-1]), err.getvalue()


EXPECTED_40 = {"rows": 40, "created": 28, "updated": 0, "merged": 8, "review": 0, "rejected": 4}


def test_a_crash_mid_chunk_leaves_no_trace_and_the_run_resumes(hq_admin, write_csv):
    path = write_csv(contacts(40))

    def crash_on_third_chunk(number: int) -> None:
        if number == 3:
            raise Crash("killed")

    with pytest.raises(Crash):
        import_file(hq_admin, path, chunk_size=7, chunk_hook=crash_on_third_chunk)
    batch = ImportBatch.objects.get()
    # Two chunks committed, nothing of the third: its people, events and rejects are gone.
    assert (batch.status, batch.next_row, batch.rows) == (ImportBatch.Status.FAILED, 14, 14)
    assert_balanced(batch)
    committed = Person.objects.count()
    assert committed == batch.created
    assert ImportRejectedRow.objects.count() == batch.rejected == 1

    batch = actions.run_import(batch_id=batch.pk, chunk_size=7)

    assert batch.status == ImportBatch.Status.DONE
    assert batch.counts == EXPECTED_40
    emails = list(Person.objects.values_list("email", flat=True))
    assert len(emails) == len(set(emails)) == 28


def test_a_second_runner_of_the_same_batch_stops_without_writing(hq_admin, write_csv):
    path = write_csv(contacts(10))
    scope = scope_for(hq_admin)
    batch = actions.start_import(scope=scope, origin="x", path=path)
    runner = ImportRun(batch, scope, chunk_size=5)
    ImportBatch.objects.filter(pk=batch.pk).update(next_row=5)  # Another runner moved on.
    with pytest.raises(ImportConflict):
        runner.run()
    assert not Person.objects.exists()


def test_the_command_prints_the_summary_last(hq_admin, write_csv):
    path = write_csv(contacts(40))
    summary, progress = run_command(str(path), "--origin", "Pétition", "--chunk-size", "10")
    assert summary == EXPECTED_40
    assert progress.count("import #") == 4
    batch = ImportBatch.objects.get()
    assert (batch.owner, batch.owner_label, batch.source_path) == (
        None,
        "system@campagne",
        str(path),
    )


def test_dry_run_counts_and_writes_nothing(hq_admin, write_csv):
    path = write_csv(contacts(40))
    summary, _progress = run_command(str(path), "--origin", "x", "--dry-run")
    assert summary == EXPECTED_40
    assert not Person.objects.exists()
    assert not ImportBatch.objects.exists()


def test_the_command_acts_within_the_scope_given_by_as(organizer_04, write_csv):
    path = write_csv(
        [
            ["Jean", "Martin", "j@example.org", "", "04000", "Digne"],
            ["Léa", "Roux", "l@example.org", "", "05000", "Gap"],
        ]
    )
    summary, _progress = run_command(str(path), "--origin", "x", "--as", organizer_04.email)
    assert (summary["created"], summary["rejected"]) == (1, 1)
    assert ImportBatch.objects.get().owner == organizer_04


def test_a_mapping_file_and_consent_options(hq_admin, tmp_path, write_csv):
    path = write_csv(
        [["Jean", "Martin", "", "", "", "j@example.org"]],
        header=["Prénom", "Nom", "A", "B", "C", "Colonne mystère"],
    )
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"columns": {"Colonne mystère": "email"}, "tags": ["2011"]}))
    summary, _ = run_command(
        str(path), "--origin", "x", "--mapping", str(mapping), "--consent-email", "case cochée"
    )
    assert summary["created"] == 1
    person = Person.objects.get()
    assert person.email == "j@example.org"
    assert list(person.tags.values_list("name", flat=True)) == ["2011"]
    assert person.consents.get().proof == "case cochée"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "vide"),
        (b"Nom;Notes\nMartin;rien\n", "joindre"),
    ],
)
def test_the_command_fails_in_one_line_when_the_file_cannot_be_read(db, tmp_path, content, message):
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=message) as caught:
        run_command(str(path), "--origin", "x")
    assert "\n" not in str(caught.value)
    assert not Person.objects.exists()


def test_the_command_refuses_a_role_that_may_not_import(hq_staff, write_csv):
    path = write_csv(contacts(3))
    with pytest.raises(CommandError, match="importer"):
        run_command(str(path), "--origin", "x", "--as", hq_staff.email)
    assert not Person.objects.exists()
    assert not ImportBatch.objects.exists()


def test_running_the_command_again_resumes_an_interrupted_import(hq_admin, write_csv):
    path = write_csv(contacts(40))
    scope = scope_for(actions.system_user())
    batch = actions.start_import(scope=scope, origin="x", path=path)
    actions.configure_import(
        scope=scope, batch=batch, options=ImportOptions(fields=batch.mapping["fields"])
    )

    def crash(number: int) -> None:
        if number == 2:
            raise Crash

    with pytest.raises(Crash):
        actions.run_import(batch_id=batch.pk, chunk_size=10, chunk_hook=crash)
    summary, progress = run_command(str(path), "--origin", "x", "--chunk-size", "10")
    assert "reprise après 10 lignes" in progress
    assert summary == EXPECTED_40
    assert ImportBatch.objects.count() == 1


# Explicit, so that a test elsewhere switching to the immediate backend cannot leak here.
DATABASE_TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "imports", "mailing"],
    }
}


@override_settings(TASKS=DATABASE_TASKS)
def test_the_background_task_runs_a_queued_import(transactional_db, hq_admin, write_csv):
    path = write_csv(contacts(40))
    scope = scope_for(hq_admin)
    batch = actions.start_import(scope=scope, origin="x", path=path)
    actions.configure_import(
        scope=scope, batch=batch, options=ImportOptions(fields=batch.mapping["fields"])
    )
    actions.queue_import(scope=scope, batch=batch)
    assert ImportBatch.objects.get().status == ImportBatch.Status.QUEUED

    call_command("worker", until_idle=True, startup_delay=False, queue_name="imports", verbosity=0)

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE
    assert batch.counts == EXPECTED_40


def test_a_worker_killed_mid_import_resumes_without_duplicates(database_url, hq_admin, tmp_path):
    """A real process, killed with SIGKILL between two chunks, then run again."""
    path = tmp_path / "contacts.csv"
    path.write_bytes(csv_bytes(contacts(400)))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CAMPAGNE_VAR_DIR": str(tmp_path / "var"),
        "LOG_LEVEL": "WARNING",
    }
    args = ["import", "contacts", str(path), "--origin", "x", "--chunk-size", "20"]
    process = CampagneProcess([*args, "--pause", "0.3"], env, tmp_path / "first.log")

    def some_chunks_committed() -> bool:
        if process.popen.poll() is not None:
            raise AssertionError(process.output)
        return ImportBatch.objects.filter(next_row__gte=60).exists()

    try:
        wait_for(some_chunks_committed, timeout=60, what="three chunks")
        os.killpg(process.popen.pid, signal.SIGKILL)
    finally:
        process.kill_group()
    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.RUNNING and 60 <= batch.next_row < 400
    assert Person.objects.count() == batch.created

    second = CampagneProcess(args, env, tmp_path / "second.log")
    assert second.popen.wait(timeout=120) == 0, second.output
    summary = json.loads(second.output.strip().splitlines()[-1])
    assert summary == {
        "rows": 400,
        "created": 280,
        "updated": 0,
        "merged": 80,
        "review": 0,
        "rejected": 40,
    }
    assert "reprise" in second.output
    emails = list(Person.objects.values_list("email", flat=True))
    assert len(emails) == len(set(emails)) == 280
    if connection.vendor == "sqlite":
        # The killed process left the database consistent (WAL recovery).
        with sqlite3.connect(connection.settings_dict["NAME"]) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_chunks_normalised_by_the_reader_process_are_the_same(db, write_csv):
    from campagne.imports.normalize import RowNormalizer
    from campagne.imports.prefetch import _normalised, normalised_chunks
    from campagne.imports.readers import open_table

    path = write_csv(contacts(100))
    table = open_table(path)
    normalizer = RowNormalizer(["first_name", "last_name", "email", "phone", "", ""])
    chunks = normalised_chunks(table, 10, 20, normalizer)
    forked = [next(chunks)]
    assert [p.name for p in multiprocessing.active_children()] == ["campagne-import-reader"]
    forked += list(chunks)
    assert not multiprocessing.active_children()
    local = list(_normalised(table, 10, 20, normalizer))
    assert [len(chunk) for chunk in forked] == [20, 20, 20, 20, 10]
    assert [[r.as_preview() for r in c] for c in forked] == [
        [r.as_preview() for r in c] for c in local
    ]
    # Only rejected rows cross the pipe with their cells (they go to the rejects CSV).
    assert [[r.cells for r in c] for c in forked] == [
        [r.cells if r.errors else [] for r in c] for c in local
    ]
    assert any(r.errors and r.cells for c in forked for r in c)


def test_a_file_unreadable_further_down_fails_from_the_reader_process(db, tmp_path):
    from campagne.imports.normalize import RowNormalizer
    from campagne.imports.prefetch import normalised_chunks
    from campagne.imports.readers import UnreadableFile, open_table

    path = tmp_path / "f.csv"
    rows = "".join(f"n{i};e{i}@example.org\n" for i in range(200))
    path.write_text("Nom;Courriel\n" + rows + 'x;"' + "y" * (2 << 20) + '"\n')
    table = open_table(path)
    chunks = normalised_chunks(table, 0, 50, RowNormalizer(["last_name", "email"]))
    with pytest.raises(UnreadableFile, match="Ligne 202"):
        list(chunks)


def test_sigterm_stops_the_command_between_two_chunks_then_it_resumes(
    database_url, hq_admin, tmp_path
):
    path = tmp_path / "contacts.csv"
    path.write_bytes(csv_bytes(contacts(400)))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CAMPAGNE_VAR_DIR": str(tmp_path / "var"),
        "LOG_LEVEL": "WARNING",
    }
    args = ["import", "contacts", str(path), "--origin", "x", "--chunk-size", "20"]
    process = CampagneProcess([*args, "--pause", "0.3"], env, tmp_path / "first.log")
    try:
        wait_for(
            lambda: ImportBatch.objects.filter(next_row__gte=40).exists(),
            timeout=60,
            what="two chunks",
        )
        assert process.stop(signal.SIGTERM) == 1
    finally:
        process.kill_group()
    assert "interrompu" in process.output and "Relancez" in process.output
    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.FAILED
    assert batch.next_row % 20 == 0 and batch.rows == batch.next_row  # whole chunks only

    second = CampagneProcess(args, env, tmp_path / "second.log")
    assert second.popen.wait(timeout=120) == 0, second.output
    assert json.loads(second.output.strip().splitlines()[-1])["created"] == 280
    assert Person.objects.count() == 280


def test_a_stop_request_ends_the_run_after_its_chunk_and_the_task_is_queued_again(
    hq_admin, write_csv, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    from campagne.imports.pipeline import ImportInterrupted

    path = write_csv(contacts(40))

    def terminate(number: int) -> None:
        if number == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # what `kill` sends a worker

    with override_settings(TASKS=DATABASE_TASKS), pytest.raises(ImportInterrupted):
        import_file(hq_admin, path, chunk_size=10, chunk_hook=terminate)
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.next_row) == (ImportBatch.Status.FAILED, 20)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handler put back

    with override_settings(TASKS=DATABASE_TASKS), django_capture_on_commit_callbacks(execute=True):
        actions.requeue_interrupted(batch_id=batch.pk)

    assert ImportBatch.objects.get().status == ImportBatch.Status.QUEUED
    task = DBTaskResult.objects.get()
    assert (task.queue_name, task.args_kwargs["args"]) == ("imports", [batch.pk])
