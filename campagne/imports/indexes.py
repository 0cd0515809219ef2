"""A large import on SQLite drops the people indexes it does not read, and rebuilds them.

SQLite updates every index of a table for each row inserted, at a random place of each
B-tree: with nine indexes on the people table, that is three quarters of the cost of
writing a person (measured on 600,000 people: 14 s of CPU with the indexes, 2 s without).
Building an index afterwards sorts the whole table once, four to five times cheaper than
600,000 random insertions. So an import that at least doubles the people table (the
campaign's first big file) drops the indexes the import itself never reads (names, status,
commune alone…) in its first transaction and creates them again, from their own
``CREATE INDEX`` text, in the transaction that finishes the batch.

The statements are kept on the batch (``suspended_indexes``) in the same transaction as
the ``DROP``: a worker killed mid-import leaves them recorded, and whoever finishes the
batch — the resumed run, or ``recover_stalled_imports`` when the batch failed for good —
creates them again. Pages keep working meanwhile, only slower on name-sorted lists.
The indexes the import reads (e-mail, phone, commune + name) are never dropped, nor
unique ones (they are constraints). PostgreSQL keeps everything: it is not the bottleneck
there, and dropping an index would take a lock the pages wait on.
"""

from __future__ import annotations

from django.db import connection, transaction

from campagne.imports.models import ImportBatch
from campagne.people.models import Person

# Below this many rows to import, keeping the indexes costs less than rebuilding them.
SUSPEND_FROM_ROWS = 100_000
# The columns an index must start with for the import to read it (exact and likely
# matching): these indexes stay.
_READ_BY_IMPORT = (("email",), ("phone",), ("commune_id", "search_name"))


def _index_columns(cursor: object, name: str) -> tuple[str, ...]:
    cursor.execute(f"PRAGMA index_info({connection.ops.quote_name(name)})")  # type: ignore[attr-defined]
    return tuple(column for _seq, _cid, column in cursor.fetchall())  # type: ignore[attr-defined]


def droppable() -> dict[str, str]:
    """``name → CREATE INDEX`` of the people table's indexes an import may drop."""
    table = Person._meta.db_table
    found: dict[str, str] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
            "AND sql IS NOT NULL",
            [table],
        )
        for name, sql in cursor.fetchall():
            if sql.upper().startswith("CREATE UNIQUE"):
                continue
            columns = _index_columns(cursor, name)
            if any(columns[: len(read)] == read for read in _READ_BY_IMPORT):
                continue
            found[name] = sql
    return found


def worth_suspending(rows_left: int, minimum: int = SUSPEND_FROM_ROWS) -> bool:
    """On SQLite, outside any transaction, for a file of ``minimum`` rows or more and at
    least as large as the table."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return False
    if rows_left < minimum:
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(Person._meta.db_table)}")  # noqa: S608
        people = cursor.fetchone()[0]
    return rows_left >= people


def suspend(batch: ImportBatch) -> None:
    """Drop the droppable indexes, recording their statements on ``batch`` first."""
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        statements = droppable()
        if not statements:
            return
        kept = {**dict(locked.suspended_indexes or {}), **statements}
        ImportBatch.objects.filter(pk=batch.pk).update(suspended_indexes=kept)
        with connection.cursor() as cursor:
            for name in statements:
                cursor.execute(f"DROP INDEX IF EXISTS {connection.ops.quote_name(name)}")
    batch.suspended_indexes = kept


def restore(batch: ImportBatch) -> None:
    """Create again the indexes ``batch`` dropped (those still missing), and forget them."""
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        statements = dict(locked.suspended_indexes or {})
        if not statements:
            return
        with connection.cursor() as cursor:
            for sql in statements.values():
                # Another batch, or a migration, may have created it again meanwhile.
                cursor.execute(sql.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
        ImportBatch.objects.filter(pk=batch.pk).update(suspended_indexes={})
    batch.suspended_indexes = {}
