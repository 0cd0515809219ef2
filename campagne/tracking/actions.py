"""Writes of the tracking app, all in bulk: hits and the engagement they feed."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from campagne.mailing.models import Recipient
from campagne.tracking.machine import classify
from campagne.tracking.models import Engagement, Hit, MailingTracking

logger = logging.getLogger(__name__)
BATCH = 500


@dataclass(frozen=True)
class RawHit:
    """A hit as the request path saw it (spooled before it reaches the database)."""

    id: uuid.UUID
    kind: str
    mailing_id: int
    recipient_id: int
    link_number: int
    at: datetime
    address: str
    user_agent: str


def record_hits(raw_hits: Iterable[RawHit]) -> int:
    """Write hits and update engagement, in batches; returns the hits written.

    Idempotent: a hit already recorded (same id) is skipped, and engagement keeps the
    latest dates. Hits of recipients that no longer exist (erased since, or a signed
    token of a deleted mailing) are dropped.
    """
    written, batch = 0, []
    for raw in raw_hits:
        batch.append(raw)
        if len(batch) >= BATCH:
            written += _record_batch(batch)
            batch = []
    if batch:
        written += _record_batch(batch)
    return written


def _record_batch(batch: list[RawHit]) -> int:
    # A person erased between the read and the insert fails a foreign key: read again.
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _write(batch)
        except IntegrityError:
            if attempt == 2:
                raise
            logger.info("tracking: a recipient vanished during a flush, retrying")
    return 0


def _write(batch: list[RawHit]) -> int:
    recipients = {
        pk: (mailing_id, person_id, sent_at)
        for pk, mailing_id, person_id, sent_at in Recipient.objects.filter(
            pk__in={raw.recipient_id for raw in batch}
        ).values_list("pk", "mailing_id", "person_id", "sent_at")
    }
    # Plain tuples and one executemany: building model instances for bulk_create cost
    # four times the rest of a flush; so did Django's per-value adapters, done here.
    sqlite = connection.vendor == "sqlite"
    rows, latest = [], {}
    for raw in batch:
        found = recipients.get(raw.recipient_id)
        if found is None or found[0] != raw.mailing_id:
            continue
        _mailing, person_id, sent_at = found
        machine, agent = classify(
            user_agent=raw.user_agent, address=raw.address, at=raw.at, sent_at=sent_at
        )
        rows.append(
            (
                raw.id.hex if sqlite else raw.id,
                raw.kind,
                raw.mailing_id,
                raw.recipient_id,
                raw.link_number,
                str(raw.at.astimezone(UTC).replace(tzinfo=None)) if sqlite else raw.at,
                machine,
                agent,
            )
        )
        if person_id is not None and not machine:
            click, opened = latest.get(person_id, (None, None))
            if raw.kind == Hit.Kind.CLICK:
                click = max(click or raw.at, raw.at)
            else:
                opened = max(opened or raw.at, raw.at)
            latest[person_id] = (click, opened)
    if rows:
        table = connection.ops.quote_name(Hit._meta.db_table)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} (id, kind, mailing_id, recipient_id, "  # noqa: S608
                "link_number, at, machine, agent) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (id) DO NOTHING",
                rows,
            )
    _upsert_engagement(latest)
    return len(rows)


def _later(column: str) -> str:
    """SQL keeping the later of the stored and the new date (NULL: no date)."""
    table = connection.ops.quote_name(Engagement._meta.db_table)
    return (
        f"{column} = CASE WHEN excluded.{column} IS NOT NULL AND ({table}.{column} IS NULL "
        f"OR excluded.{column} > {table}.{column}) THEN excluded.{column} "
        f"ELSE {table}.{column} END"
    )


def _upsert_engagement(latest: dict[int, tuple[datetime | None, datetime | None]]) -> None:
    if not latest:
        return
    adapt = connection.ops.adapt_datetimefield_value
    table = connection.ops.quote_name(Engagement._meta.db_table)
    rows = sorted(latest.items())  # a fixed order: no deadlock between two flushers
    params: list[Any] = []
    for person_id, (click, opened) in rows:
        params += [person_id, adapt(click), adapt(opened)]
    values = ", ".join(["(%s, %s, %s, 0)"] * len(rows))
    sql = (
        f"INSERT INTO {table} (person_id, last_click_at, last_human_open_at, "  # noqa: S608
        f"mailings_received) VALUES {values} ON CONFLICT (person_id) DO UPDATE SET "
        f"{_later('last_click_at')}, {_later('last_human_open_at')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def count_received(mailing_id: int) -> int:
    """Add a finished mailing to its recipients' ``mailings_received``, once.

    Called when a mailing's send is over; the claim on ``received_counted_at`` is in the
    same transaction as the increment, so calling it again (another worker, a retry)
    changes nothing. Returns the number of people counted.
    """
    table = connection.ops.quote_name(Engagement._meta.db_table)
    recipients = connection.ops.quote_name(Recipient._meta.db_table)
    with transaction.atomic():
        MailingTracking.objects.get_or_create(mailing_id=mailing_id)
        claimed = MailingTracking.objects.filter(
            mailing_id=mailing_id, received_counted_at__isnull=True
        ).update(received_counted_at=timezone.now())
        if not claimed:
            return 0
        sql = (
            # The dates are left out (NULL): a bare NULL under SELECT DISTINCT is text to
            # PostgreSQL, which then refuses it for a timestamp column.
            f"INSERT INTO {table} (person_id, mailings_received) "  # noqa: S608
            f"SELECT DISTINCT person_id, 1 FROM {recipients} "
            "WHERE mailing_id = %s AND status = %s AND person_id IS NOT NULL "
            f"ON CONFLICT (person_id) DO UPDATE SET mailings_received = "
            f"{table}.mailings_received + 1"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [mailing_id, Recipient.Status.SENT])
            return cursor.rowcount
