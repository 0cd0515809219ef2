"""Fixtures of the mailing tests: a real SMTP server, senders, mailings."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from campagne.mailing.models import Mailing, Sender
from campagne.people.models import Channel, Consent, Person
from campagne.segments.models import Segment
from tests.mailing.smtp_server import SmtpServer

BODY = """# Bonjour {{ prenom | "ami·e" }} !

Rendez-vous à **{{ commune }}** samedi. [Le programme](https://campagne.test/programme)

Merci, {{ prenom }} {{ nom }}.
"""


@pytest.fixture
def smtp_server(request) -> Iterator[SmtpServer]:
    # Parametrize indirectly with False for a server without PIPELINING.
    with SmtpServer(pipelining=getattr(request, "param", True)) as server:
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=server.port,
            EMAIL_USE_TLS=False,
            EMAIL_USE_SSL=False,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
            EMAIL_TIMEOUT=10,
            MAILING_SMTP_CONNECTIONS=1,
            MAILING_SEND_TASKS=1,
        ):
            yield server


@pytest.fixture
def esp_transport(mailoutbox) -> Iterator[Any]:
    """django-anymail's own test transport (records what an e-mail service would get, in
    django.core.mail.outbox), as EMAIL_URL=anymail-test:// configures it."""
    from django.core import mail

    with override_settings(
        EMAIL_BACKEND="anymail.backends.test.EmailBackend",
        MAILING_SMTP_CONNECTIONS=1,
        MAILING_SEND_TASKS=1,
    ):
        yield mail


@pytest.fixture
def sender(db) -> Sender:
    return Sender.objects.create(
        name="Équipe Campagne", address="equipe@campagne.test", validated=True
    )


def everyone(owner=None) -> Segment:
    return Segment.objects.create(name="Tout le monde", definition={}, owner=owner)


def make_mailing(sender: Sender, *, created_by=None, segments=None, **fields) -> Mailing:
    mailing = Mailing.objects.create(
        sender=sender,
        subject=fields.pop("subject", 'Samedi à {{ commune | "chez vous" }}'),
        preheader="Le programme du week-end",
        body=fields.pop("body", BODY),
        created_by=created_by,
        **fields,
    )
    mailing.segments.set(segments if segments is not None else [everyone(created_by)])
    return mailing


def consent(person: Person, granted: bool = True) -> Person:
    Consent.objects.update_or_create(
        person=person, channel=Channel.EMAIL, defaults={"granted": granted, "source": "tests"}
    )
    return person


# Starting `campagne …` processes on the test database (tests/core's fixture).
from tests.core.conftest import start_campagne  # noqa: E402, F401
