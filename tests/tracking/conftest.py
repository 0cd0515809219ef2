"""Fixtures of the tracking tests: a sent mailing, its messages, a private spool."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from campagne.mailing.message import Skeleton
from campagne.mailing.models import Mailing, Recipient
from campagne.tracking import recorder, views
from tests.mailing.conftest import make_mailing, sender, smtp_server  # noqa: F401

BODY = """# Bonjour {{ prenom | "ami·e" }} !

[Le programme](https://campagne.test/programme?a=1&b=2) et [le meeting](https://campagne.test/meeting).

Encore [le programme](https://campagne.test/programme?a=1&b=2).
"""
CLICK_RE = re.compile(r'href="(http://testserver/m/c/[A-Za-z0-9_-]{28}/)"')
PIXEL_RE = re.compile(r'src="(http://testserver/m/o/[A-Za-z0-9_-]{28}\.gif)"')


@pytest.fixture(autouse=True)
def _private_spool(settings, tmp_path):
    """Each test spools to its own directory and flushes by hand (no background thread);
    links cached by an earlier test are forgotten."""
    settings.TRACKING_SPOOL_DIR = tmp_path / "spool"
    settings.TRACKING_FLUSH_MILLISECONDS = 0
    settings.CAMPAGNE_BASE_URL = "http://testserver"
    recorder._spool = None
    views._links.clear()
    yield
    recorder._spool = None
    views._links.clear()


def send_to(mailing: Mailing, people, *, sent_ago: timedelta = timedelta(hours=1)) -> list:
    """Recipient rows as a finished send leaves them (sent some time ago)."""
    Mailing.objects.filter(pk=mailing.pk).update(status=Mailing.Status.SENDING)
    mailing.refresh_from_db()
    at = timezone.now() - sent_ago
    return [
        Recipient.objects.create(
            mailing=mailing,
            person=person,
            email=person.email,
            merge={"prenom": person.first_name},
            status=Recipient.Status.SENT,
            sent_at=at,
        )
        for person in people
    ]


def message_html(mailing: Mailing, recipient: Recipient) -> str:
    skeleton = Skeleton(mailing)
    return skeleton.compiled.render(
        {
            **recipient.merge,
            "_origin": "x",
            "_unsubscribe": "u",
            **skeleton.tracker.values(recipient.pk),
        }
    )[1]


def tracked_urls(mailing: Mailing, recipient: Recipient) -> tuple[list[str], str]:
    """(click URLs in order, pixel URL) of the recipient's message."""
    html = message_html(mailing, recipient)
    return CLICK_RE.findall(html), PIXEL_RE.search(html).group(1)


def path(url: str) -> str:
    return url.removeprefix("http://testserver")


@pytest.fixture
def mailing(sender, hq_admin) -> Mailing:  # noqa: F811
    return make_mailing(sender, created_by=hq_admin, body=BODY)
