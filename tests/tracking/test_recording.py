"""Hits go through the spool to the database in batches, exactly once; machine hits are
flagged; engagement follows human hits only."""

import shutil
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from campagne.tracking import actions, recorder
from campagne.tracking.models import Engagement, Hit
from campagne.tracking.report import mailing_report
from tests.tracking.conftest import path, send_to, tracked_urls

HUMAN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"


def test_hits_are_written_once_in_one_batch(client, mailing, person_digne, person_gap, settings):
    recipients = send_to(mailing, [person_digne, person_gap])
    for recipient in recipients:
        clicks, pixel = tracked_urls(mailing, recipient)
        client.get(path(pixel), HTTP_USER_AGENT=HUMAN)
        client.get(path(clicks[0]), HTTP_USER_AGENT=HUMAN)
        client.get(path(clicks[1]), HTTP_USER_AGENT=HUMAN)
    assert Hit.objects.count() == 0  # nothing written on the request path
    spooled = list(settings.TRACKING_SPOOL_DIR.glob("*.hits"))
    assert len(spooled) == 1
    copy = settings.TRACKING_SPOOL_DIR / "copy.txt"
    shutil.copy(spooled[0], copy)
    with CaptureQueriesContext(connection) as queries:
        assert recorder.flush_all() == 6
    inserts = [q["sql"] for q in queries.captured_queries if 'INTO "tracking_hit"' in q["sql"]]
    # One statement for the batch (executemany: one prepared INSERT, six rows).
    assert len(inserts) == 1 and inserts[0].startswith("6 times")
    assert Hit.objects.count() == 6
    assert list(settings.TRACKING_SPOOL_DIR.glob("*.hits")) == []
    # The same file read again (a crash after the INSERT, before the delete): no duplicate.
    recorder.ingest(copy)
    assert Hit.objects.count() == 6
    assert set(Hit.objects.values_list("machine", flat=True)) == {False}


def test_files_of_dead_processes_are_taken_over(client, mailing, person_digne, settings):
    (recipient,) = send_to(mailing, [person_digne])
    clicks, _pixel = tracked_urls(mailing, recipient)
    client.get(path(clicks[0]), HTTP_USER_AGENT=HUMAN)
    (mine,) = settings.TRACKING_SPOOL_DIR.glob("*.hits")
    recorder.spool().rotate()
    # As if a killed process (pid 999999999, not running) had left it.
    dead = settings.TRACKING_SPOOL_DIR / f"{recorder.HOST}.999999999.7.hits"
    mine.rename(dead)
    assert recorder.flush_all() == 1
    assert Hit.objects.get().kind == Hit.Kind.CLICK
    assert not dead.exists()


def test_machine_hits_are_flagged_and_left_out_of_human_rates(
    client, mailing, person_digne, person_gap, person_manosque
):
    early, apple, human = send_to(mailing, [person_digne, person_gap, person_manosque])
    # Sent a second ago: any hit now is a scanner's.
    type(early).objects.filter(pk=early.pk).update(
        sent_at=early.sent_at + timedelta(hours=1) - timedelta(seconds=1)
    )
    _c, early_pixel = tracked_urls(mailing, early)
    early_clicks, _p = tracked_urls(mailing, early)
    _c, apple_pixel = tracked_urls(mailing, apple)
    human_clicks, human_pixel = tracked_urls(mailing, human)
    client.get(path(early_pixel), HTTP_USER_AGENT=HUMAN)
    client.get(path(early_clicks[0]), HTTP_USER_AGENT=HUMAN)
    client.get(path(apple_pixel), HTTP_USER_AGENT="Mozilla/5.0", REMOTE_ADDR="17.58.1.2")
    client.get(path(human_pixel), HTTP_USER_AGENT="Mozilla/5.0 GoogleImageProxy")
    client.get(path(human_pixel), HTTP_USER_AGENT=HUMAN, REMOTE_ADDR="90.1.2.3")
    client.get(path(human_clicks[1]), HTTP_USER_AGENT=HUMAN, REMOTE_ADDR="90.1.2.3")
    recorder.flush_all()
    flags = sorted(Hit.objects.values_list("recipient_id", "kind", "machine", "agent"))
    assert flags == sorted(
        [
            (early.pk, "open", True, "fast"),
            (early.pk, "click", True, "fast"),
            (apple.pk, "open", True, "apple-proxy"),
            (human.pk, "open", True, "google-proxy"),
            (human.pk, "open", False, ""),
            (human.pk, "click", False, ""),
        ]
    )
    report = mailing_report(mailing)
    assert report["delivered"] == 3
    assert report["human_openers"] == 1
    assert report["human_open_rate"] == round(1 / 3, 4)
    assert report["machine_openers"] == 3
    assert report["human_clickers"] == 1
    assert report["machine_clicks"] == 1
    assert [
        (link["number"], link["clickers"], link["machine_clicks"]) for link in report["links"]
    ] == [
        (1, 0, 1),
        (2, 1, 0),
    ]
    # Engagement: the human only.
    assert list(Engagement.objects.values_list("person_id", flat=True)) == [person_manosque.pk]


def test_engagement_keeps_the_latest_human_dates(mailing, person_digne):
    (recipient,) = send_to(mailing, [person_digne])
    from django.utils import timezone

    now = timezone.now()

    def hit(kind, at):
        import uuid

        return actions.RawHit(
            uuid.uuid4(), kind, mailing.pk, recipient.pk, 1, at, "90.1.2.3", HUMAN
        )

    actions.record_hits([hit("click", now - timedelta(minutes=5)), hit("open", now)])
    actions.record_hits([hit("click", now - timedelta(minutes=30))])  # older: ignored
    engagement = Engagement.objects.get(person=person_digne)
    assert engagement.last_click_at == now - timedelta(minutes=5)
    assert engagement.last_human_open_at == now


def test_hits_of_a_vanished_recipient_are_dropped(mailing, person_digne):
    (recipient,) = send_to(mailing, [person_digne])
    import uuid

    from django.utils import timezone

    raw = actions.RawHit(
        uuid.uuid4(), "open", mailing.pk, recipient.pk, 0, timezone.now(), "", HUMAN
    )
    recipient.delete()
    assert actions.record_hits([raw]) == 0
    assert Hit.objects.count() == 0


def test_mailings_received_counted_once(mailing, person_digne, person_gap):
    send_to(mailing, [person_digne, person_gap])
    assert actions.count_received(mailing.pk) == 2
    assert actions.count_received(mailing.pk) == 0
    assert dict(Engagement.objects.values_list("person_id", "mailings_received")) == {
        person_digne.pk: 1,
        person_gap.pk: 1,
    }
