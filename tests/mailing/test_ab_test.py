"""A/B test of subjects, end to end through a real SMTP server and real tracked clicks."""

import re
from datetime import timedelta

import pytest
from django.db.models import Count
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from campagne.accounts.scopes import scope_for
from campagne.mailing import ab_test, actions, sending
from campagne.mailing.models import Mailing, Recipient
from campagne.tracking import recorder
from campagne.tracking import views as tracking_views
from tests.factories import PersonFactory
from tests.mailing.conftest import consent, make_mailing

SUBJECT_A = "Samedi à {{ commune }}"
SUBJECT_B = "Dernier appel pour samedi"
S = Recipient.Status
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture
def ten_people(db):
    return [consent(PersonFactory()) for _n in range(10)]


@pytest.fixture
def tracking(tmp_path):
    # Clicks are written by an explicit flush, in the test's own transaction (a private
    # spool, no background thread); a click within TRACKING_MACHINE_SECONDS of delivery
    # is a scanner's. Link targets cached by an earlier test (same mailing id) are dropped.
    with override_settings(
        TRACKING_SPOOL_DIR=tmp_path, TRACKING_FLUSH_MILLISECONDS=0, TRACKING_MACHINE_SECONDS=5
    ):
        recorder._spool = None
        tracking_views._links.clear()
        yield
        recorder._spool = None
        tracking_views._links.clear()


def start(user, mailing, capture):
    with capture(execute=True):
        return actions.start_sending(scope=scope_for(user), mailing=mailing)


def subjects(server) -> dict[str, str]:
    return {item.rcpt: str(item.message["Subject"]) for item in server.handler.received}


def click_first_link(client, server, address: str) -> None:
    (item,) = [i for i in server.handler.received if i.rcpt == address]
    html = item.message.get_body(("html",)).get_content()
    link = re.search(r'href="https?://[^/"]+(/m/c/[^"]+)"', html).group(1)
    assert client.get(link, headers={"user-agent": BROWSER}).status_code == 302


def test_the_subject_with_more_clicks_goes_to_the_rest(
    client,
    smtp_server,
    tracking,
    hq_admin,
    sender,
    ten_people,
    django_capture_on_commit_callbacks,
):
    mailing = make_mailing(
        sender,
        created_by=hq_admin,
        subject=SUBJECT_A,
        subject_b=SUBJECT_B,
        ab_sample_percent=40,
        ab_wait_minutes=60,
    )

    result = start(hq_admin, mailing, django_capture_on_commit_callbacks)

    assert result == {"recipients": 10, "suppressed": 0}
    counts = mailing.counts()
    assert (counts["queued"], counts["held"]) == (4, 6)
    variants = dict(
        Recipient.objects.filter(status=S.QUEUED).values_list("variant").annotate(n=Count("id"))
    )
    assert variants == {"A": 2, "B": 2}
    (pick,) = DBTaskResult.objects.filter(task_path__endswith="pick_winner_task")
    assert pick.args_kwargs["args"] == [mailing.pk]
    mailing.refresh_from_db()
    assert abs(pick.run_after - (mailing.started_at + timedelta(minutes=60))) < timedelta(seconds=5)

    # The sample goes; the held rows do not, and the mailing is not "sent" yet.
    sending.send_mailing(mailing.pk)
    sample = subjects(smtp_server)
    assert len(sample) == 4
    b_rows = set(Recipient.objects.filter(variant="B").values_list("email", flat=True))
    for address, subject in sample.items():
        assert (subject == SUBJECT_B) == (address in b_rows)
    assert sorted(sample.values()).count(SUBJECT_B) == 2
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENDING
    assert mailing.counts()["held"] == 6

    # One human click on a B message (later than the scanners' first seconds); a scanner
    # clicks every A message at once, which does not count.
    (a_first, a_second), (b_first, _b) = (
        sorted(a for a in sample if a not in b_rows),
        sorted(b_rows),
    )
    click_first_link(client, smtp_server, a_first)
    click_first_link(client, smtp_server, a_second)
    Recipient.objects.filter(email=b_first).update(sent_at=timezone.now() - timedelta(minutes=5))
    click_first_link(client, smtp_server, b_first)
    recorder.flush_all()
    assert ab_test.unique_clicks_by_variant(mailing) == {"B": 1}

    with django_capture_on_commit_callbacks(execute=True):
        assert pick.task.call(*pick.args_kwargs["args"]) == "B"
    assert ab_test.pick_winner(mailing.pk) == "B"  # run twice: nothing more happens

    mailing.refresh_from_db()
    assert mailing.ab_winner == "B"
    assert mailing.counts()["held"] == 0
    sending.send_mailing(mailing.pk)
    received = subjects(smtp_server)
    assert sorted(smtp_server.handler.by_address().values()) == [1] * 10
    rest = {a: s for a, s in received.items() if a not in sample}
    assert list(rest.values()) == [SUBJECT_B] * 6
    mailing.refresh_from_db()
    assert (mailing.status, mailing.counts()["sent"]) == (Mailing.Status.SENT, 10)


def test_a_tie_goes_to_a_and_a_cancelled_test_releases_nothing(
    smtp_server, tracking, hq_admin, sender, ten_people, django_capture_on_commit_callbacks
):
    tie = make_mailing(sender, created_by=hq_admin, subject_b=SUBJECT_B, ab_sample_percent=20)
    start(hq_admin, tie, django_capture_on_commit_callbacks)
    sending.send_mailing(tie.pk)

    assert ab_test.pick_winner(tie.pk) == "A"
    sending.send_mailing(tie.pk)
    rest = Recipient.objects.filter(mailing=tie).exclude(variant="B")
    assert rest.count() == 9
    subjects_sent = subjects(smtp_server)
    (b_address,) = Recipient.objects.filter(mailing=tie, variant="B").values_list(
        "email", flat=True
    )
    assert subjects_sent[b_address] == SUBJECT_B
    assert {subjects_sent[r.email] for r in rest} == {"Samedi à Digne-les-Bains"}

    smtp_server.handler.received.clear()
    cancelled = make_mailing(sender, created_by=hq_admin, subject_b=SUBJECT_B)
    start(hq_admin, cancelled, django_capture_on_commit_callbacks)
    actions.cancel_sending(scope=scope_for(hq_admin), mailing=cancelled)

    assert ab_test.pick_winner(cancelled.pk) == ""
    assert cancelled.counts()["held"] == 8
    sending.send_mailing(cancelled.pk)
    assert smtp_server.handler.received == []


def test_the_form_refuses_a_sample_out_of_bounds(client, hq_admin, sender):
    from campagne.segments.models import Segment

    segment = Segment.objects.create(name="Tous", definition={})
    client.force_login(hq_admin)
    data = {
        "sender": sender.pk,
        "subject": "A",
        "body": "Texte",
        "reason": "Vous avez signé.",
        "segments": [segment.pk],
        "subject_b": "B {{ inconnu }}",
        "ab_sample_percent": 80,
        "ab_wait_minutes": 60,
    }

    page = client.post("/m/nouveau/", data).content.decode()

    assert "Champ de fusion inconnu : inconnu" in page
    assert "L&#x27;échantillon va de 2 à 50 % de l&#x27;audience." in page
    assert not Mailing.objects.exists()
