"""Imports of public files, as the command line, the upload page and the task run them.

Every import is an ``ImportJob`` row: the command creates one and runs it at once; the
upload page stores the file under ``MEDIA_ROOT/imports/``, creates a queued job and
enqueues ``tasks.run_import`` after commit, which claims the job and runs the same code,
recording its progress on the row for the page's progress bar.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from campagne.elections.importers.addresses import import_addresses
from campagne.elections.importers.contours import import_contours
from campagne.elections.importers.report import Progress, Report, no_progress
from campagne.elections.importers.results import ElectionChoice, import_results
from campagne.elections.importers.stations import import_stations
from campagne.elections.models import ImportJob, ImportKind, ImportStatus
from campagne.lib.import_registry import ImportFileError

logger = logging.getLogger(__name__)
UPLOAD_DIR = "imports"
# The job row is updated at most this often (seconds), whatever the chunk size.
_PROGRESS_INTERVAL = 0.5


def import_file(
    *,
    kind: str,
    path: str | Path,
    options: dict[str, Any] | None = None,
    filename: str | None = None,
    progress: Progress = no_progress,
) -> Report:
    """Run the importer of ``kind`` on one file. ImportFileError if it is not one it knows."""
    options = options or {}
    if kind == ImportKind.RESULTS:
        return import_results(
            path, choice=election_choice(options), filename=filename, progress=progress
        )
    if kind == ImportKind.ADDRESSES:
        return import_addresses(path, filename=filename, progress=progress)
    if kind == ImportKind.STATIONS:
        return import_stations(path, filename=filename, progress=progress)
    if kind == ImportKind.CONTOURS:
        return import_contours(
            path,
            code_commune=options.get("code_commune") or None,
            code_bv=options.get("code_bv") or None,
            filename=filename,
            progress=progress,
        )
    raise ImportFileError(_("Type d'import inconnu : %(kind)s") % {"kind": kind})


def election_choice(options: dict[str, Any]) -> ElectionChoice:
    """The election options (command line or form, JSON-safe) as an ``ElectionChoice``."""
    raw_date = options.get("date")
    return ElectionChoice(
        election_id=int(options["election"]) if options.get("election") else None,
        kind=options.get("kind") or None,
        year=int(options["year"]) if options.get("year") else None,
        round=int(options["round"]) if options.get("round") else None,
        date=date.fromisoformat(raw_date) if isinstance(raw_date, str) and raw_date else None,
        label=options.get("label") or "",
    )


def run_import(
    *,
    kind: str,
    path: str | Path,
    options: dict[str, Any] | None = None,
    user: Any = None,
    progress: Progress = no_progress,
) -> ImportJob:
    """Import a file now (the command line): record it as a job, return the finished job.

    ImportFileError propagates after the job is marked failed.
    """
    path = Path(path).resolve()
    job = ImportJob.objects.create(
        kind=kind,
        status=ImportStatus.RUNNING,
        path=str(path),
        original_name=path.name,
        options=options or {},
        created_by=user if getattr(user, "pk", None) else None,
        started_at=timezone.now(),
    )
    _execute(job, path, progress)
    return job


def create_upload_job(
    *, user: Any, kind: str, upload: UploadedFile, options: dict[str, Any]
) -> ImportJob:
    """Store an uploaded file and queue its import (enqueued once the job is committed)."""
    from campagne.elections.tasks import run_import_job

    name = get_valid_filename(Path(upload.name or "fichier").name)[-120:] or "fichier"
    relative = Path(UPLOAD_DIR) / f"{secrets.token_hex(8)}-{name}"
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        for piece in upload.chunks():
            out.write(piece)
    with transaction.atomic():
        job = ImportJob.objects.create(
            kind=kind,
            path=str(relative),
            original_name=upload.name or name,
            options=options,
            created_by=user,
        )
        transaction.on_commit(lambda: run_import_job.enqueue(job.pk))
    return job


def run_job(job_id: int) -> ImportJob | None:
    """Claim a queued job and run it (the task's body). None if it was not queued."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None
    job = ImportJob.objects.get(pk=job_id)
    path = Path(job.path)
    if not path.is_absolute():
        path = Path(settings.MEDIA_ROOT) / path
    try:
        _execute(job, path, _job_progress(job.pk))
    except ImportFileError:
        pass  # recorded on the job, which the page shows: not a failure of the task
    return job


def _job_progress(job_id: int) -> Progress:
    last = [0.0]

    def report(rows: int, fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] < _PROGRESS_INTERVAL and fraction < 1.0:
            return
        last[0] = now
        # Runs outside the import's write transaction, so the page sees it at once.
        ImportJob.objects.filter(pk=job_id).update(rows_read=rows, fraction=fraction)

    return report


def _execute(job: ImportJob, path: Path, progress: Progress) -> None:
    try:
        report = import_file(
            kind=job.kind,
            path=path,
            options=job.options,
            filename=job.original_name or path.name,
            progress=progress,
        )
    except ImportFileError as exc:
        _finish(job, ImportStatus.FAILED, error=str(exc))
        raise
    except Exception:
        logger.exception("Import %s failed", job.pk)
        _finish(job, ImportStatus.FAILED, error=_("Erreur inattendue pendant l'import."))
        raise
    summary = report.summary()
    _finish(job, ImportStatus.DONE, summary=summary, anomalies=report.anomalies)


def _finish(
    job: ImportJob,
    status: str,
    *,
    error: str = "",
    summary: dict[str, Any] | None = None,
    anomalies: list[dict[str, Any]] | None = None,
) -> None:
    job.status = status
    job.error = error
    job.summary = summary or {}
    job.anomalies = anomalies or []
    job.finished_at = timezone.now()
    if summary:
        job.rows_read = summary.get("rows", job.rows_read)
        job.fraction = 1.0
    job.save(
        update_fields=[
            "status",
            "error",
            "summary",
            "anomalies",
            "finished_at",
            "rows_read",
            "fraction",
        ]
    )
