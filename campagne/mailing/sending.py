"""The send loop: claim recipient rows, send them, record each outcome.

States of a recipient row and who moves it::

    queued ──claim──▶ claimed ──(body sent, before the final ".")──▶ sending ──250──▶ sent
       ▲                 │                                              │
       └── 4xx, or stale claim (dead worker) ┘          5xx ▶ bounced   └ crash ▶ failed

The guarantee, exactly:

- A row is claimed by one worker at a time (conditional UPDATE … WHERE status='queued').
- Before the terminating "." of DATA, the worker commits ``claimed → sending`` for its own
  claim token (a conditional UPDATE). A server cannot accept a message before that "."
  (RFC 5321 §4.1.1.4), and only one worker can win that UPDATE, so a message is
  transmitted in full at most once, even if a claim was wrongly taken as stale.
- A worker killed before that commit leaves ``claimed`` rows: they go back to ``queued``
  after MAILING_CLAIM_TIMEOUT and are sent once, by whoever resumes.
- A worker killed after it (one round trip per open connection, RFC 1047's window; and
  a delivered message's ``sent`` is only written with the next message's commit, or
  once the server keeps the connection waiting 50 ms: see ``_Recorder``) leaves
  ``sending`` rows: the server may or may not have accepted them. They are never
  sent again: after the timeout they become ``failed`` with an explicit error, visible in
  ``campagne mailing status``. So: never twice; exactly once except for at most one
  message per open SMTP connection at the instant of a crash, which is reported.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, Min, OuterRef, Q
from django.utils import timezone

from campagne.mailing.esp import EspConnection, is_esp_backend
from campagne.mailing.message import Skeleton, dkim_signer_from_settings
from campagne.mailing.models import Mailing, Recipient
from campagne.mailing.smtp import Abandoned, Connection, Outcome, Outgoing, Rejected
from campagne.mailing.throttle import Throttle
from campagne.people.models import Suppression, suppression_digest

logger = logging.getLogger(__name__)
S = Recipient.Status
INTERRUPTED = "interrompu pendant la remise SMTP : non renvoyé pour éviter un doublon"


def requeue_stale(mailing_id: int) -> dict[str, int]:
    """Put dead workers' claims back in the queue; settle their in-flight messages."""
    cutoff = timezone.now() - timedelta(seconds=settings.MAILING_CLAIM_TIMEOUT)
    rows = Recipient.objects.filter(mailing_id=mailing_id, claimed_at__lt=cutoff)
    requeued = rows.filter(status=S.CLAIMED).update(status=S.QUEUED, claimed_by="", claimed_at=None)
    unknown = rows.filter(status=S.SENDING).update(status=S.FAILED, error=INTERRUPTED)
    return {"requeued": requeued, "interrupted": unknown}


def claim(mailing_id: int, size: int) -> tuple[str, list[tuple[Any, ...]]]:
    """Claim up to ``size`` due rows of a mailing that is sending; return (token, rows)."""
    token = uuid.uuid4().hex
    now = timezone.now()
    due = (
        Recipient.objects.filter(
            mailing_id=mailing_id, status=S.QUEUED, mailing__status=Mailing.Status.SENDING
        )
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("id")
        .values("id")[:size]
    )
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            # PostgreSQL: concurrent workers skip each other's rows instead of queueing on
            # their locks (and then finding them claimed). SQLite has one writer anyway.
            # OF self: the query joins the mailing (to check it is sending); a plain FOR
            # UPDATE would lock the mailing row too, and every concurrent claim of the
            # same mailing would then SKIP all its rows and come back empty-handed.
            due = due.select_for_update(skip_locked=True, of=("self",))
        claimed = Recipient.objects.filter(id__in=due, status=S.QUEUED).update(
            status=S.CLAIMED, claimed_by=token, claimed_at=now, attempts=F("attempts") + 1
        )
    if not claimed:
        return token, []
    rows = list(
        Recipient.objects.filter(claimed_by=token, status=S.CLAIMED)
        .order_by("id")
        .values_list("id", "email", "merge", "attempts")
    )
    return token, rows


def _next_retry(mailing_id: int) -> Any:
    return Recipient.objects.filter(
        mailing_id=mailing_id, status=S.QUEUED, mailing__status=Mailing.Status.SENDING
    ).aggregate(at=Min("next_attempt_at"))["at"]


class _Recorder:
    """Per-message writes as conditional UPDATEs on this thread's connection.

    A delivered message's ``sent`` is written with the next write of the same thread,
    in one transaction with it (usually the next message's ``sending``): one write
    transaction per message instead of two. It changes nothing for the guarantee: until
    then the row stays ``sending``, so it is never sent again, and a connection has at
    most one such row at a time (the next message only reaches ``sending`` in the same
    transaction). ``flush`` writes what is pending (end of a batch)."""

    def __init__(self) -> None:
        self.table = connection.ops.quote_name(Recipient._meta.db_table)
        self.pending: list[Any] | None = None

    def _now(self) -> Any:
        return connection.ops.adapt_datetimefield_value(timezone.now())

    def _update(self, sql: str, params: list[Any]) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {self.table} SET {sql}", params)  # noqa: S608 - our table
            return cursor.rowcount

    def _write_sent(self) -> None:
        if self.pending is not None:
            # Not over "bounced": an e-mail service's webhook may already have said so.
            self._update(
                "status = %s, sent_at = %s, error = '', esp_message_id = %s "
                "WHERE id = %s AND claimed_by = %s AND status <> %s",
                self.pending,
            )
            self.pending = None

    def flush(self) -> None:
        self._write_sent()

    def sending(self, pk: int, token: str, message_id: str) -> bool:
        """The commit point. ``claimed_at`` restarts here, so that a row is taken for a
        dead worker's only after MAILING_CLAIM_TIMEOUT seconds in this state.

        With the previous message's ``sent`` pending, both go in one UPDATE … RETURNING:
        one statement holds SQLite's write lock only while it runs, where a transaction
        of two would hold it across Python code (and GIL waits) between them."""
        now = self._now()
        if self.pending is None:
            return (
                self._update(
                    "status = %s, message_id = %s, claimed_at = %s "
                    "WHERE id = %s AND claimed_by = %s AND status = %s",
                    [S.SENDING, message_id, now, pk, token, S.CLAIMED],
                )
                == 1
            )
        _sent, sent_at, esp_message_id, sent_pk, sent_token, _bounced = self.pending
        if sent_token != token:
            # Another claim's row (not from _send_rows): keep the two writes apart.
            self._write_sent()
            return self.sending(pk, token, message_id)
        # Row ``pk`` becomes sending, row ``sent_pk`` sent: the same conditions as the
        # two single-row UPDATEs, which RETURNING tells apart.
        sql = (
            f"UPDATE {self.table} SET "  # noqa: S608 - our table, values are parameters
            "status = CASE WHEN id = %s THEN %s ELSE %s END, "
            "message_id = CASE WHEN id = %s THEN %s ELSE message_id END, "
            "claimed_at = CASE WHEN id = %s THEN %s ELSE claimed_at END, "
            "sent_at = CASE WHEN id = %s THEN sent_at ELSE %s END, "
            "error = CASE WHEN id = %s THEN error ELSE '' END, "
            "esp_message_id = CASE WHEN id = %s THEN esp_message_id ELSE %s END "
            "WHERE claimed_by = %s AND ((id = %s AND status = %s) OR (id = %s AND status <> %s)) "
            "RETURNING id"
        )
        params = [
            *(pk, S.SENDING, S.SENT),
            *(pk, message_id),
            *(pk, now),
            *(pk, sent_at),
            pk,
            *(pk, esp_message_id),
            *(token, pk, S.CLAIMED, sent_pk, S.BOUNCED),
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            # Fetched before the "." goes out: the statement (and its commit) is done.
            updated = {row[0] for row in cursor.fetchall()}
        self.pending = None
        return pk in updated

    def sent(self, pk: int, token: str, esp_message_id: str = "") -> None:
        """Delivered (the server's 250): written with the next write (``sent_at`` is now)."""
        self._write_sent()
        self.pending = [S.SENT, self._now(), esp_message_id[:200], pk, token, S.BOUNCED]

    def retry(self, pk: int, token: str, attempts: int, error: str, *, soft: bool) -> None:
        """Back to the queue after a backoff; ``soft``: the server said 4xx (a soft bounce,
        recorded), rather than a broken connection."""
        self._write_sent()
        bounce = Recipient.Bounce.SOFT if soft else ""
        if attempts >= settings.MAILING_MAX_ATTEMPTS:
            self.failed(pk, token, error, bounce=bounce)
            return
        delay = settings.MAILING_RETRY_SECONDS * 2 ** (attempts - 1)
        at = connection.ops.adapt_datetimefield_value(timezone.now() + timedelta(seconds=delay))
        soft_bounce = ", bounce = 'soft'" if soft else ""
        self._update(
            "status = %s, next_attempt_at = %s, claimed_by = '', claimed_at = NULL, error = %s"
            f"{soft_bounce} WHERE id = %s AND claimed_by = %s",
            [S.QUEUED, at, error[:500], pk, token],
        )

    def failed(self, pk: int, token: str, error: str, *, bounce: str = "") -> None:
        self._write_sent()
        set_bounce = ", bounce = 'soft'" if bounce == Recipient.Bounce.SOFT else ""
        self._update(
            f"status = %s, error = %s{set_bounce} WHERE id = %s AND claimed_by = %s",
            [S.FAILED, error[:500], pk, token],
        )

    def bounced(self, pk: int, token: str, email: str, error: str) -> None:
        with transaction.atomic():
            self._write_sent()
            self._update(
                "status = %s, error = %s, bounce = %s WHERE id = %s AND claimed_by = %s",
                [S.BOUNCED, error[:500], Recipient.Bounce.HARD, pk, token],
            )
            Suppression.objects.get_or_create(
                digest=suppression_digest("email", email),
                defaults={"kind": Suppression.Kind.EMAIL, "reason": Suppression.Reason.BOUNCE},
            )


def _send_rows(
    skeleton: Skeleton,
    smtp: Connection | EspConnection,
    token: str,
    rows: list[tuple[Any, ...]],
) -> dict[str, int]:
    """Send claimed rows in order over ``smtp`` (an SMTP connection, pipelined when the
    server allows it, or an e-mail service's API: same outcomes, same states)."""
    recorder = _Recorder()
    stats = {"sent": 0, "retried": 0, "bounced": 0, "failed": 0, "skipped": 0}
    items = (_outgoing(skeleton, recorder, token, row) for row in rows)
    try:
        for outcome in smtp.deliver_all(skeleton.mailing.sender.address, items, recorder.flush):
            result = _record(recorder, token, outcome, esp=smtp.kind == "esp")
            stats[result] += 1
    finally:
        # The last message's "sent" (see _Recorder).
        recorder.flush()
    return stats


def _outgoing(
    skeleton: Skeleton, recorder: _Recorder, token: str, row: tuple[Any, ...]
) -> Outgoing:
    pk, email, merge, attempts = row
    message_id = ""

    def build() -> bytes:
        nonlocal message_id
        message_id, message = skeleton.build(
            recipient_id=pk, email=email, merge=merge, origin=merge.get("origine", "")
        )
        return message

    def commit_point() -> bool:
        return recorder.sending(pk, token, message_id)

    return Outgoing(email, build, commit_point, recipient_id=pk, key=(pk, email, attempts))


def _record(recorder: _Recorder, token: str, outcome: Outcome, *, esp: bool) -> str:
    """Write one message's outcome; return its stats key."""
    pk, email, attempts = outcome.item.key
    exc = outcome.error
    if exc is None:
        recorder.sent(pk, token, outcome.reply if esp else "")
        return "sent"
    if isinstance(exc, UnicodeEncodeError):
        # A non-ASCII address needs SMTPUTF8, which this sender does not speak yet.
        recorder.failed(pk, token, "adresse non ASCII (SMTPUTF8 non pris en charge)")
        return "failed"
    if isinstance(exc, Abandoned):
        return "skipped"  # our claim was taken over: the other worker sends it
    if isinstance(exc, Rejected):
        error = f"{exc.code} {exc.reply}"
        if not exc.permanent:
            recorder.retry(pk, token, attempts, error, soft=exc.stage != "api")
            return "retried"
        if exc.stage in ("rcpt", "end-of-data"):
            recorder.bounced(pk, token, email, error)
            return "bounced"
        recorder.failed(pk, token, error)
        return "failed"
    if isinstance(exc, OSError):  # smtplib's errors are OSErrors too
        # Broken before the final ".": not delivered, try again; after it: unknown.
        logger.warning("SMTP connection broken sending recipient %s: %r", pk, exc)
        if outcome.committed:
            recorder.failed(pk, token, INTERRUPTED)
            return "failed"
        recorder.retry(pk, token, attempts, f"connexion : {exc}", soft=False)
        return "retried"
    raise exc


def _wait_for_work(mailing_id: int) -> bool:
    """Nothing to claim now: wait for a retry that falls due or for other workers' claims
    (settled, or requeued once stale). False when nothing is left to wait for."""
    if sum(requeue_stale(mailing_id).values()):
        return True
    due = Recipient.objects.filter(
        mailing_id=mailing_id, status=S.QUEUED, mailing__status=Mailing.Status.SENDING
    ).filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now()))
    if due.exists():
        # Rows skipped because another claim held them locked (PostgreSQL's SKIP LOCKED):
        # that claim may yet give them up (throttled). Try again rather than stop.
        time.sleep(0.05)
        return True
    at = _next_retry(mailing_id)
    if at is not None:
        time.sleep(min(max((at - timezone.now()).total_seconds(), 0.05), 1.0))
        return True
    in_flight = Recipient.objects.filter(
        mailing_id=mailing_id,
        status__in=[S.CLAIMED, S.SENDING],
        mailing__status=Mailing.Status.SENDING,
    )
    if in_flight.exists():
        time.sleep(0.1)
        return True
    return False


def _drain(skeleton: Skeleton, totals: dict[str, int], lock: threading.Lock) -> None:
    """One thread: claim, send, repeat, waiting for retries that are due soon."""
    smtp = EspConnection() if is_esp_backend() else Connection()
    throttle = Throttle.from_settings()
    mailing_id = skeleton.mailing.pk
    try:
        while True:
            token, rows = claim(mailing_id, settings.MAILING_BATCH_SIZE)
            if not rows:
                if not _wait_for_work(mailing_id):
                    break
                continue
            if throttle.enabled:
                # Rows over their domain's (or the global) rate go back to the queue
                # until the rate allows them; the other domains' rows go out now.
                rows = throttle.admit(token, rows)
                if not rows:
                    continue
            stats = _send_rows(skeleton, smtp, token, rows)
            with lock:
                for key, value in stats.items():
                    totals[key] = totals.get(key, 0) + value
    finally:
        smtp.close()
        if threading.current_thread() is not threading.main_thread():
            connection.close()


def finish_if_done(mailing_id: int) -> bool:
    """Mark the mailing sent when no row is left to send (idempotent)."""
    pending = Recipient.objects.filter(
        # HELD: the rest of an A/B test's audience, released once the winner is known.
        mailing=OuterRef("pk"),
        status__in=[S.QUEUED, S.CLAIMED, S.SENDING, S.HELD],
    )
    finished = bool(
        Mailing.objects.filter(pk=mailing_id, status=Mailing.Status.SENDING)
        .exclude(Exists(pending))
        .update(status=Mailing.Status.SENT, finished_at=timezone.now())
    )
    if finished:
        # Engagement's "mailings received", in one INSERT … SELECT (idempotent).
        from campagne.tracking.actions import count_received

        count_received(mailing_id)
    return finished


def send_mailing(mailing_id: int) -> dict[str, int]:
    """Send what is left of a mailing with MAILING_SMTP_CONNECTIONS parallel connections.

    Idempotent and safe to run in several workers at once: each takes its own claims.
    """
    mailing = Mailing.objects.select_related("sender").filter(pk=mailing_id).first()
    if mailing is None or mailing.status != Mailing.Status.SENDING:
        return {}
    totals: dict[str, int] = dict(requeue_stale(mailing_id))
    # E-mail services sign with the sender domain's key they hold; we sign SMTP sends.
    dkim = None if is_esp_backend() else dkim_signer_from_settings(mailing.sender.domain)
    skeleton = Skeleton(mailing, dkim=dkim)
    lock = threading.Lock()
    count = max(1, settings.MAILING_SMTP_CONNECTIONS)
    if count == 1:
        _drain(skeleton, totals, lock)
    else:
        threads = [
            threading.Thread(target=_drain, args=(skeleton, totals, lock), daemon=True)
            for _ in range(count)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    totals["finished"] = int(finish_if_done(mailing_id))
    logger.info("mailing %s: %s", mailing_id, totals)
    return totals
