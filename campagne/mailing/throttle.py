"""Send rates: a global one and one per receiving domain, shared by every worker.

Big mailbox providers (Orange/Wanadoo, Free, SFR, La Poste, Gmail, Outlook) slow down or
block a sender that delivers too fast. Each throttled domain (and "*", every domain) has
a token bucket kept in the database as one timestamp (GCRA: the time at which the bucket
is full again), so the rate holds across the threads, processes and machines of a
deployment. A worker takes tokens for a whole claimed batch in one short transaction per
domain; the rows it gets no token for go back to the queue with ``next_attempt_at`` set
to when their domain has room again, and the other domains' rows go out at once.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from campagne.mailing.models import Recipient, ThrottleBucket

EVERY_DOMAIN = "*"
# Tokens a bucket holds when full, in seconds of its rate (at least one message): a
# worker coming back from a pause may send this burst at once, never more.
BURST_SECONDS = 1.0


def take(key: str, rate: float, wanted: int) -> tuple[int, float]:
    """Take up to ``wanted`` tokens from ``key``'s bucket: (granted, seconds until the
    next token). Atomic across workers (row lock)."""
    burst = max(1.0, rate * BURST_SECONDS)
    with transaction.atomic():
        bucket = ThrottleBucket.objects.select_for_update().filter(key=key).first()
        if bucket is None:
            # First use of this domain: create its row (once, whoever wins), then lock it.
            ThrottleBucket.objects.bulk_create(
                [ThrottleBucket(key=key, empty_until=timezone.now())], ignore_conflicts=True
            )
            bucket = ThrottleBucket.objects.select_for_update().get(key=key)
        now = timezone.now()
        start = max(bucket.empty_until, now)
        room = burst - (start - now).total_seconds() * rate
        granted = max(0, min(wanted, math.floor(room + 1e-9)))
        if granted:
            bucket.empty_until = start + timedelta(seconds=granted / rate)
            bucket.save(update_fields=["empty_until"])
    backlog = (max(bucket.empty_until, now) - now).total_seconds()
    return granted, max(0.0, backlog - (burst - 1) / rate)


class Throttle:
    def __init__(self, rate: float, domain_rates: dict[str, float]) -> None:
        self.rate = rate
        self.domain_rates = domain_rates

    @classmethod
    def from_settings(cls) -> Throttle:
        return cls(float(settings.MAILING_RATE_PER_SECOND), dict(settings.MAILING_DOMAIN_RATES))

    @property
    def enabled(self) -> bool:
        return self.rate > 0 or bool(self.domain_rates)

    def admit(self, token: str, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """The claimed rows (id, email, …) that may be sent now; the others are put back
        in the queue (not counted as an attempt) until their domain has room."""
        by_domain: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for row in rows:
            by_domain[row[1].rpartition("@")[2].lower()].append(row)
        admitted: list[tuple[Any, ...]] = []
        deferred: list[tuple[list[int], float]] = []
        for domain, group in by_domain.items():
            rate = self.domain_rates.get(domain)
            if rate is None:
                admitted.extend(group)
                continue
            granted, wait = take(domain, rate, len(group))
            admitted.extend(group[:granted])
            if granted < len(group):
                deferred.append(([row[0] for row in group[granted:]], wait))
        if self.rate > 0 and admitted:
            admitted.sort(key=lambda row: row[0])
            granted, wait = take(EVERY_DOMAIN, self.rate, len(admitted))
            if granted < len(admitted):
                deferred.append(([row[0] for row in admitted[granted:]], wait))
                admitted = admitted[:granted]
        for ids, wait in deferred:
            _defer(token, ids, wait)
        return sorted(admitted, key=lambda row: row[0])


def _defer(token: str, ids: list[int], wait: float) -> int:
    at = timezone.now() + timedelta(seconds=max(wait, 0.01))
    return Recipient.objects.filter(
        id__in=ids, claimed_by=token, status=Recipient.Status.CLAIMED
    ).update(
        status=Recipient.Status.QUEUED,
        claimed_by="",
        claimed_at=None,
        next_attempt_at=at,
        attempts=F("attempts") - 1,
    )
