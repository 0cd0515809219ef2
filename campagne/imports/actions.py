"""Writes of the import workflow: start, configure, queue, run, resume; the review queue.

Pages, the command line and the background task call these verbs. Each checks the actor's
scope again: HQ staff and volunteers may not import (403), an organizer imports only into
their territory (rows elsewhere are rejected, "commune hors périmètre").

Merges and their undo are in ``campagne.imports.merging``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campagne.accounts.models import Role, User
from campagne.accounts.scopes import Scope, scope_for
from campagne.imports import indexes
from campagne.imports.mapping import (
    CONSENT_FIELDS,
    FIELDS,
    ImportOptions,
    MappingError,
    guess_mapping,
    validate_fields,
)
from campagne.imports.models import DuplicateCandidate, ImportBatch
from campagne.imports.normalize import Row, RowNormalizer
from campagne.imports.pipeline import ImportConflict, ImportRun
from campagne.imports.readers import Table, open_table
from campagne.people.models import Channel

PREVIEW_ROWS = 20


def system_user() -> User:
    """The identity of the command line without ``--as``: a transient HQ admin, never saved."""
    user = User(email="system@campagne", role=Role.HQ_ADMIN)
    user.is_active = True
    return user


def scope_of(batch: ImportBatch) -> Scope:
    return scope_for(batch.owner if batch.owner_id else system_user())


def require_import(scope: Scope) -> None:
    scope.require(scope.can_write_people, _("Votre rôle ne permet pas d'importer des contacts."))


def _sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@transaction.atomic
def start_import(
    *,
    scope: Scope,
    origin: str,
    upload: UploadedFile | None = None,
    path: str | Path | None = None,
) -> ImportBatch:
    """Read a file's header and record a draft batch with the guessed mapping.

    Raises ``readers.UnreadableFile`` when the file is not a table we can read.
    """
    require_import(scope)
    if not origin.strip():
        raise ValidationError({"origin": _("L'origine des données est obligatoire (CNIL).")})
    user = scope.user if getattr(scope.user, "pk", None) else None
    batch = ImportBatch(
        owner=user,
        owner_label=getattr(scope.user, "email", "") or "system",
        origin=origin.strip()[:200],
    )
    if upload is not None:
        batch.original_name = Path(upload.name or "import").name[:255]
        batch.file.save(batch.original_name, upload, save=False)
        file_path = batch.file.path
    elif path is not None:
        file_path = str(Path(path).resolve())
        batch.source_path = file_path
        batch.original_name = Path(path).name[:255]
    else:
        raise ValueError("start_import needs an upload or a path")
    try:
        table = open_table(file_path)
    except Exception:
        if batch.file:
            batch.file.delete(save=False)
        raise
    batch.file_sha256 = _sha256(file_path)
    batch.file_format, batch.encoding, batch.delimiter = (
        table.format,
        table.encoding,
        table.delimiter,
    )
    batch.estimated_rows = table.estimated_rows
    batch.mapping = {
        "headers": table.headers,
        "fields": guess_mapping(table.headers, [cells for _line, cells in table.sample]),
    }
    batch.save()
    return batch


def _check_consents(fields: list[str], consents: dict[str, dict[str, str]]) -> dict[str, Any]:
    columns = {CONSENT_FIELDS[name] for name in fields if name in CONSENT_FIELDS}
    clean: dict[str, Any] = {}
    for channel, declaration in consents.items():
        if channel not in Channel.values:
            raise MappingError(_("Canal inconnu : %(channel)s") % {"channel": channel})
        mode = declaration.get("mode", "none")
        if mode == "none":
            continue
        if mode != "statement":
            raise MappingError(_("Déclaration de consentement invalide."))
        proof = str(declaration.get("proof", "")).strip()
        if not proof:
            raise MappingError(
                _("Indiquez la preuve du consentement déclaré pour le canal %(channel)s.")
                % {"channel": Channel(channel).label}
            )
        if channel in columns:
            raise MappingError(
                _("Canal %(channel)s : une colonne du fichier ou une déclaration, pas les deux.")
                % {"channel": Channel(channel).label}
            )
        clean[channel] = {"mode": "statement", "proof": proof[:2000]}
    return clean


@transaction.atomic
def configure_import(*, scope: Scope, batch: ImportBatch, options: ImportOptions) -> ImportBatch:
    """Record the mapping and declarations the user checked (only while still a draft)."""
    require_import(scope)
    if batch.status != ImportBatch.Status.DRAFT:
        raise ValidationError(_("Cet import est déjà lancé."))
    fields = list(options.fields)
    if len(fields) != len(batch.mapping.get("headers", [])):
        raise MappingError(_("La correspondance ne couvre pas toutes les colonnes."))
    validate_fields(fields)
    batch.mapping = {**batch.mapping, "fields": fields}
    batch.consents = _check_consents(fields, options.consents)
    batch.overwrite = options.overwrite
    batch.tags = [" ".join(tag.split())[:60] for tag in options.tags if tag.strip()]
    batch.save(update_fields=["mapping", "consents", "overwrite", "tags"])
    return batch


def queue_import(*, scope: Scope, batch: ImportBatch) -> ImportBatch:
    """Hand a configured batch to the background worker (after this transaction commits)."""
    from campagne.imports.tasks import run_import_task

    require_import(scope)
    with transaction.atomic():
        claimed = ImportBatch.objects.filter(
            pk=batch.pk, status__in=[ImportBatch.Status.DRAFT, ImportBatch.Status.FAILED]
        ).update(status=ImportBatch.Status.QUEUED, error="")
        if not claimed and not batch.is_stalled():
            raise ValidationError(_("Cet import est déjà lancé."))
        if not claimed:
            ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.QUEUED)
        transaction.on_commit(lambda: run_import_task.enqueue(batch.pk))
    batch.refresh_from_db()
    return batch


def run_import(
    *,
    batch_id: int,
    chunk_size: int | None = None,
    pause: float = 0.0,
    on_progress: Callable[[ImportBatch], None] | None = None,
    chunk_hook: Callable[[int], None] | None = None,
) -> ImportBatch:
    """Run (or resume) a batch to its end. Idempotent: a finished batch is left as it is.

    A failure marks the batch failed with its reason and re-raises; the chunks already
    committed stay, and running it again resumes after them.
    """
    batch = ImportBatch.objects.get(pk=batch_id)
    if batch.status == ImportBatch.Status.DONE:
        return batch
    scope = scope_of(batch)
    try:
        require_import(scope)
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.Status.RUNNING,
            started_at=batch.started_at or timezone.now(),
            heartbeat_at=timezone.now(),
        )
        batch.refresh_from_db()
        run = ImportRun(
            batch,
            scope,
            chunk_size=chunk_size,
            pause=pause,
            on_progress=on_progress,
            chunk_hook=chunk_hook,
        )
        batch = run.run()
    except ImportConflict:
        raise  # Another runner has the batch: its status is theirs to set.
    except PermissionDenied as exc:
        _fail(batch, str(exc) or _("Import refusé."))
        raise
    except Exception as exc:
        _fail(batch, str(exc) or exc.__class__.__name__)
        raise
    if batch.file:
        # The rows are in the base or in the rejects: the uploaded copy is not kept.
        batch.file.delete(save=True)
    return batch


def requeue_interrupted(*, batch_id: int) -> None:
    """Queue again a batch whose worker stopped between two chunks."""
    from campagne.imports.tasks import run_import_task

    with transaction.atomic():
        ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.FAILED).update(
            status=ImportBatch.Status.QUEUED
        )
        transaction.on_commit(lambda: run_import_task.enqueue(batch_id))


def recover_stalled_imports() -> int:
    """Queue again the imports whose worker died; return how many (``core.recovery``).

    A batch "running" with no chunk committed for ``CAMPAGNE_IMPORT_STALL_SECONDS`` lost
    its worker (a killed process never marks it failed). Each one is claimed by a
    conditional update, so that of several workers recovering at once exactly one queues
    it; its task resumes after the last committed chunk. People indexes that a batch which
    will not run again left dropped (``indexes.py``) are created again.
    """
    from campagne.imports.tasks import run_import_task

    cutoff = timezone.now() - timedelta(seconds=settings.CAMPAGNE_IMPORT_STALL_SECONDS)
    running = ImportBatch.Status.RUNNING
    queued = 0
    stalled = ImportBatch.objects.filter(status=running, heartbeat_at__lt=cutoff)
    for pk in list(stalled.values_list("pk", flat=True)):
        with transaction.atomic():
            claimed = ImportBatch.objects.filter(
                pk=pk, status=running, heartbeat_at__lt=cutoff
            ).update(status=ImportBatch.Status.QUEUED, heartbeat_at=timezone.now())
            if claimed:
                transaction.on_commit(partial(run_import_task.enqueue, pk))
                queued += 1
    ended = [ImportBatch.Status.FAILED, ImportBatch.Status.DONE, ImportBatch.Status.DRAFT]
    for batch in ImportBatch.objects.filter(status__in=ended).exclude(suspended_indexes={}):
        indexes.restore(batch)
    return queued


def _fail(batch: ImportBatch, reason: str) -> None:
    ImportBatch.objects.filter(pk=batch.pk).exclude(status=ImportBatch.Status.DONE).update(
        status=ImportBatch.Status.FAILED, error=reason[:2000], heartbeat_at=timezone.now()
    )


def preview(
    *, scope: Scope, batch: ImportBatch, fields: list[str] | None = None
) -> tuple[Table, list[Row], dict[str, int]]:
    """The first rows normalised under ``fields`` (the batch's mapping by default), and the
    problems found in the sampled rows, by reason. Writes nothing."""
    require_import(scope)
    table = open_table(batch.file_path())
    allowed = None
    if not scope.is_hq:
        allowed = set(scope.communes().values_list("code", flat=True))
    statements = [ch for ch, d in (batch.consents or {}).items() if d.get("mode") == "statement"]
    normalizer = RowNormalizer(
        fields or batch.mapping["fields"], allowed_communes=allowed, statements=statements
    )
    rows = [normalizer(line, cells) for line, cells in table.sample]
    problems: dict[str, int] = {}
    for row in rows:
        for text in dict.fromkeys(row.errors + row.warnings):
            problems[text] = problems.get(text, 0) + 1
    return table, rows[:PREVIEW_ROWS], problems


def field_choices() -> list[tuple[str, str]]:
    return [("", _("— ignorer —"))] + [(name, str(label)) for name, (label, _m) in FIELDS.items()]


# --- the review queue -------------------------------------------------------------------


def candidates_for(scope: Scope) -> Any:
    """Open pairs whose two people are both within the user's scope."""
    if not scope.can_read_people:
        return DuplicateCandidate.objects.none()
    queryset = DuplicateCandidate.objects.open()
    queryset = scope.filter_by_commune(queryset, "person_a__commune")
    return scope.filter_by_commune(queryset, "person_b__commune")


def candidate_for(scope: Scope, pk: Any) -> DuplicateCandidate:
    from django.http import Http404

    try:
        return candidates_for(scope).select_related("person_a", "person_b").get(pk=pk)
    except (DuplicateCandidate.DoesNotExist, ValueError, TypeError):
        raise Http404("No such candidate.") from None


@transaction.atomic
def dismiss_candidate(*, scope: Scope, candidate: DuplicateCandidate) -> DuplicateCandidate:
    """The reviewer says: two different people. The pair leaves the queue for good."""
    scope.require(scope.can_write_people, _("Votre rôle ne permet pas de trancher un doublon."))
    # Both people must still be in scope for write (the queue only lists those).
    scope.person_for_write(candidate.person_a_id)
    scope.person_for_write(candidate.person_b_id)
    DuplicateCandidate.objects.filter(pk=candidate.pk).update(
        status=DuplicateCandidate.Status.DISMISSED,
        decided_at=timezone.now(),
        decided_by=scope.user if getattr(scope.user, "pk", None) else None,
    )
    candidate.refresh_from_db()
    return candidate
