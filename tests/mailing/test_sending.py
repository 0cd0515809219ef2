"""Sending through a real SMTP server: headers, DKIM, retries, bounces, the CLI."""

import json
from datetime import timedelta
from io import StringIO

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from campagne.accounts.scopes import scope_for
from campagne.mailing import actions, sending
from campagne.mailing.models import Mailing, Recipient
from campagne.mailing.smtp import Connection
from campagne.people.models import Suppression
from tests.factories import PersonFactory
from tests.mailing.conftest import consent, make_mailing


def start(user, mailing):
    return actions.start_sending(scope=scope_for(user), mailing=mailing)


def test_every_recipient_gets_one_message_with_the_bulk_headers(
    smtp_server, hq_admin, sender, person_digne, person_manosque
):
    consent(person_digne)
    consent(person_manosque)
    mailing = make_mailing(sender, created_by=hq_admin)
    start(hq_admin, mailing)

    totals = sending.send_mailing(mailing.pk)

    assert totals["sent"] == 2
    assert smtp_server.handler.by_address() == {person_digne.email: 1, person_manosque.email: 1}
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENT
    assert mailing.counts()["sent"] == 2
    messages = {item.rcpt: item.message for item in smtp_server.handler.received}
    paul = messages[person_manosque.email]
    recipient = mailing.recipients.get(email=person_manosque.email)
    assert paul["Message-ID"] == recipient.message_id
    assert paul["Message-ID"] != messages[person_digne.email]["Message-ID"]
    assert paul["Subject"] == "Samedi à Manosque"
    assert paul["From"] == "Équipe Campagne <equipe@campagne.test>"
    assert paul["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url, mailto = paul["List-Unsubscribe"].split(", ")
    assert url.startswith("<http://127.0.0.1:8000/m/u/") and url.endswith("/>")
    assert mailto == f"<mailto:equipe@campagne.test?subject=unsubscribe%20{recipient.pk}>"
    text, page = (part.get_payload(decode=True).decode() for part in paul.get_payload())
    assert "# Bonjour Paul !" in text
    # Links are tracked (campagne.tracking): a signed redirect, in the text part too.
    assert "Le programme (http://127.0.0.1:8000/m/c/" in text
    assert "Bonjour Paul !</h1>" in page
    assert "<strong>Manosque</strong>" in page
    assert "Votre adresse provient de : tests." in page
    assert url[1:-1] in page and url[1:-1] in text


def _rsa_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_dkim_signature_verifies_with_dkimpy(smtp_server, hq_admin, sender, person_digne):
    from campagne.mailing.dkim import DkimSigner

    pem = _rsa_pem()
    signer = DkimSigner(private_key=pem, selector="s1", domain="campagne.test")
    consent(person_digne)
    person_digne.first_name = "Jeanne  Marie"  # a run of blanks: relaxed canonicalisation
    person_digne.save()
    mailing = make_mailing(sender, created_by=hq_admin)
    start(hq_admin, mailing)

    with override_settings(CAMPAGNE_DKIM_PRIVATE_KEY=pem.decode(), CAMPAGNE_DKIM_SELECTOR="s1"):
        sending.send_mailing(mailing.pk)

    data = smtp_server.handler.received[0].data
    record = signer.public_dns_record().encode()

    def dns(name, timeout=5):
        assert name == b"s1._domainkey.campagne.test."
        return record

    assert data.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;")
    h_tag = b"h=from:to:subject:date:message-id:list-unsubscribe:list-unsubscribe-post"
    assert h_tag in data
    assert dkim.verify(data, dnsfunc=dns) is True
    tampered = data.replace(b"Samedi", b"Dimanche", 1)
    assert dkim.verify(tampered, dnsfunc=dns) is False


@override_settings(MAILING_RETRY_SECONDS=0)
def test_a_temporary_failure_is_retried(smtp_server, hq_admin, sender, person_digne):
    consent(person_digne)
    smtp_server.handler.rcpt_replies[person_digne.email] = ["451 4.7.1 Réessayez plus tard"]
    mailing = make_mailing(sender, created_by=hq_admin)
    start(hq_admin, mailing)

    totals = sending.send_mailing(mailing.pk)

    assert (totals["retried"], totals["sent"]) == (1, 1)
    assert smtp_server.handler.by_address() == {person_digne.email: 1}
    recipient = mailing.recipients.get()
    assert (recipient.status, recipient.attempts) == (Recipient.Status.SENT, 2)
    # Delivered in the end, but the 4xx is on record as a soft bounce.
    assert recipient.bounce == Recipient.Bounce.SOFT
    assert mailing.delivery_counts() == {"hard_bounces": 0, "soft_bounces": 1, "complaints": 0}


def test_a_temporary_failure_waits_its_backoff(hq_admin, sender, person_digne, smtp_server):
    consent(person_digne)
    smtp_server.handler.rcpt_replies[person_digne.email] = ["421 4.7.0 Trop de connexions"]
    mailing = make_mailing(sender, created_by=hq_admin)
    start(hq_admin, mailing)
    token, rows = sending.claim(mailing.pk, 10)

    before = timezone.now()
    sending._send_rows(sending.Skeleton(mailing), Connection(), token, rows)

    recipient = mailing.recipients.get()
    assert recipient.status == Recipient.Status.QUEUED
    assert recipient.error == "421 4.7.0 Trop de connexions"
    # First retry after MAILING_RETRY_SECONDS (120 s by default), doubling after that.
    assert timedelta(seconds=119) < recipient.next_attempt_at - before < timedelta(seconds=122)
    assert sending.claim(mailing.pk, 10)[1] == []


@override_settings(MAILING_RETRY_SECONDS=0, MAILING_MAX_ATTEMPTS=2)
def test_temporary_failures_give_up_after_max_attempts(smtp_server, hq_admin, sender, person_digne):
    consent(person_digne)
    smtp_server.handler.rcpt_replies[person_digne.email] = ["451 later"] * 5
    mailing = make_mailing(sender, created_by=hq_admin)
    start(hq_admin, mailing)

    sending.send_mailing(mailing.pk)

    recipient = mailing.recipients.get()
    assert (recipient.status, recipient.attempts) == (Recipient.Status.FAILED, 2)
    assert (recipient.bounce, recipient.error) == (Recipient.Bounce.SOFT, "451 later")
    assert smtp_server.handler.received == []
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENT


def test_a_permanent_failure_bounces_and_suppresses_the_address(
    smtp_server, hq_admin, sender, person_digne, person_manosque
):
    consent(person_digne)
    consent(person_manosque)
    smtp_server.handler.rcpt_replies[person_digne.email] = ["550 5.1.1 Utilisateur inconnu"]
    mailing = make_mailing(sender, created_by=hq_admin)
    start(hq_admin, mailing)

    sending.send_mailing(mailing.pk)

    bounced = mailing.recipients.get(email=person_digne.email)
    assert (bounced.status, bounced.bounce, bounced.error) == (
        Recipient.Status.BOUNCED,
        Recipient.Bounce.HARD,
        "550 5.1.1 Utilisateur inconnu",
    )
    assert mailing.recipients.get(email=person_manosque.email).bounce == ""
    out = StringIO()
    call_command("mailing", "status", str(mailing.pk), stdout=out)
    status = json.loads(out.getvalue())
    assert (status["bounced"], status["hard_bounces"], status["soft_bounces"]) == (1, 1, 0)
    assert Suppression.objects.contains_email(person_digne.email)
    assert Suppression.objects.get().reason == Suppression.Reason.BOUNCE
    assert smtp_server.handler.by_address() == {person_manosque.email: 1}

    later = make_mailing(sender, created_by=hq_admin)
    assert start(hq_admin, later) == {"recipients": 1, "suppressed": 1}
    assert list(later.recipients.values_list("email", flat=True)) == [person_manosque.email]


def test_a_claim_taken_over_by_another_worker_is_not_sent(
    smtp_server, hq_admin, sender, person_digne
):
    consent(person_digne)
    mailing = make_mailing(sender, created_by=hq_admin)
    start(hq_admin, mailing)
    stale_token, rows = sending.claim(mailing.pk, 10)
    Recipient.objects.update(claimed_at=timezone.now() - timedelta(hours=1))
    assert sending.requeue_stale(mailing.pk) == {"requeued": 1, "interrupted": 0}
    new_token, _rows = sending.claim(mailing.pk, 10)

    # The first worker wakes up and goes on with its old claim: it must not send.
    stats = sending._send_rows(sending.Skeleton(mailing), Connection(), stale_token, rows)

    assert stats["skipped"] == 1
    assert smtp_server.handler.received == []
    assert mailing.recipients.get().claimed_by == new_token


def test_a_message_interrupted_after_its_body_is_never_sent_again(
    smtp_server, hq_admin, sender, person_digne, person_manosque
):
    consent(person_digne)
    consent(person_manosque)
    mailing = make_mailing(sender, created_by=hq_admin)
    start(hq_admin, mailing)
    # What a worker killed between the final "." and recording the 250 leaves behind.
    Recipient.objects.filter(email=person_digne.email).update(
        status=Recipient.Status.SENDING,
        claimed_by="dead",
        claimed_at=timezone.now() - timedelta(hours=1),
    )

    totals = sending.send_mailing(mailing.pk)

    assert totals["interrupted"] == 1
    assert smtp_server.handler.by_address() == {person_manosque.email: 1}
    lost = mailing.recipients.get(email=person_digne.email)
    assert (lost.status, lost.error) == (Recipient.Status.FAILED, sending.INTERRUPTED)


def test_cli_send_and_status(
    smtp_server, hq_admin, sender, person_digne, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    consent(person_digne)
    mailing = make_mailing(sender, created_by=hq_admin)
    out = StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("mailing", "send", str(mailing.pk), stdout=out)

    assert json.loads(out.getvalue()) == {"mailing": mailing.pk, "recipients": 1, "suppressed": 0}
    assert DBTaskResult.objects.filter(task_path__endswith="send_mailing_task").count() == 1
    out = StringIO()
    call_command("mailing", "status", str(mailing.pk), stdout=out)
    assert json.loads(out.getvalue()) == {
        "mailing": mailing.pk,
        "status": "sending",
        "queued": 1,
        "claimed": 0,
        "sending": 0,
        "sent": 0,
        "failed": 0,
        "bounced": 0,
        "held": 0,
        "hard_bounces": 0,
        "soft_bounces": 0,
        "complaints": 0,
    }


def test_cli_refuses_an_unknown_mailing(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No mailing with id 999"):
        call_command("mailing", "status", "999")


def test_many_recipients_each_once(smtp_server, hq_admin, sender):
    people = [consent(PersonFactory(email=f"p{n}@example.test")) for n in range(25)]
    mailing = make_mailing(sender, created_by=hq_admin)
    start(hq_admin, mailing)

    with override_settings(MAILING_BATCH_SIZE=7):
        sending.send_mailing(mailing.pk)

    assert smtp_server.handler.by_address() == {person.email: 1 for person in people}


@pytest.mark.parametrize(
    "smtp_server", [True, False], ids=["pipelined", "one-by-one"], indirect=True
)
@override_settings(MAILING_RETRY_SECONDS=0, MAILING_BATCH_SIZE=5)
def test_refusals_in_the_middle_of_a_batch_touch_only_their_message(smtp_server, hq_admin, sender):
    people = [consent(PersonFactory(email=f"p{n}@example.test")) for n in range(12)]
    smtp_server.handler.rcpt_replies = {
        "p3@example.test": ["550 5.1.1 Unknown user"],
        "p7@example.test": ["451 4.7.1 Try again later"],
    }
    mailing = make_mailing(sender, created_by=hq_admin)
    start(hq_admin, mailing)

    sending.send_mailing(mailing.pk)

    delivered = {person.email: 1 for person in people if person.email != "p3@example.test"}
    assert smtp_server.handler.by_address() == delivered
    rows = {row.email: row for row in mailing.recipients.all()}
    assert rows["p3@example.test"].status == Recipient.Status.BOUNCED
    assert (rows["p7@example.test"].status, rows["p7@example.test"].attempts) == ("sent", 2)
    assert rows["p7@example.test"].bounce == Recipient.Bounce.SOFT
    assert mailing.counts()["sent"] == 11
    ids = [item.message["Message-ID"] for item in smtp_server.handler.received]
    assert sorted(ids) == sorted(row.message_id for row in rows.values() if row.status == "sent")


def test_pause_stops_claims_resume_sends_the_rest_cancel_stops_for_good(
    smtp_server, hq_admin, sender, django_capture_on_commit_callbacks
):
    people = [consent(PersonFactory(email=f"p{n}@example.test")) for n in range(3)]
    mailing = make_mailing(sender, created_by=hq_admin)
    start(hq_admin, mailing)
    out = StringIO()

    call_command("mailing", "pause", str(mailing.pk), stdout=out)
    assert json.loads(out.getvalue()) == {"mailing": mailing.pk, "status": "paused"}
    assert sending.send_mailing(mailing.pk) == {}
    assert sending.claim(mailing.pk, 10)[1] == []
    assert smtp_server.handler.received == []

    with django_capture_on_commit_callbacks(execute=True):
        call_command("mailing", "resume", str(mailing.pk), stdout=StringIO())
    sending.send_mailing(mailing.pk)
    assert smtp_server.handler.by_address() == {person.email: 1 for person in people}

    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="déjà terminé"):
        call_command("mailing", "cancel", str(mailing.pk))


def test_a_cancelled_mailing_sends_nothing_more(smtp_server, hq_admin, hq_staff, sender):
    from django.core.exceptions import PermissionDenied

    consent(PersonFactory(email="a@example.test"))
    mailing = make_mailing(sender, created_by=hq_admin)
    start(hq_admin, mailing)
    with pytest.raises(PermissionDenied):
        actions.cancel_sending(scope=scope_for(hq_staff), mailing=mailing)
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENDING

    actions.cancel_sending(scope=scope_for(hq_admin), mailing=mailing)

    assert sending.send_mailing(mailing.pk) == {}
    assert smtp_server.handler.received == []
    assert mailing.counts()["queued"] == 1


def test_a_test_send_goes_to_the_given_addresses_only(smtp_server, hq_admin, sender, person_digne):
    consent(person_digne)
    mailing = make_mailing(sender, created_by=hq_admin)
    out = StringIO()

    call_command(
        "mailing",
        "test",
        str(mailing.pk),
        "--to",
        "qg@campagne.test",
        "--to",
        "b@campagne.test",
        stdout=out,
    )

    assert smtp_server.handler.by_address() == {"qg@campagne.test": 1, "b@campagne.test": 1}
    message = smtp_server.handler.received[0].message
    assert message["Subject"] == "[TEST] Samedi à chez vous"
    assert "Bonjour ami·e !" in message.get_payload()[0].get_content()
    assert len(json.loads(out.getvalue())["test_message_ids"]) == 2
    mailing.refresh_from_db()
    assert (mailing.status, Recipient.objects.count()) == (Mailing.Status.DRAFT, 0)


def test_hq_staff_cannot_test_send(smtp_server, hq_admin, hq_staff, sender):
    from django.core.exceptions import PermissionDenied

    mailing = make_mailing(sender, created_by=hq_admin)

    with pytest.raises(PermissionDenied):
        actions.send_test(scope=scope_for(hq_staff), mailing=mailing, addresses=["a@b.test"])
    assert smtp_server.handler.received == []


def test_recovery_queues_a_dead_workers_sending_once(
    smtp_server, hq_admin, sender, person_digne, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    from campagne.core import recovery

    assert recovery.registered()["mailing"] == actions.recover_stalled_sendings
    consent(person_digne)
    mailing = make_mailing(sender, created_by=hq_admin)
    start(hq_admin, mailing)  # (its task would be queued on commit, which tests never reach)
    tasks = DBTaskResult.objects.filter(task_path__endswith="send_mailing_task")
    assert tasks.count() == 0

    # Rows due, no claim, no task waiting: stalled. Two workers recover at once: one queues.
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.recover_stalled_sendings() == 1
        assert actions.recover_stalled_sendings() == 0
    assert tasks.filter(status="READY").count() == 1
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Mailing.objects.update(recovered_at=an_hour_ago)
    assert actions.recover_stalled_sendings() == 0  # its task is waiting in the queue

    # A worker took the task and the rows, then was killed with them.
    tasks.update(status="RUNNING")
    sending.claim(mailing.pk, 10)
    assert actions.recover_stalled_sendings() == 0  # fresh claims: maybe a live worker
    Recipient.objects.update(claimed_at=an_hour_ago)
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.recover_stalled_sendings() == 1
    assert tasks.filter(status="READY").count() == 1

    sending.send_mailing(mailing.pk)  # what the queued task does
    assert smtp_server.handler.by_address() == {person_digne.email: 1}
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENT
    Mailing.objects.update(recovered_at=an_hour_ago)
    assert actions.recover_stalled_sendings() == 0
