"""Work a killed worker left behind, queued again by the next `campagne worker`."""

import json
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from campagne.accounts.scopes import scope_for
from campagne.core import recovery
from campagne.imports import actions
from campagne.imports.mapping import ImportOptions
from campagne.imports.models import ImportBatch
from campagne.people.models import Person
from tests.core.processes import CampagneProcess, wait_for
from tests.imports.conftest import assert_balanced, csv_bytes

# Explicit, so that a test elsewhere switching to the immediate backend cannot leak here.
DATABASE_TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "imports", "mailing"],
    }
}
IMPORT_TASK = "campagne.imports.tasks.run_import_task"


def contacts(count: int) -> list[list[str]]:
    """Every fourth row repeats the person three rows above (in capitals), every tenth is
    invalid: 70 % created, 20 % merged, 10 % rejected."""
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


def queued_import(user: object, path: Path, rows: int) -> ImportBatch:
    path.write_bytes(csv_bytes(contacts(rows)))
    scope = scope_for(user)
    batch = actions.start_import(scope=scope, origin="Recovery", path=path)
    options = ImportOptions(fields=batch.mapping["fields"])
    actions.configure_import(scope=scope, batch=batch, options=options)
    return actions.queue_import(scope=scope, batch=batch)


def import_tasks() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=IMPORT_TASK).order_by("enqueued_at"))


def test_recover_all_runs_every_function_even_after_one_fails(db, caplog):
    def broken() -> int:
        raise RuntimeError("database is locked")

    def fine() -> int:
        return 2

    recovery.register("broken", broken)
    recovery.register("fine", fine)
    try:
        with caplog.at_level(logging.WARNING, logger="campagne.core.recovery"):
            queued = recovery.recover_all()
    finally:
        recovery.unregister("broken")
        recovery.unregister("fine")
    # Every registered function ran (other apps register theirs too).
    assert set(queued) == set(recovery.registered()) | {"broken", "fine"}
    assert (queued["imports"], queued["broken"], queued["fine"]) == (0, 0, 2)
    assert "recovery broken failed" in caplog.text
    assert "recovery fine: 2 item(s) queued again" in caplog.text
    assert set(recovery.registered()) >= {"imports"}
    assert "broken" not in recovery.registered()


@override_settings(TASKS=DATABASE_TASKS, CAMPAGNE_IMPORT_STALL_SECONDS=60)
def test_a_stalled_import_is_queued_again_once_and_a_live_one_is_left(
    transactional_db, hq_admin, tmp_path
):
    stalled = queued_import(hq_admin, tmp_path / "a.csv", 40)
    live = queued_import(hq_admin, tmp_path / "b.csv", 40)
    now = timezone.now()
    running = ImportBatch.Status.RUNNING
    ImportBatch.objects.filter(pk=stalled.pk).update(
        status=running, heartbeat_at=now - timedelta(seconds=61)
    )
    ImportBatch.objects.filter(pk=live.pk).update(
        status=running, heartbeat_at=now - timedelta(seconds=30)
    )
    DBTaskResult.objects.all().delete()  # The tasks the dead workers had claimed.

    assert actions.recover_stalled_imports() == 1
    assert actions.recover_stalled_imports() == 0  # claimed: nobody queues it twice

    assert [task.args_kwargs["args"] for task in import_tasks()] == [[stalled.pk]]
    stalled.refresh_from_db()
    live.refresh_from_db()
    assert (stalled.status, live.status) == (ImportBatch.Status.QUEUED, running)
    assert stalled.is_stalled() is False and live.is_stalled() is False

    call_command("worker", until_idle=True, startup_delay=False, queue_name="imports", verbosity=0)
    stalled.refresh_from_db()
    assert stalled.status == ImportBatch.Status.DONE
    assert stalled.counts == {
        "rows": 40,
        "created": 28,
        "updated": 0,
        "merged": 8,
        "review": 0,
        "rejected": 4,
    }


@pytest.fixture
def start_worker(database_url: str, tmp_path: Path) -> Iterator[Callable[..., CampagneProcess]]:
    """`campagne worker` on the test database, each with its own log; killed at the end."""
    started: list[CampagneProcess] = []

    def start(name: str, **env: str) -> CampagneProcess:
        process_env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "CAMPAGNE_VAR_DIR": str(tmp_path / "var"),
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
            **env,
        }
        args = ["worker", "--no-startup-delay", "--interval=0.2"]
        process = CampagneProcess(args, process_env, tmp_path / f"{name}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill_group()


def test_a_worker_killed_mid_import_is_finished_by_the_next_ones(start_worker, hq_admin, tmp_path):
    """SIGKILL mid-import; two workers then start together: one queues the batch again,
    and it completes with no duplicate and every row accounted for."""
    with override_settings(TASKS=DATABASE_TASKS):
        batch = queued_import(hq_admin, tmp_path / "contacts.csv", 400)
    slow = {"CAMPAGNE_IMPORT_CHUNK_SIZE": "20", "CAMPAGNE_IMPORT_PAUSE_MS": "300"}
    first = start_worker("first", **slow)

    def some_chunks_committed() -> bool:
        if first.popen.poll() is not None:
            raise AssertionError(first.output)
        return ImportBatch.objects.filter(pk=batch.pk, next_row__gte=60).exists()

    wait_for(some_chunks_committed, timeout=90, what="three chunks")
    os.killpg(first.popen.pid, signal.SIGKILL)
    first.popen.wait()
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.RUNNING and 60 <= batch.next_row < 400
    assert Person.objects.count() == batch.created
    time.sleep(2.5)  # older than the stall timeout below

    fast = {"CAMPAGNE_IMPORT_STALL_SECONDS": "2", "CAMPAGNE_IMPORT_CHUNK_SIZE": "20"}
    workers = [start_worker("second", **fast), start_worker("third", **fast)]

    def done() -> bool:
        for worker in workers:
            if worker.popen.poll() is not None:
                raise AssertionError(worker.output)
        return ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.DONE).exists()

    wait_for(done, timeout=120, what="the batch to be finished")
    for worker in workers:
        assert worker.stop(signal.SIGTERM) == 0, worker.output

    batch.refresh_from_db()
    assert_balanced(batch)
    assert batch.counts == {
        "rows": 400,
        "created": 280,
        "updated": 0,
        "merged": 80,
        "review": 0,
        "rejected": 40,
    }
    emails = list(Person.objects.values_list("email", flat=True))
    assert len(emails) == len(set(emails)) == 280
    # The dead worker's task, and exactly one queued again.
    tasks = import_tasks()
    assert [task.args_kwargs["args"] for task in tasks] == [[batch.pk], [batch.pk]]
    assert tasks[-1].return_value == json.loads(json.dumps(batch.counts))
    assert sum("1 item(s) queued again" in worker.output for worker in workers) == 1
