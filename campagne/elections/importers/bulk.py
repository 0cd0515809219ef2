"""Bulk writes of polars frames, on SQLite and PostgreSQL, inside the caller's transaction.

A national file is 69,000 stations: Django's ``bulk_create`` builds a model instance per
row, which alone takes about as long as reading the file. Rows go from the frame to one
``executemany`` (an upsert when asked) instead: measured faster on SQLite than expanding
a JSON batch with ``json_each``, and pipelined by psycopg on PostgreSQL.

On SQLite each statement inserts up to 250 rows (``VALUES (…), (…), …``): with one row
per statement, most of the time went to the sqlite3 module's per-statement work (bind,
step, reset), and grouping made the benchmark's two upserts 40 % faster (100 rows: 35 %,
1,000 rows: no better than 250). PostgreSQL keeps one row per statement: psycopg
pipelines them, and there an upsert may not touch the same row twice in one statement.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Sequence
from typing import Any

import polars as pl
from django.db import connection

_MANY_BATCH = 20_000
_ROWS_PER_STATEMENT = 250


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
    if not len(frame):
        return
    values = "(" + ", ".join((placeholders or {}).get(name, "%s") for name in columns) + ")"
    head = f"INSERT INTO {_q(table)} ({names}) VALUES "  # noqa: S608
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            _insert_grouped(cursor, head, values, conflict_sql, frame, len(columns))
            return
        rows = frame.rows() if isinstance(frame, pl.DataFrame) else frame
        for offset in range(0, len(rows), _MANY_BATCH):
            cursor.executemany(head + values + conflict_sql, rows[offset : offset + _MANY_BATCH])


def _insert_grouped(
    cursor: Any,
    head: str,
    values: str,
    tail: str,
    frame: pl.DataFrame | list[tuple[Any, ...]],
    width: int,
) -> None:
    """Rows ``per`` statement (see the module docstring), then the rest in one statement.

    Rows apply in order within a statement as across statements: an upsert that meets
    the same key twice ends with the later row, as before.
    """
    # The library's own limit (32,766 by default since SQLite 3.32), not Django's 999.
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per = max(1, min(_ROWS_PER_STATEMENT, limit // width))
    # Every value in one row-major list: a frame's columns are interleaved by slice
    # assignment, cheaper than building a tuple per row and flattening them again.
    if isinstance(frame, pl.DataFrame):
        if frame.width != width:
            raise ValueError(f"{frame.width} columns for {width} names")
        flat: list[Any] = [None] * (frame.height * width)
        for index, series in enumerate(frame.get_columns()):
            flat[index::width] = series.to_list()
    else:
        flat = list(itertools.chain.from_iterable(frame))
    step = per * width
    full = len(flat) - len(flat) % step
    if full:
        cursor.executemany(
            head + ", ".join([values] * per) + tail,
            [flat[offset : offset + step] for offset in range(0, full, step)],
        )
    if rest := flat[full:]:
        cursor.execute(head + ", ".join([values] * (len(rest) // width)) + tail, rest)


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
