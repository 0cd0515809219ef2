"""Bulk reads and writes for imports, in plain SQL on SQLite and PostgreSQL alike.

At 700,000 rows, building a model instance per row costs more than the database does:
the importer writes tuples with ``executemany`` and reads tuples with ``IN`` lists. Table
and column names come from the models, so the SQL follows the schema. Every call runs in
the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.db import connection, models

# SQLite compiled since 3.32 accepts 32,766 parameters; Django's 999 is for older builds.
_IN_BATCH = {"sqlite": 30_000, "postgresql": 30_000}
# Below this many rows, COPY's set-up costs more than it saves.
_COPY_FROM = 100


def table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(model: type[models.Model], name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def columns(model: type[models.Model], names: Sequence[str]) -> str:
    return ", ".join(column(model, name) for name in names)


def batches(values: Sequence[Any], size: int | None = None) -> Iterator[Sequence[Any]]:
    size = size or _IN_BATCH.get(connection.vendor, 1000)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def select_in(
    model: type[models.Model], names: Sequence[str], key: str, values: Iterable[Any]
) -> list[tuple[Any, ...]]:
    """``SELECT names FROM model WHERE key IN values``, in as few statements as allowed.

    The values are sorted: the index is then probed in its own order, each page read once
    for all its keys (a third less CPU for a chunk's 50,000 e-mails).
    """
    values = sorted(values)
    found: list[tuple[Any, ...]] = []
    if not values:
        return found
    # Identifiers come from the models, quoted; values are always parameters.
    head = f"SELECT {columns(model, names)} FROM {table(model)} WHERE {column(model, key)} IN "  # noqa: S608
    with connection.cursor() as cursor:
        for part in batches(values):
            cursor.execute(head + "(" + ", ".join(["%s"] * len(part)) + ")", list(part))
            found.extend(cursor.fetchall())
    return found


def _copy(model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """PostgreSQL's COPY: several times faster than an INSERT per row, same transaction."""
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, under Django's wrapper
        with raw.copy(f"COPY {table(model)} ({columns(model, names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def has_rows(model: type[models.Model]) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table(model)} LIMIT 1")  # noqa: S608
        return cursor.fetchone() is not None


def insert(
    model: type[models.Model],
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    ignore_conflicts: bool = False,
) -> None:
    if not rows:
        return
    if connection.vendor == "postgresql" and not ignore_conflicts and len(rows) > _COPY_FROM:
        _copy(model, names, rows)
        return
    sql = (
        f"INSERT INTO {table(model)} ({columns(model, names)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(names))})"
    )
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def insert_for_ids(
    model: type[models.Model],
    names: Sequence[str],
    ids: Sequence[int],
    constants: Sequence[Any],
    *,
    ignore_conflicts: bool = False,
) -> None:
    """One row ``(id, *constants)`` per id, ``names[0]`` being the id's column.

    On SQLite, one ``INSERT … SELECT`` over ``json_each`` of the ids: the rows are made by
    the database rather than bound one by one from Python tuples (a timeline event, a tag
    or a consent for each of 700,000 new people). PostgreSQL takes the rows as they are
    (``COPY``), already faster than the statement would be.
    """
    if not ids:
        return
    if connection.vendor != "sqlite":
        insert(model, names, [(pk, *constants) for pk in ids], ignore_conflicts=ignore_conflicts)
        return
    placeholders = ", ".join(["%s"] * len(constants))
    sql = (
        f"INSERT INTO {table(model)} ({columns(model, names)}) "  # noqa: S608
        f"SELECT value, {placeholders} FROM json_each(%s)"
    )
    if ignore_conflicts:
        # "WHERE true" keeps SQLite from reading ON CONFLICT as part of the SELECT.
        sql += " WHERE true ON CONFLICT DO NOTHING"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*constants, json.dumps(list(ids))])


def update(model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """``UPDATE … SET names WHERE id = ?``; each row is its values, then its id."""
    if not rows:
        return
    assignments = ", ".join(f"{column(model, name)} = %s" for name in names)
    sql = f"UPDATE {table(model)} SET {assignments} WHERE {column(model, 'id')} = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` fresh primary keys for rows the caller inserts in this transaction.

    Inserting with known ids lets one ``executemany`` write a chunk and still link its
    e-mails, consents and timeline to it. PostgreSQL hands them out from the sequence;
    SQLite's AUTOINCREMENT counter is advanced under the write lock that the IMMEDIATE
    transaction already holds, so no other writer can take the same ids, and ids of
    deleted rows are never reused (a merge's undo brings a person back under their id).
    """
    if count <= 0:
        return []
    name = model._meta.db_table
    pk = model._meta.pk.column  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [name, pk, count],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [name])
        found = cursor.fetchone()
        cursor.execute(f"SELECT MAX({connection.ops.quote_name(pk)}) FROM {table(model)}")  # noqa: S608
        start = max(found[0] if found else 0, cursor.fetchone()[0] or 0) + 1
        if found:
            cursor.execute(
                "UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [start + count - 1, name]
            )
        else:
            cursor.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [name, start + count - 1]
            )
    return list(range(start, start + count))


def prefix_join(
    keys: Sequence[tuple[str, str]], person_model: type[models.Model], names: Sequence[str]
) -> list[tuple[Any, ...]]:
    """People in commune ``c`` whose ``search_name`` starts with ``p``, for each ``(c, p)``.

    One statement for a whole chunk: the keys go to a temporary table (SQLite) or arrays
    (PostgreSQL) joined to the (commune, search_name) index. Rows come back as
    ``(commune, prefix, *names)``.
    """
    if not keys:
        return []
    person = table(person_model)
    commune = column(person_model, "commune")
    search = column(person_model, "search_name")
    wanted = ", ".join(f"p.{column(person_model, name)}" for name in names)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # ~>=~ and ~<~ compare byte-wise, as the varchar_pattern_ops index is sorted.
            cursor.execute(
                f"SELECT k.c, k.p, {wanted} FROM unnest(%s::text[], %s::text[]) AS k(c, p) "  # noqa: S608
                f"JOIN {person} p ON p.{commune} = k.c "
                f"AND p.{search} ~>=~ k.p AND p.{search} ~<~ (k.p || '~')",
                [[c for c, _p in keys], [p for _c, p in keys]],
            )
            return cursor.fetchall()
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS campagne_import_keys (c TEXT, p TEXT)")
        cursor.execute("DELETE FROM campagne_import_keys")
        cursor.executemany("INSERT INTO campagne_import_keys (c, p) VALUES (%s, %s)", keys)
        # CROSS JOIN makes SQLite walk the keys and probe the index for each.
        cursor.execute(
            f"SELECT k.c, k.p, {wanted} FROM campagne_import_keys k CROSS JOIN {person} p "  # noqa: S608
            f"WHERE p.{commune} = k.c AND p.{search} >= k.p AND p.{search} < k.p || '~'"
        )
        found = cursor.fetchall()
        cursor.execute("DELETE FROM campagne_import_keys")
        return found
