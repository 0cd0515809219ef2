"""kill -9 a real `campagne worker` in the middle of a send, start it again: every
recipient receives the mailing exactly once, counted by a real SMTP server."""

import pytest

from campagne.accounts.scopes import scope_for
from campagne.mailing import actions
from campagne.mailing.models import Mailing
from tests.core.processes import wait_for
from tests.factories import PersonFactory
from tests.mailing.conftest import consent, make_mailing

RECIPIENTS = 80
KILL_AFTER = 30
CONNECTIONS = 4


@pytest.mark.usefixtures("transactional_db")
def test_kill_9_mid_send_then_restart_delivers_every_message_exactly_once(
    smtp_server, start_campagne, hq_admin, sender
):
    people = [consent(PersonFactory(email=f"p{n}@example.test")) for n in range(RECIPIENTS)]
    mailing = make_mailing(sender, created_by=hq_admin)
    actions.start_sending(scope=scope_for(hq_admin), mailing=mailing)
    handler = smtp_server.handler
    # Once KILL_AFTER messages are in, the server holds every connection at its next
    # RCPT: the worker then has claimed rows in hand when it is killed.
    handler.hold_after = KILL_AFTER
    env = {
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_server.port}",
        "MAILING_SMTP_CONNECTIONS": str(CONNECTIONS),
        "MAILING_BATCH_SIZE": "10",
        "MAILING_CLAIM_TIMEOUT": "1",
    }

    worker = start_campagne("worker", "--no-startup-delay", "--interval=0.2", **env)
    try:
        wait_for(lambda: handler.held >= CONNECTIONS, timeout=60, what="every connection held")
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}: held {handler.held}, {mailing.counts()}\n{worker.output}"
        ) from None
    # A delivered message's "sent" is written with the next message's commit point, or
    # once the server has kept the worker waiting IDLE_SECONDS (here: held at RCPT).
    wait_for(
        lambda: mailing.counts()["sent"] == len(handler.received),
        timeout=10,
        what="the messages delivered before the stall to be recorded",
    )
    worker.kill_group()  # SIGKILL: no cleanup of any kind

    counts = mailing.counts()
    # What the server accepted before the kill is exactly what the database says was sent.
    assert counts["sent"] == len(handler.received) >= KILL_AFTER
    assert counts["claimed"] > 0
    assert counts["sending"] == 0
    handler.hold_after = None
    handler.gate.set()

    # The send task died with the worker. Nobody runs `mailing send` again: the new
    # worker's recovery finds the dead claims (stale after MAILING_CLAIM_TIMEOUT) and
    # queues the send task again, which requeues them.
    again = start_campagne(
        "worker", "--no-startup-delay", "--interval=0.2", "--recovery-interval=1", **env
    )

    def finished() -> bool:
        mailing.refresh_from_db()
        return mailing.status == Mailing.Status.SENT

    try:
        wait_for(finished, timeout=60, what="the mailing to finish")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {mailing.counts()}\n{again.output}") from None
    received = handler.by_address()
    not_once = mailing.recipients.exclude(email__in=[e for e, n in received.items() if n == 1])
    assert list(not_once.values_list("email", "status", "attempts", "error")) == []
    assert received == {person.email: 1 for person in people}
    assert mailing.counts()["sent"] == RECIPIENTS
    message_ids = [item.message["Message-ID"] for item in handler.received]
    assert len(set(message_ids)) == RECIPIENTS
