"""The import engine: a file's rows, chunk by chunk, into people, duplicates and rejects.

Each chunk (see ``default_chunk_size``) is one transaction that also moves the batch's
``next_row`` and counters forward, claimed under a lock on the batch row: a worker killed
mid-chunk leaves no trace of that chunk, and a restart resumes after the last commit. Two
runners of one batch cannot interleave: the second finds ``next_row`` moved and stops.

Per chunk: take the rows normalised (``normalize``; ``prefetch`` does the next chunk in a
second process meanwhile), refuse erased people (suppression list), hand the rest to
``chunk.ChunkState``, which matches, places and writes them (the rules for existing
people are there), and keep the rejected rows with their reasons. SIGTERM and SIGINT stop
the run between two chunks.

Counters: ``created`` a new person; ``updated`` an existing person matched (changed or
not); ``merged`` a row that landed on a person an earlier row of the same file created or
matched; ``review`` a new person created beside a possible duplicate (queued, never
merged silently); ``rejected`` a row not imported, with its reasons.
"""

from __future__ import annotations

import gc
import hmac
import logging
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import islice
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from campagne.accounts.scopes import Scope
from campagne.imports import indexes, sql
from campagne.imports.chunk import ChunkState
from campagne.imports.mapping import CONSENT_FIELDS
from campagne.imports.models import ImportBatch, ImportRejectedRow
from campagne.imports.normalize import Chunk, CommuneResolver, Row, RowNormalizer
from campagne.imports.prefetch import normalised_chunks
from campagne.imports.readers import Table, open_table
from campagne.people.models import (
    Person,
    PersonEmail,
    PersonPhone,
    Suppression,
    Tag,
)

logger = logging.getLogger(__name__)

# Rows per chunk. On SQLite a commit writes every index page the chunk touched; with ten
# indexes on the people table, 5,000 random rows touch most of them, so small chunks
# rewrite the indexes again and again (CPU time of a 700,000-row import, measured: 75 s
# with 5,000-row chunks, 61 s with 20,000, 52 s with 50,000). The price is the write lock
# held a few seconds per chunk.
# PostgreSQL writes per row, so shorter transactions cost nothing there.
SQLITE_CHUNK_SIZE = 50_000
CHUNK_SIZE = 10_000
SQLITE_IMPORT_CACHE_KB = 256_000
MAX_WARNING_KINDS = 200


def default_chunk_size() -> int:
    return SQLITE_CHUNK_SIZE if connection.vendor == "sqlite" else CHUNK_SIZE


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while rows stream through.

    Every row allocates a few containers, so the collector runs every few hundred rows and
    walks every long-lived object (caches, the touched ids) each time it reaches the oldest
    generation: two thirds of the normalisation time on a large file.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        # Rows are freed by reference counting as chunks go; the few cycles left (query
        # machinery) are collected once, here.
        gc.collect()


@contextmanager
def _large_page_cache() -> Iterator[None]:
    """On SQLite, a larger page cache while the import writes (restored afterwards).

    Every person touches ten indexes at random places: with the default 64 MB cache, a
    large import spends a third of its time re-reading and re-writing the same index
    pages. The memory stays well within the import's budget (1.5 GB for 700,000 rows).
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_IMPORT_CACHE_KB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


class ImportConflict(Exception):
    """Another runner moved the batch on: this one stops without writing."""


class ImportInterrupted(Exception):
    """SIGTERM or SIGINT arrived: the run stopped after committing its current chunk."""


class _StopRequest:
    requested = False


@contextmanager
def _stop_requests() -> Iterator[_StopRequest]:
    """Note SIGTERM/SIGINT, so that the run stops cleanly between two chunks.

    The previous handler still runs (the task worker's: it then exits after the task, as
    it does for any task); without one, the run alone stops. Signals can only be caught in
    the main thread: elsewhere (tests, threaded servers) nothing changes.
    """
    stop = _StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}

    def handler(signum: int, frame: Any) -> None:
        if stop.requested:
            raise KeyboardInterrupt  # Asked twice: give up the chunk in progress (rolled back).
        stop.requested = True
        chained = previous[signum]
        if callable(chained) and chained not in (signal.default_int_handler,):
            chained(signum, frame)

    for signum in previous:
        signal.signal(signum, handler)
    try:
        yield stop
    finally:
        for signum, chained in previous.items():
            signal.signal(signum, chained)


class ChunkResult:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.warnings: Counter[str] = Counter()
        self.touched: list[int | None] = []


class ImportRun:
    """Runs one batch to its end (or to the next crash), chunk by chunk."""

    def __init__(
        self,
        batch: ImportBatch,
        scope: Scope,
        *,
        chunk_size: int | None = None,
        pause: float = 0.0,
        on_progress: Callable[[ImportBatch], None] | None = None,
        chunk_hook: Callable[[int], None] | None = None,
    ) -> None:
        self.batch = batch
        self.scope = scope
        self.chunk_size = chunk_size or default_chunk_size()
        self.pause = pause
        self.on_progress = on_progress
        # Tests raise from here, between the people and the counters of a chunk, to
        # check that a crash leaves no trace of the chunk in progress.
        self.chunk_hook = chunk_hook
        self.stop = _StopRequest()
        # A file this large (and at least as large as the people table) drops the people
        # indexes the import does not read while it runs (indexes.py).
        self.suspend_from_rows = indexes.SUSPEND_FROM_ROWS
        # People created or matched by an earlier row of this file: a later row landing on
        # one of them is a duplicate within the file ("merged").
        self.touched: set[int] = set()
        self.resolver = CommuneResolver()
        self.tag_ids: dict[str, int] = {}
        self.actor_id = batch.owner_id
        self.actor_label = batch.owner_label or "system"
        self.source = _("Import n° %(id)s : %(origin)s") % {"id": batch.pk, "origin": batch.origin}
        self.suppression_key = settings.CAMPAGNE_SUPPRESSION_KEY.encode()
        allowed = None
        if not scope.is_hq:
            allowed = set(scope.communes().values_list("code", flat=True))
        self.allowed = allowed
        self.fields = list(batch.mapping.get("fields", []))
        self.consent_columns = {
            channel: batch.mapping.get("headers", [""] * len(self.fields))[index]
            for index, name in enumerate(self.fields)
            if (channel := CONSENT_FIELDS.get(name))
        }
        self.column_proofs: dict[str, str] = {}
        self.statements = {
            channel: declaration.get("proof", "")
            for channel, declaration in (batch.consents or {}).items()
            if declaration.get("mode") == "statement"
        }
        self.normalizer = RowNormalizer(
            self.fields,
            resolver=self.resolver,
            allowed_communes=allowed,
            statements=list(self.statements),
        )

    # --- driving ------------------------------------------------------------------------

    def table(self) -> Table:
        table = open_table(self.batch.file_path())
        if table.headers != self.batch.mapping.get("headers", table.headers):
            raise ValueError(_("Le fichier a changé depuis la vérification des colonnes."))
        return table

    def run(self) -> ImportBatch:
        with _gc_paused(), _large_page_cache(), _stop_requests() as stop:
            self.stop = stop
            try:
                return self._run()
            except ImportConflict:
                raise  # The other runner has the batch, and its suspended indexes.
            except Exception:
                # Failed or interrupted: the pages get their indexes back now, not when
                # (if ever) the batch is resumed. A killed process leaves them recorded
                # on the batch, for whoever finishes it.
                try:
                    indexes.restore(self.batch)
                except Exception:
                    # Left recorded on the batch for the worker's recovery; the error
                    # that stopped the run is the one to report.
                    logger.exception("import #%s: indexes not restored yet", self.batch.pk)
                raise

    def _run(self) -> ImportBatch:
        table = self.table()
        start = self.batch.next_row
        if start:
            self._remember_rows(table.rows(), start)
        self.resolver.load()
        rows_left = (self.batch.estimated_rows or 0) - start
        if indexes.worth_suspending(rows_left, self.suspend_from_rows):
            indexes.suspend(self.batch)
        chunks = normalised_chunks(table, start, self.chunk_size, self.normalizer)
        for number, rows in enumerate(chunks, start=1):
            self._run_chunk(rows, number)
            if self.on_progress:
                self.on_progress(self.batch)
            if self.stop.requested:
                raise ImportInterrupted(
                    _("Import interrompu (arrêt du processus) après %(rows)s lignes.")
                    % {"rows": self.batch.next_row}
                )
            if self.pause:
                time.sleep(self.pause)
        indexes.restore(self.batch)
        ImportBatch.objects.filter(pk=self.batch.pk).update(
            status=ImportBatch.Status.DONE, finished_at=timezone.now(), error=""
        )
        self.batch.refresh_from_db()
        return self.batch

    def _remember_rows(self, rows: Iterator[tuple[int, list[str]]], count: int) -> None:
        """A resumed run: the people the rows already imported landed on, for ``merged``."""
        normalizer = self.normalizer
        while count > 0 and (chunk := list(islice(rows, min(self.chunk_size, count)))):
            count -= len(chunk)
            values = {
                value
                for row in (normalizer(line, cells) for line, cells in chunk)
                if not row.errors
                for value in row.values()
            }
            emails = [value for value in values if "@" in value]
            phones = [value for value in values if "@" not in value]
            for model, field, found in (
                (Person, "email", emails),
                (Person, "phone", phones),
                (PersonEmail, "address", emails),
                (PersonPhone, "number", phones),
            ):
                key = "id" if model is Person else "person"
                self.touched.update(pk for (pk,) in sql.select_in(model, [key], field, found))

    def _run_chunk(self, rows: list[Row], number: int) -> None:
        expected = self.batch.next_row
        with transaction.atomic():
            locked = ImportBatch.objects.select_for_update().get(pk=self.batch.pk)
            if locked.next_row != expected or locked.status == ImportBatch.Status.DONE:
                raise ImportConflict(_("Cet import est déjà traité par un autre processus."))
            result = self._process(rows)
            if self.chunk_hook:
                self.chunk_hook(number)
            self._save_counters(locked, len(rows), result)
        # Only once committed: a failed chunk is read again, from scratch.
        self.touched.update(result.touched)
        self.batch = locked

    def _save_counters(self, locked: ImportBatch, rows: int, result: ChunkResult) -> None:
        warnings = dict(locked.warnings or {})
        for text, count in result.warnings.items():
            if text in warnings or len(warnings) < MAX_WARNING_KINDS:
                warnings[text] = warnings.get(text, 0) + count
        now = timezone.now()
        updates: dict[str, Any] = {
            name: F(name) + result.counts[name]
            for name in ("created", "updated", "merged", "review", "rejected")
        }
        ImportBatch.objects.filter(pk=locked.pk).update(
            next_row=F("next_row") + rows,
            rows=F("rows") + rows,
            warnings=warnings,
            heartbeat_at=now,
            **updates,
        )
        locked.refresh_from_db()

    # --- one chunk ----------------------------------------------------------------------

    def _process(self, rows: list[Row]) -> ChunkResult:
        result = ChunkResult()
        valid = [row for row in rows if not row.errors]
        suppressed = self._suppressed(valid)
        if suppressed:
            valid = [row for row in valid if id(row) not in suppressed]
        state = ChunkState(self, valid, rows if isinstance(rows, Chunk) else None)
        counts: dict[str, int] = defaultdict(int)
        place, warnings = state.place, result.warnings
        for row in valid:
            counts[place(row)] += 1
            if row.warnings:
                warnings.update(row.warnings)
        result.counts.update(counts)
        state.write()
        result.touched = [slot.id for slot in (*state.slots, *state.new_slots) if slot.hit]
        rejected = [row for row in rows if row.errors or id(row) in suppressed]
        result.counts["rejected"] = len(rejected)
        self._write_rejected(rejected, suppressed)
        return result

    def digest(self, kind: str, value: str) -> str:
        """``people.models.suppression_digest`` with the one-shot C HMAC (3 times faster)."""
        message = f"{kind}:{value.strip().lower()}".encode()
        return hmac.digest(self.suppression_key, message, "sha256").hex()

    def _suppressed(self, rows: list[Row]) -> set[int]:
        """Rows carrying an erased e-mail or phone (checked per chunk: an erasure made
        while the import runs is honoured from the next chunk on)."""
        if not rows or not Suppression.objects.exists():
            return set()
        by_digest: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            for email in row.emails:
                by_digest[self.digest("email", email)].append(row)
            for phone in row.phones:
                by_digest[self.digest("phone", phone.e164)].append(row)
        found = sql.select_in(Suppression, ["digest"], "digest", list(by_digest))
        hits: set[int] = set()
        message = self.normalizer.messages.suppressed
        for (digest,) in found:
            for row in by_digest[digest]:
                if id(row) not in hits:
                    hits.add(id(row))
                    row.errors.append(message)
        return hits

    def _write_rejected(self, rows: list[Row], suppressed: set[int]) -> None:
        if not rows:
            return
        adapt = connection.ops.adapt_json_value
        values = [
            (
                self.batch.pk,
                row.line,
                # An erased person's data is not kept, not even in the rejects.
                adapt([] if id(row) in suppressed else row.cells, None),
                adapt(list(dict.fromkeys(row.errors)), None),
            )
            for row in rows
        ]
        sql.insert(ImportRejectedRow, ("batch", "line", "cells", "reasons"), values)

    def tag_names(self, ids: set[int]) -> dict[int, str]:
        """Lower-cased names of the tags ``ids``."""
        known = {pk: key for key, pk in self.tag_ids.items()}
        missing = ids - set(known)
        for pk, name in Tag.objects.filter(pk__in=missing).values_list("pk", "name"):
            self.tag_ids[name.lower()] = pk
            known[pk] = name.lower()
        return known

    def tag_id(self, name: str) -> int:
        """The id of the tag named ``name`` (case-insensitively), created if needed."""
        key = name.lower()
        found = self.tag_ids.get(key)
        if found is None:
            tag = Tag.objects.filter(name__iexact=name).first()
            if tag is None:
                tag = Tag.objects.get_or_create(name=name)[0]
            found = self.tag_ids[key] = tag.pk
        return found
