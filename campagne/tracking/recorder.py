"""Hits leave the request path through a spool file, and reach the database in batches.

The request path appends one line per hit to this process's current spool file (one
``write`` on an ``O_APPEND`` descriptor: a few microseconds, no transaction, no lock
held across processes). A background thread rotates the file every
TRACKING_FLUSH_MILLISECONDS and writes the closed file's hits with
``actions.record_hits`` (one bulk INSERT per 500 hits, ``ignore_conflicts`` on the hit
id), then deletes the file.

What a crash loses: nothing that was answered. A line is in the kernel's page cache as
soon as ``write`` returns, before the redirect or the GIF is sent, so it survives
``kill -9`` of the process (only a crash of the machine itself, before the kernel wrote
the page to disk, can lose the last second or so of hits: there is no fsync per hit).
Files left by a dead process — same host, its pid no longer running — are taken over
by the flusher of any live process (by an atomic rename, so by one only) and by
``campagne tracking flush``. A file written to the database but not yet deleted when a
crash happens is read again: its hits keep their ids, so they are recorded once.

Files are named ``<host>.<pid>.<n>.hits`` under TRACKING_SPOOL_DIR (local to the
machine: each web server has its own).
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections, connection

from campagne.tracking.actions import RawHit, record_hits

logger = logging.getLogger(__name__)
HOST = socket.gethostname().replace(".", "_")
# Other processes' files are looked at every this many flushes.
ORPHAN_CHECK_EVERY = 20


def _clean(text: str, limit: int) -> str:
    return text[:limit].replace("\t", " ").replace("\n", " ").replace("\r", " ")


def spool_line(
    *, kind: str, mailing_id: int, recipient_id: int, link_number: int, address: str, agent: str
) -> bytes:
    """One hit as a tab-separated line: id, kind, ids, link, time, address, user agent."""
    return (
        f"{uuid.uuid4().hex}\t{kind}\t{mailing_id}\t{recipient_id}\t{link_number}\t"
        f"{time.time():.6f}\t{_clean(address, 45)}\t{_clean(agent, 300)}\n"
    ).encode("utf-8", "replace")


def parse_lines(lines: Iterator[bytes]) -> Iterator[RawHit]:
    for line in lines:
        fields = line.decode("utf-8", "replace").rstrip("\n").split("\t")
        if len(fields) != 8:
            continue  # a line cut short (the disk filled up): skip it, keep the rest
        try:
            yield RawHit(
                id=uuid.UUID(fields[0]),
                kind=fields[1],
                mailing_id=int(fields[2]),
                recipient_id=int(fields[3]),
                link_number=int(fields[4]),
                at=datetime.fromtimestamp(float(fields[5]), tz=UTC),
                address=fields[6],
                user_agent=fields[7],
            )
        except ValueError:
            continue


def ingest(path: Path) -> int:
    """Write the hits of one spool file to the database, then delete it."""
    with path.open("rb") as spool:
        written = record_hits(parse_lines(iter(spool)))
    path.unlink()
    return written


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Spool:
    """This process's spool: appends, rotation, and the flusher thread."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.pid = os.getpid()
        self.lock = threading.Lock()  # held only to write one line or rotate
        self.flush_lock = threading.Lock()
        self.fd: int | None = None
        self.path: Path | None = None
        self.sequence = 0
        self.flushes = 0
        self.thread: threading.Thread | None = None

    def _new_name(self) -> Path:
        self.sequence += 1
        return self.directory / f"{HOST}.{self.pid}.{self.sequence}.hits"

    def append(self, line: bytes) -> None:
        with self.lock:
            if self.fd is None:
                self.directory.mkdir(parents=True, exist_ok=True)
                self.path = self._new_name()
                flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
                self.fd = os.open(self.path, flags, 0o600)
            os.write(self.fd, line)

    def rotate(self) -> Path | None:
        """Close the current file (the next hit opens a new one); return it."""
        with self.lock:
            if self.fd is None:
                return None
            os.close(self.fd)
            path, self.fd, self.path = self.path, None, None
            return path

    def orphans(self) -> list[Path]:
        """Spool files of this host that no live process is writing: claimed for us."""
        claimed = []
        for path in sorted(self.directory.glob(f"{HOST}.*.hits")):
            try:
                pid = int(path.name.split(".")[-3])
            except (ValueError, IndexError):
                continue
            if path == self.path or (pid != self.pid and _alive(pid)):
                continue
            with self.lock:
                target = self._new_name()
            try:
                path.rename(target)  # atomic: one process wins the file
            except FileNotFoundError:
                continue
            claimed.append(target)
        return claimed

    def flush(self, *, orphans: bool = False) -> int:
        """Write what this process spooled (and, if asked, dead processes' files)."""
        # On error a file stays on disk: an orphan, retried at a later check.
        with self.flush_lock:
            written = 0
            path = self.rotate()
            if path is not None:
                written += ingest(path)
            self.flushes += 1
            if orphans or self.flushes % ORPHAN_CHECK_EVERY == 1:
                for orphan in self.orphans():
                    written += ingest(orphan)
            return written

    def start(self) -> None:
        if self.thread is not None or settings.TRACKING_FLUSH_MILLISECONDS <= 0:
            return
        self.thread = threading.Thread(target=self._run, name="tracking-flusher", daemon=True)
        self.thread.start()
        atexit.register(self._at_exit)

    def _run(self) -> None:
        interval = settings.TRACKING_FLUSH_MILLISECONDS / 1000
        while True:
            time.sleep(interval)
            try:
                close_old_connections()
                self.flush()
            except Exception:
                # The files stay on disk and are retried: never let the thread die.
                logger.exception("tracking: flush failed")
                connection.close()

    def _at_exit(self) -> None:
        try:
            self.flush()
        except Exception:
            logger.exception("tracking: final flush failed; the spool file stays for later")


_spool: Spool | None = None
_spool_lock = threading.Lock()


def spool() -> Spool:
    """This process's spool (a new one after a fork: files are named by pid)."""
    global _spool
    current = _spool
    if current is not None and current.pid == os.getpid():
        return current
    with _spool_lock:
        if _spool is None or _spool.pid != os.getpid():
            _spool = Spool(Path(settings.TRACKING_SPOOL_DIR))
            _spool.start()
        return _spool


def record(
    *, kind: str, mailing_id: int, recipient_id: int, link_number: int, address: str, agent: str
) -> None:
    """The request path's only write: one line in this process's spool file."""
    spool().append(
        spool_line(
            kind=kind,
            mailing_id=mailing_id,
            recipient_id=recipient_id,
            link_number=link_number,
            address=address,
            agent=agent,
        )
    )


def flush_all() -> int:
    """Write every spool file of this host (this process's and dead processes')."""
    return spool().flush(orphans=True)
