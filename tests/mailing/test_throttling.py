"""Send rates: global and per receiving domain, shared by every worker through the
database, measured at a real SMTP server."""

import time

import pytest
from django.test import override_settings

from campagne.accounts.scopes import scope_for
from campagne.mailing import actions, sending, throttle
from campagne.mailing.models import Recipient, ThrottleBucket
from tests.factories import PersonFactory
from tests.mailing.conftest import consent, make_mailing


def audience(domain: str, count: int) -> list[str]:
    return [consent(PersonFactory(email=f"p{n}@{domain}")).email for n in range(count)]


def arrivals(server, domain: str) -> list[float]:
    return sorted(item.at for item in server.handler.received if item.rcpt.endswith(domain))


# Tokens are taken before sending; arrivals lag by each message's send time, which
# varies (the first messages also wait for their connection to open; the machine is
# shared), so windows are widened by this much.
JITTER = 0.2


def assert_no_faster_than(
    times: list[float], rate: float, started: float, *, windows: bool = True
) -> None:
    """The send lasts at least as long as the rate requires after the first full bucket
    (one second's worth, sent at once); past that bucket, no window between two arrivals
    holds more than one message plus the rate over the window (``windows``: with one
    connection; several connections deliver their tokens with uneven delays)."""
    burst = max(1, int(rate * throttle.BURST_SECONDS))
    assert times[-1] - started >= (len(times) - burst) / rate
    if not windows:
        return
    steady = times[burst:]
    for i, start in enumerate(steady):
        for j in range(i + 1, len(steady)):
            count = j - i + 1
            assert count <= 1 + rate * (steady[j] - start + JITTER), (i, j, steady[j] - start)


def test_a_bucket_grants_its_burst_then_its_rate(db):
    assert throttle.take("lent.test", 10, 25) == (10, pytest.approx(0.1, abs=0.02))
    granted, wait = throttle.take("lent.test", 10, 5)
    assert granted == 0 and 0.05 < wait <= 0.1
    assert throttle.take("autre.test", 10, 3)[0] == 3  # buckets are per domain
    assert ThrottleBucket.objects.count() == 2


@override_settings(MAILING_DOMAIN_RATES={"lent.test": 5.0}, MAILING_BATCH_SIZE=50)
def test_a_throttled_domain_is_deferred_without_holding_back_the_others(
    smtp_server, hq_admin, sender
):
    slow = audience("lent.test", 12)
    fast = audience("rapide.test", 10)
    mailing = make_mailing(sender, created_by=hq_admin)
    actions.start_sending(scope=scope_for(hq_admin), mailing=mailing)

    started = time.monotonic()
    totals = sending.send_mailing(mailing.pk)

    assert totals["sent"] == 22
    assert smtp_server.handler.by_address() == {email: 1 for email in slow + fast}
    slow_times = arrivals(smtp_server, "lent.test")
    assert_no_faster_than(slow_times, 5.0, started)
    # The other domain went out at once, before the throttled one was through.
    assert max(arrivals(smtp_server, "rapide.test")) < slow_times[-1] - 1.0
    # Deferring is not an attempt.
    assert set(mailing.recipients.values_list("attempts", flat=True)) == {1}


@pytest.mark.usefixtures("transactional_db")
@override_settings(MAILING_RATE_PER_SECOND=10, MAILING_SMTP_CONNECTIONS=3, MAILING_BATCH_SIZE=4)
def test_the_global_rate_holds_across_parallel_connections(smtp_server, hq_admin, sender):
    people = audience("a.test", 12) + audience("b.test", 13)
    mailing = make_mailing(sender, created_by=hq_admin)
    actions.start_sending(scope=scope_for(hq_admin), mailing=mailing)

    started = time.monotonic()
    sending.send_mailing(mailing.pk)

    assert smtp_server.handler.by_address() == {email: 1 for email in people}
    times = arrivals(smtp_server, ".test")
    assert_no_faster_than(times, 10.0, started, windows=False)
    assert mailing.counts()["sent"] == 25
    assert not Recipient.objects.exclude(status=Recipient.Status.SENT).exists()


def test_no_rate_no_bucket(smtp_server, hq_admin, sender):
    audience("a.test", 3)
    mailing = make_mailing(sender, created_by=hq_admin)
    actions.start_sending(scope=scope_for(hq_admin), mailing=mailing)

    assert sending.send_mailing(mailing.pk)["sent"] == 3
    assert ThrottleBucket.objects.count() == 0
