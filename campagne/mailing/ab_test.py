"""A/B test of subjects: a sample tries both subjects, the winner on clicks goes to the rest.

When sending starts, the whole audience is frozen as usual; then every row but a random
sample (``ab_sample_percent``) is set aside as ``held``, and the sample is split in two
halves, ``variant`` A and B. Workers only ever claim ``queued`` rows, so held rows are
simply not work yet and the exactly-once rules of the send path are untouched. After
``ab_wait_minutes`` a task counts the unique **human clicks** of each half (opens are
inflated by Apple's proxy and security scanners), picks the winner (a tie goes to A),
and releases the held rows as ``queued`` with that variant, in one UPDATE.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django_tasks import task

from campagne.mailing.models import Mailing, Recipient

logger = logging.getLogger(__name__)
S = Recipient.Status


def is_ab_test(mailing: Mailing) -> bool:
    return bool(mailing.subject_b.strip())


def split_sample(mailing: Mailing) -> dict[str, int]:
    """Hold all rows but a random sample, split in two halves. Runs in start_sending's
    transaction, before any send task is enqueued; schedules the winner's pick."""
    rows = Recipient.objects.filter(mailing=mailing)
    total = rows.count()
    size = min(total, max(2, round(total * mailing.ab_sample_percent / 100)))
    rows.update(status=S.HELD)
    # ORDER BY RANDOM() LIMIT n, in the database (SQLite and PostgreSQL alike).
    sample = rows.order_by("?").values("id")[:size]
    Recipient.objects.filter(id__in=sample).update(status=S.QUEUED, variant="A")
    half = rows.filter(status=S.QUEUED).order_by("?").values("id")[: size // 2]
    Recipient.objects.filter(id__in=half).update(variant="B")
    at = timezone.now() + timedelta(minutes=mailing.ab_wait_minutes)
    transaction.on_commit(lambda: pick_winner_task.using(run_after=at).enqueue(mailing.pk))
    return {"sample": size, "held": total - size}


def unique_clicks_by_variant(mailing: Mailing) -> dict[str, int]:
    """Recipients of each variant who clicked at least once (human clicks only: security
    scanners that follow every link are flagged ``machine`` by campagne.tracking)."""
    from campagne.tracking.models import Hit

    rows = (
        Hit.objects.filter(mailing=mailing, kind=Hit.Kind.CLICK, machine=False)
        .values("recipient__variant")
        .annotate(n=Count("recipient", distinct=True))
        .values_list("recipient__variant", "n")
    )
    return {variant: n for variant, n in rows if variant}


def pick_winner(mailing_id: int) -> str:
    """Choose the subject with more unique clicks (a tie: A) and release the held rows.

    Idempotent: the winner is claimed by a conditional UPDATE, so a task run twice
    releases once. A cancelled mailing keeps its held rows as the record of who was left.
    """
    mailing = Mailing.objects.filter(pk=mailing_id).first()
    if mailing is None or not is_ab_test(mailing):
        return ""
    if mailing.ab_winner or mailing.status not in (Mailing.Status.SENDING, Mailing.Status.PAUSED):
        return mailing.ab_winner
    clicks = unique_clicks_by_variant(mailing)
    winner = "B" if clicks.get("B", 0) > clicks.get("A", 0) else "A"
    with transaction.atomic():
        claimed = Mailing.objects.filter(pk=mailing_id, ab_winner="").update(ab_winner=winner)
        if not claimed:
            return Mailing.objects.get(pk=mailing_id).ab_winner
        released = Recipient.objects.filter(mailing_id=mailing_id, status=S.HELD).update(
            status=S.QUEUED, variant=winner
        )
        transaction.on_commit(lambda: _enqueue_send(mailing_id))
    logger.info("mailing %s: A/B winner %s %s, %s released", mailing_id, winner, clicks, released)
    return winner


def _enqueue_send(mailing_id: int) -> None:
    from campagne.mailing.tasks import send_mailing_task

    for _n in range(max(1, settings.MAILING_SEND_TASKS)):
        send_mailing_task.enqueue(mailing_id)


@task(queue_name="mailing")
def pick_winner_task(mailing_id: int) -> str:
    return pick_winner(mailing_id)
