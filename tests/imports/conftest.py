"""Fixtures of the import tests: files written as spreadsheets write them, and one call
that imports a file as a given user through the same actions as the pages and the CLI."""

import csv
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from campagne.accounts.scopes import scope_for
from campagne.imports import actions
from campagne.imports.mapping import ImportOptions
from campagne.imports.models import ImportBatch

HEADER = ["Prénom", "Nom", "Courriel", "Téléphone", "Code postal", "Ville"]


def csv_bytes(
    rows: Sequence[Sequence[Any]],
    *,
    encoding: str = "utf-8",
    delimiter: str = ";",
    header: Sequence[str] | None = HEADER,
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(10_000))

    def write(rows: Sequence[Sequence[Any]], name: str = "", **options: Any) -> Path:
        path = tmp_path / (name or f"contacts-{next(counter)}.csv")
        path.write_bytes(csv_bytes(rows, **options))
        return path

    return write


def import_file(
    user: Any,
    path: Path,
    *,
    origin: str = "Pétition tests",
    fields: list[str] | None = None,
    consents: dict[str, dict[str, str]] | None = None,
    overwrite: bool = False,
    tags: Sequence[str] = (),
    **run: Any,
) -> ImportBatch:
    """Start, configure and run an import of ``path`` as ``user`` (actions, as the CLI)."""
    scope = scope_for(user) if user is not None else scope_for(actions.system_user())
    batch = actions.start_import(scope=scope, origin=origin, path=path)
    options = ImportOptions(
        fields=fields or batch.mapping["fields"],
        consents=consents or {},
        overwrite=overwrite,
        tags=list(tags),
    )
    actions.configure_import(scope=scope, batch=batch, options=options)
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.QUEUED)
    return actions.run_import(batch_id=batch.pk, **run)


@pytest.fixture
def run_import() -> Callable[..., ImportBatch]:
    return import_file


def assert_balanced(batch: ImportBatch) -> None:
    """Every row is accounted for, exactly once."""
    assert batch.rows == (
        batch.created + batch.updated + batch.merged + batch.review + batch.rejected
    ), batch.counts
