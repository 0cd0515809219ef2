"""Rate limits shared by every process, with few writes: allowances leased in slices.

A limit of ``limit`` calls per ``period`` seconds is a token bucket that holds ``limit``
calls and refills one every ``period / limit`` seconds, kept in the shared cache (the
database cache: every process and machine sees it) as one number, the time at which
the bucket is full again (GCRA). Writing it on every call would make each API call a
write transaction of its own (on SQLite, one more turn of the database's single write
lock); instead each process leases a *slice* of calls at once (one write) and spends it
locally, under a lock, until it is used up or a period has passed.

What this trades, in exchange for one shared write per slice rather than per call:

- A slice is ``limit // SLICES_PER_LIMIT`` calls (at least 1: small limits, such as the
  tests' ``3/m``, are counted exactly, one shared write per call). Calls a process
  leased but did not make are lost for the others, so a caller spreading calls over P
  processes may be refused up to (P − 1) slices early, only when near the limit.
- The database cache has no atomic update: two processes leasing at the same instant
  may both get the same slice, letting one slice slip past the limit.
- Like any token bucket, a full bucket lets ``limit`` calls through at once.

For a guard against runaway scripts and scraping, these are acceptable; a refused call
writes nothing (the bucket is only read), so a flood of refused calls costs reads only.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from django.core.cache import cache

SLICES_PER_LIMIT = 20
# Forget expired local leases now and then, so the table cannot grow forever.
_PRUNE_ABOVE = 10_000


@dataclass
class _Lease:
    remaining: int
    until: float


class LeasedCounter:
    """Per-process leases on shared token buckets (see the module)."""

    def __init__(self) -> None:
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()

    def take(self, key: str, limit: int, period: int, now: float | None = None) -> float | None:
        """Count one call under ``key``: ``None`` when allowed, else the seconds until
        the next call would be."""
        now = time.time() if now is None else now
        # A lease taken under another limit (a test's override_settings) is not reused.
        local = f"{key}/{limit}/{period}"
        with self._lock:
            lease = self._leases.get(local)
            if lease is not None and lease.remaining > 0 and now < lease.until:
                lease.remaining -= 1
                return None
        granted, wait = self._lease(key, limit, period, now)
        if not granted:
            return wait
        with self._lock:
            if len(self._leases) > _PRUNE_ABOVE:
                self._leases = {k: v for k, v in self._leases.items() if v.until > now}
            lease = self._leases.get(local)
            if lease is None or lease.until <= now:
                lease = self._leases[local] = _Lease(0, now + period)
            # This call spends one of the calls just leased.
            lease.remaining += granted - 1
        return None

    def _lease(self, key: str, limit: int, period: int, now: float) -> tuple[int, float]:
        """Take a slice of calls from the shared bucket: (how many, seconds to wait)."""
        interval = period / limit
        full_at = max(cache.get(key, now), now)
        room = math.floor((now + period - full_at) / interval + 1e-9)
        if room <= 0:
            return 0, max(full_at + interval - period - now, 1e-3)
        granted = min(room, max(1, limit // SLICES_PER_LIMIT))
        # Past ``full_at`` the bucket is full whatever it held: the entry may expire then.
        full_at += granted * interval
        cache.set(key, full_at, timeout=math.ceil(full_at - now) + 1)
        return granted, 0.0

    def clear(self) -> None:
        """Forget this process's leases (tests clear the shared cache between cases)."""
        with self._lock:
            self._leases.clear()
