"""Bounces, complaints and unsubscribes reported by an e-mail service's webhook.

Postmark's tracking webhook (payloads as Postmark documents them, parsed by
django-anymail), posted with the basic auth of ANYMAIL_WEBHOOK_SECRET.
"""

import base64
import json

import pytest
from django.test import Client, override_settings

from campagne.accounts.scopes import scope_for
from campagne.mailing import actions, sending
from campagne.mailing.models import Recipient
from campagne.people.models import Consent, EventKind, Suppression, TimelineEvent
from tests.mailing.conftest import consent, make_mailing

URL = "/webhooks/anymail/postmark/tracking/"
SECRET = "postmark:s3cret-webhook"


def auth(secret: str = SECRET) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def post(payload: dict, **headers: str):
    return Client().post(URL, data=json.dumps(payload), content_type="application/json", **headers)


def hard_bounce(recipient: Recipient) -> dict:
    return {
        "RecordType": "Bounce",
        "MessageStream": "outbound",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Tag": "",
        "MessageID": recipient.esp_message_id,
        "Metadata": {},
        "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": recipient.email,
        "From": "equipe@campagne.test",
        "BouncedAt": "2026-11-20T16:33:54.9070259Z",
        "DumpAvailable": False,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Samedi à Digne-les-Bains",
    }


def spam_complaint(recipient: Recipient) -> dict:
    return {
        **hard_bounce(recipient),
        "RecordType": "SpamComplaint",
        "ID": 42,
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "Name": "Spam complaint",
        "Description": "The subscriber explicitly marked this message as spam.",
        "Details": "Test spam complaint details",
    }


def unsubscribed(recipient: Recipient) -> dict:
    # Postmark says nothing of the message but its id and our metadata.
    return {
        "RecordType": "SubscriptionChange",
        "MessageID": "b1c3a2e0-0000-4000-8000-000000000000",
        "ServerID": 23,
        "MessageStream": "outbound",
        "ChangedAt": "2026-11-20T10:53:34.416071Z",
        "Recipient": recipient.email,
        "Origin": "Recipient",
        "SuppressSending": True,
        "SuppressionReason": "ManualSuppression",
        "Tag": "",
        "Metadata": {"campagne_recipient": str(recipient.pk)},
    }


@pytest.fixture
def sent(esp_transport, hq_admin, sender, person_digne, person_manosque):
    """A mailing sent through the e-mail service transport: two delivered rows."""
    consent(person_digne)
    consent(person_manosque)
    mailing = make_mailing(sender, created_by=hq_admin)
    actions.start_sending(scope=scope_for(hq_admin), mailing=mailing)
    sending.send_mailing(mailing.pk)
    assert len(esp_transport.outbox) == 2
    return mailing


def digne_row(mailing, person) -> Recipient:
    return mailing.recipients.get(email=person.email)


@override_settings(ANYMAIL={"WEBHOOK_SECRET": SECRET})
def test_a_hard_bounce_suppresses_the_address(sent, hq_admin, sender, person_digne):
    row = digne_row(sent, person_digne)
    assert row.esp_message_id != ""

    response = post(hard_bounce(row), **auth())

    assert response.status_code == 200
    row.refresh_from_db()
    assert (row.status, row.bounce) == (Recipient.Status.BOUNCED, Recipient.Bounce.HARD)
    assert row.error.startswith("Postmark : The server was unable to deliver")
    assert Suppression.objects.get().reason == Suppression.Reason.BOUNCE
    assert Suppression.objects.contains_email(person_digne.email)
    assert sent.delivery_counts() == {"hard_bounces": 1, "soft_bounces": 0, "complaints": 0}
    # Redelivered by the service: nothing more happens.
    assert post(hard_bounce(row), **auth()).status_code == 200
    assert Suppression.objects.count() == 1
    later = make_mailing(sender, created_by=hq_admin)
    result = actions.start_sending(scope=scope_for(hq_admin), mailing=later)
    assert result == {"recipients": 1, "suppressed": 1}


@override_settings(ANYMAIL={"WEBHOOK_SECRET": SECRET})
def test_a_complaint_suppresses_and_withdraws_consent_with_proof(sent, person_digne):
    row = digne_row(sent, person_digne)

    response = post(spam_complaint(row), **auth())

    assert response.status_code == 200
    row.refresh_from_db()
    assert row.status == Recipient.Status.SENT  # it was delivered: a complaint is not a bounce
    assert row.complained_at.isoformat() == "2026-11-20T16:33:54.907025+00:00"
    assert Suppression.objects.get().reason == Suppression.Reason.COMPLAINT
    email = Consent.objects.get(person=person_digne, channel="email")
    assert (email.granted, email.source) == (False, actions.COMPLAINT_SOURCE)
    proof = json.loads(email.proof)
    assert (proof["service"], proof["event"], proof["event_id"]) == ("Postmark", "complained", "42")
    assert (proof["mailing"], proof["recipient"]) == (sent.pk, row.pk)
    event = TimelineEvent.objects.get(person=person_digne, kind=EventKind.CONSENT)
    assert (event.data["granted"], event.data["previous"]["granted"]) == (False, True)
    assert sent.delivery_counts() == {"hard_bounces": 0, "soft_bounces": 0, "complaints": 1}


@override_settings(ANYMAIL={"WEBHOOK_SECRET": SECRET})
def test_an_unsubscribe_at_the_service_withdraws_consent_found_by_metadata(
    sent, person_digne, person_manosque
):
    row = digne_row(sent, person_digne)

    response = post(unsubscribed(row), **auth())

    assert response.status_code == 200
    email = Consent.objects.get(person=person_digne, channel="email")
    assert (email.granted, email.source) == (False, actions.ESP_UNSUBSCRIBE_SOURCE)
    assert json.loads(email.proof)["recipient"] == row.pk
    # Consent can be given again later: an unsubscribe is not a suppression.
    assert Suppression.objects.count() == 0
    assert Consent.objects.get(person=person_manosque, channel="email").granted is True


def test_a_bounce_found_by_our_message_id_from_an_smtp_relay(
    smtp_server, hq_admin, sender, person_digne
):
    consent(person_digne)
    mailing = make_mailing(sender, created_by=hq_admin)
    actions.start_sending(scope=scope_for(hq_admin), mailing=mailing)
    sending.send_mailing(mailing.pk)
    row = mailing.recipients.get()

    found = actions.record_delivery_event(
        event_type="bounced",
        esp_name="Mailgun",
        email=person_digne.email.upper(),
        message_id=row.message_id.strip("<>"),  # relays quote it without the brackets
    )

    assert found == row
    assert (found.status, found.bounce) == (Recipient.Status.BOUNCED, Recipient.Bounce.HARD)
    # A Message-ID that is not exactly the one we sent matches nothing.
    forged = f"<{row.pk}.999.deadbeef@campagne.test>"
    assert actions.recipient_for_event(message_id=forged) is None


@pytest.mark.parametrize(
    "headers",
    [{}, auth("postmark:wrong"), auth("someone:" + SECRET.partition(":")[2])],
    ids=["no auth", "wrong password", "wrong user"],
)
@override_settings(ANYMAIL={"WEBHOOK_SECRET": SECRET})
def test_a_webhook_without_the_right_auth_is_refused_and_changes_nothing(
    sent, person_digne, headers
):
    row = digne_row(sent, person_digne)

    for payload in (hard_bounce(row), spam_complaint(row), unsubscribed(row)):
        assert post(payload, **headers).status_code == 400

    row.refresh_from_db()
    assert (row.status, row.bounce, row.complained_at) == (Recipient.Status.SENT, "", None)
    assert Suppression.objects.count() == 0
    assert Consent.objects.get(person=person_digne, channel="email").granted is True
    assert not TimelineEvent.objects.filter(kind=EventKind.CONSENT).exists()


@override_settings(ANYMAIL={})
def test_without_a_configured_secret_every_webhook_is_refused(sent, person_digne):
    row = digne_row(sent, person_digne)

    assert post(hard_bounce(row), **auth()).status_code == 403

    assert mailing_unchanged(row)
    assert Suppression.objects.count() == 0


def mailing_unchanged(row: Recipient) -> bool:
    before = (row.status, row.bounce)
    row.refresh_from_db()
    return (row.status, row.bounce) == before == (Recipient.Status.SENT, "")
