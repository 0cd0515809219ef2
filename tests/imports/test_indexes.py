"""Large imports on SQLite drop the people indexes they do not read, and always give
them back: at the end, on failure, or through the worker's recovery."""

import pytest
from django.db import connection

from campagne.accounts.scopes import scope_for
from campagne.imports import actions, indexes
from campagne.imports.mapping import ImportOptions
from campagne.imports.models import ImportBatch
from campagne.imports.pipeline import ImportRun
from tests.imports.conftest import assert_balanced

pytestmark = pytest.mark.skipif(
    "connection.vendor != 'sqlite'", reason="PostgreSQL keeps every index"
)

KEPT = {
    "people_person_email_cdc75531",
    "people_person_phone_13c6e3c0",
    "person_commune_name",
}


class Crash(Exception):
    pass


def people_indexes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = 'people_person' AND sql IS NOT NULL"
        )
        return dict(cursor.fetchall())


def prepared(user, write_csv, rows: int = 40) -> tuple[ImportBatch, object]:
    path = write_csv(
        [[f"Prénom{n}", f"Nom{n}", f"p{n}@example.org", f"06{n:08d}", "", ""] for n in range(rows)]
    )
    scope = scope_for(user)
    batch = actions.start_import(scope=scope, origin="Gros fichier", path=path)
    options = ImportOptions(fields=batch.mapping["fields"])
    batch = actions.configure_import(scope=scope, batch=batch, options=options)
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.RUNNING)
    batch.refresh_from_db()
    return batch, scope


def test_a_large_import_runs_without_the_indexes_it_does_not_read(
    transactional_db, hq_admin, write_csv
):
    before = people_indexes()
    batch, scope = prepared(hq_admin, write_csv)
    during: list[set[str]] = []
    run = ImportRun(
        batch, scope, chunk_size=10, chunk_hook=lambda n: during.append(set(people_indexes()))
    )
    run.suspend_from_rows = 10

    batch = run.run()

    assert during == [KEPT] * 4
    assert set(before) - KEPT == {
        "people_person_search_name_fcd58d39",
        "people_person_search_name_rev_599b2a47",
        "person_status_name",
        "person_commune_status",
    }
    assert people_indexes() == before
    assert batch.status == ImportBatch.Status.DONE and batch.suspended_indexes == {}
    assert_balanced(batch)
    assert batch.created == 40


def test_a_small_import_keeps_every_index(transactional_db, hq_admin, write_csv):
    before = people_indexes()
    batch, scope = prepared(hq_admin, write_csv)
    during: list[set[str]] = []
    run = ImportRun(
        batch, scope, chunk_size=10, chunk_hook=lambda n: during.append(set(people_indexes()))
    )
    run.run()
    assert during == [set(before)] * 4


def test_a_failed_import_gives_the_indexes_back_at_once(transactional_db, hq_admin, write_csv):
    before = people_indexes()
    batch, scope = prepared(hq_admin, write_csv)

    def crash(number: int) -> None:
        if number == 2:
            raise Crash("disk full")

    run = ImportRun(batch, scope, chunk_size=10, chunk_hook=crash)
    run.suspend_from_rows = 10
    with pytest.raises(Crash):
        run.run()

    assert people_indexes() == before
    batch.refresh_from_db()
    assert (batch.next_row, batch.suspended_indexes) == (10, {})


def test_indexes_a_dead_batch_left_dropped_come_back_with_the_recovery(
    transactional_db, hq_admin, write_csv
):
    before = people_indexes()
    batch, _scope = prepared(hq_admin, write_csv)
    indexes.suspend(batch)  # as a run killed with SIGKILL leaves them
    assert set(people_indexes()) == KEPT
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.FAILED)

    assert actions.recover_stalled_imports() == 0  # nothing to queue, indexes to restore

    assert people_indexes() == before
    batch.refresh_from_db()
    assert batch.suspended_indexes == {}
