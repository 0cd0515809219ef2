"""Reading and normalising the next chunk in a second process while this one writes.

Normalisation is a third of an import's work and needs no database once the commune
resolver has loaded La Poste's table, so on a machine with two cores a forked child reads
and normalises chunk n+1 while the parent matches and writes chunk n. The pipe between
them holds at most one chunk in flight, which keeps memory bounded; a child whose parent
dies gets a broken pipe and exits.

The child never touches the database connection it inherits (forking copies it): it
only reads the file and runs the normaliser built — and warmed up — by the parent, then
leaves through ``os._exit`` as multiprocessing children do, so that nothing closes the
parent's connection behind its back. Where ``fork`` is unavailable, or for a small file,
chunks are normalised in this process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from itertools import islice
from multiprocessing.connection import Connection

from campagne.imports.normalize import Chunk, RowNormalizer
from campagne.imports.readers import Table, UnreadableFile

# Below this many chunks, a second process costs more than it saves.
MIN_CHUNKS = 2
# Chunks of at least this many rows start with one FIRST_CHUNK_SHARE times smaller.
RAMP_FROM = 10_000
FIRST_CHUNK_SHARE = 5


def _normalised(
    table: Table, start: int, chunk_size: int, normalizer: RowNormalizer
) -> Iterator[Chunk]:
    rows = table.rows(start=start)
    # A large first chunk is pure waiting for the writing process (nothing to overlap
    # yet): a smaller one gets it started sooner.
    size = chunk_size // FIRST_CHUNK_SHARE if chunk_size >= RAMP_FROM else chunk_size
    while chunk := list(islice(rows, size)):
        yield Chunk([normalizer(line, cells) for line, cells in chunk])
        size = chunk_size


def _produce(
    sender: Connection, table: Table, start: int, chunk_size: int, normalizer: RowNormalizer
) -> None:
    """The child: send each normalised chunk, then None; a failure is sent as a message."""
    try:
        for rows in _normalised(table, start, chunk_size, normalizer):
            sender.send(rows)
        sender.send(None)
    except BrokenPipeError:
        pass  # The parent is gone.
    except UnreadableFile as exc:
        sender.send(("unreadable", str(exc)))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
        sender.send(("error", f"{exc.__class__.__name__}: {exc}"))
    finally:
        sender.close()


def _worth_a_process(table: Table, start: int, chunk_size: int) -> bool:
    if "fork" not in multiprocessing.get_all_start_methods() or (os.cpu_count() or 1) < 2:
        return False
    remaining = (table.estimated_rows or 0) - start
    return remaining >= MIN_CHUNKS * chunk_size


def normalised_chunks(
    table: Table, start: int, chunk_size: int, normalizer: RowNormalizer
) -> Iterator[Chunk]:
    """The normalised rows of ``table`` from its ``start``-th data row, chunk by chunk."""
    if not _worth_a_process(table, start, chunk_size):
        yield from _normalised(table, start, chunk_size, normalizer)
        return
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_produce,
        args=(sender, table, start, chunk_size, normalizer),
        daemon=True,
        name="campagne-import-reader",
    )
    child.start()
    sender.close()
    try:
        while True:
            try:
                message = receiver.recv()
            except EOFError:
                raise RuntimeError("the import's reader process died") from None
            if message is None:
                return
            if isinstance(message, tuple):
                kind, text = message
                raise UnreadableFile(text) if kind == "unreadable" else RuntimeError(text)
            yield message
    finally:
        receiver.close()
        if child.is_alive():
            child.terminate()
        child.join(timeout=10)
