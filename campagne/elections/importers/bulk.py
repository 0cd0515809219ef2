"""Bulk writes of polars frames, on SQLite and PostgreSQL, inside the caller's transaction.

A national file is 69,000 stations: Django's ``bulk_create`` builds a model instance per
row, which alone takes about as long as reading the file. Rows go from the frame to one
``executemany`` (an upsert when asked) instead: measured faster on SQLite than expanding
a JSON batch with ``json_each``, and pipelined by psycopg on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
from django.db import connection

_MANY_BATCH = 20_000


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def insert_rows(
    table: str,
    columns: Sequence[str],
    frame: pl.DataFrame | list[tuple[Any, ...]],
    *,
    conflict: Sequence[str] = (),
    update: dict[str, str] | None = None,
    placeholders: dict[str, str] | None = None,
) -> None:
    """INSERT rows; with ``conflict``, upsert: ``update`` maps a column to its SQL value
    (``"excluded.name"``, ``"COALESCE(excluded.x, <table>.x)"``), none → DO NOTHING.
    ``placeholders`` overrides a column's ``%s`` (``"%s::jsonb"`` for JSON text on
    PostgreSQL).
    """
    conflict_sql = ""
    if conflict:
        target = ", ".join(_q(name) for name in conflict)
        if update:
            assignments = ", ".join(f"{_q(name)} = {value}" for name, value in update.items())
            conflict_sql = f" ON CONFLICT ({target}) DO UPDATE SET {assignments}"
        else:
            conflict_sql = f" ON CONFLICT ({target}) DO NOTHING"
    names = ", ".join(_q(name) for name in columns)
    rows = frame.rows() if isinstance(frame, pl.DataFrame) else frame
    if not rows:
        return
    values = ", ".join((placeholders or {}).get(name, "%s") for name in columns)
    sql = f"INSERT INTO {_q(table)} ({names}) VALUES ({values}){conflict_sql}"  # noqa: S608
    with connection.cursor() as cursor:
        for offset in range(0, len(rows), _MANY_BATCH):
            cursor.executemany(sql, rows[offset : offset + _MANY_BATCH])


def keep_existing(table: str, column: str) -> str:
    """The upsert value that keeps a non-null new value, else the stored one."""
    return f"COALESCE(excluded.{_q(column)}, {_q(table)}.{_q(column)})"


def delete_ids(table: str, ids: Sequence[int], column: str = "id") -> None:
    """DELETE rows by id, in batches that stay under every backend's parameter limit."""
    with connection.cursor() as cursor:
        for offset in range(0, len(ids), 900):
            batch = list(ids[offset : offset + 900])
            placeholders = ", ".join(["%s"] * len(batch))
            cursor.execute(
                f"DELETE FROM {_q(table)} WHERE {_q(column)} IN ({placeholders})",  # noqa: S608
                batch,
            )


def fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
