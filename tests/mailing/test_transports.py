"""EMAIL_URL for the e-mail services, and sending mailings through django-anymail.

The transport is anymail's own test backend (it runs anymail's whole send path and
records what the service would have received); ``ScriptedService`` below extends it the
way ``smtp_server.rcpt_replies`` scripts the SMTP server: per address, what the
service answers.
"""

import pytest
import requests
from anymail.backends.test import EmailBackend as AnymailTestBackend
from anymail.exceptions import AnymailRequestsAPIError
from anymail.message import AnymailRecipientStatus
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from campagne.accounts.scopes import scope_for
from campagne.lib.env import parse_email_url
from campagne.mailing import actions, sending
from campagne.mailing.models import Recipient
from campagne.people.models import Suppression
from tests.factories import PersonFactory
from tests.mailing.conftest import consent, make_mailing

# --- EMAIL_URL ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, backend, anymail",
    [
        ("brevo://xkeysib-AbC123", "brevo", {"BREVO_API_KEY": "xkeysib-AbC123"}),
        (
            "mailjet://PubKey:SecretKey",
            "mailjet",
            {"MAILJET_API_KEY": "PubKey", "MAILJET_SECRET_KEY": "SecretKey"},
        ),
        ("postmark://Server-Token-1", "postmark", {"POSTMARK_SERVER_TOKEN": "Server-Token-1"}),
        ("sendgrid://SG.Ab.Cd", "sendgrid", {"SENDGRID_API_KEY": "SG.Ab.Cd"}),
        (
            "mailgun://key-Ab12@mg.Campagne.fr?region=eu",
            "mailgun",
            {
                "MAILGUN_API_KEY": "key-Ab12",
                "MAILGUN_SENDER_DOMAIN": "mg.campagne.fr",
                "MAILGUN_API_URL": "https://api.eu.mailgun.net/v3",
            },
        ),
        ("ses://", "amazon_ses", {}),
        (
            "ses://AKIA1:se%2Fcret@eu-west-3",
            "amazon_ses",
            {
                "AMAZON_SES_CLIENT_PARAMS": {
                    "region_name": "eu-west-3",
                    "aws_access_key_id": "AKIA1",
                    "aws_secret_access_key": "se/cret",
                }
            },
        ),
        ("anymail-test://", "test", {}),
    ],
)
def test_email_url_of_an_email_service(url, backend, anymail):
    assert parse_email_url(url) == {
        "EMAIL_BACKEND": f"anymail.backends.{backend}.EmailBackend",
        "ANYMAIL": anymail,
    }


@pytest.mark.parametrize(
    "url", ["brevo://", "mailjet://OnlyKey", "mailgun://mg.campagne.fr", "postmark://"]
)
def test_email_url_missing_a_key_stops_the_start(url):
    with pytest.raises(ImproperlyConfigured, match="needs"):
        parse_email_url(url)


def test_email_url_unknown_scheme_lists_the_services():
    with pytest.raises(ImproperlyConfigured, match="brevo, console"):
        parse_email_url("sparkpost://key")


# --- Sending through a service ---------------------------------------------------------


class ScriptedService(AnymailTestBackend):
    """anymail's test backend, answering per address from ``replies`` (in turn), and
    noting each recipient row's state at the moment the API is called."""

    replies: dict[str, list] = {}
    seen_states: list[tuple[str, str]] = []
    instances = 0

    def __init__(self, *args, **kwargs):
        type(self).instances += 1
        super().__init__(*args, **kwargs)

    def post_to_esp(self, payload, message):
        address = payload.recipient_emails[0]
        state = Recipient.objects.get(email=address, mailing__status="sending").status
        type(self).seen_states.append((address, state))
        pending = self.replies.get(address)
        if pending:
            reply = pending.pop(0)
            if isinstance(reply, Exception):
                raise reply
            message.anymail_test_response = {"recipient_status": {address: reply}}
        return super().post_to_esp(payload, message)


def http_error(status: int, reason: str) -> AnymailRequestsAPIError:
    """What anymail raises when the service answers an HTTP error."""
    response = requests.Response()
    response.status_code, response.reason, response._content = status, reason, b"{}"
    return AnymailRequestsAPIError("API error", response=response)


def network_error(error: Exception) -> AnymailRequestsAPIError:
    """What anymail raises when requests fails: both its error and requests' type."""
    cls = type("AnymailRequestsAPIError", (AnymailRequestsAPIError, type(error)), {})
    exc = cls("Error posting to https://api.example/")
    exc.__cause__ = error
    return exc


@pytest.fixture
def service(db):
    ScriptedService.replies = {}
    ScriptedService.seen_states = []
    ScriptedService.instances = 0
    with override_settings(
        EMAIL_BACKEND=f"{__name__}.ScriptedService",
        MAILING_SMTP_CONNECTIONS=1,
        MAILING_SEND_TASKS=1,
        MAILING_RETRY_SECONDS=0,
    ):
        yield ScriptedService


def start(user, mailing):
    return actions.start_sending(scope=scope_for(user), mailing=mailing)


def test_messages_go_through_the_service_with_the_bulk_headers(
    esp_transport, hq_admin, sender, person_digne, person_manosque
):
    consent(person_digne)
    consent(person_manosque)
    sender.reply_to = "reponses@campagne.test"
    sender.save()
    mailing = make_mailing(sender, created_by=hq_admin)
    start(hq_admin, mailing)

    totals = sending.send_mailing(mailing.pk)

    assert totals["sent"] == 2
    outbox = esp_transport.outbox
    assert sorted(message.to[0] for message in outbox) == sorted(
        [person_digne.email, person_manosque.email]
    )
    message = next(m for m in outbox if m.to == [person_manosque.email])
    row = mailing.recipients.get(email=person_manosque.email)
    params = message.anymail_test_params
    assert params["subject"] == "Samedi à Manosque"
    assert str(params["from"]) == "Équipe Campagne <equipe@campagne.test>"
    assert [str(a) for a in params["reply_to"]] == ["reponses@campagne.test"]
    headers = params["extra_headers"]
    assert headers["Message-ID"] == row.message_id
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/m/u/")
    assert "DKIM-Signature" not in headers  # the service signs
    assert "# Bonjour Paul !" in params["text_body"]
    assert "Bonjour Paul !</h1>" in params["html_body"]
    assert params["metadata"] == {"campagne_recipient": str(row.pk)}
    assert (row.status, row.esp_message_id) == (Recipient.Status.SENT, str(outbox.index(message)))
    mailing.refresh_from_db()
    assert mailing.status == "sent"


def test_sending_is_committed_before_each_api_call_over_one_reused_backend(
    service, hq_admin, sender
):
    people = [consent(PersonFactory(email=f"p{n}@example.test")) for n in range(7)]
    mailing = make_mailing(sender, created_by=hq_admin)
    start(hq_admin, mailing)

    with override_settings(MAILING_BATCH_SIZE=3):
        totals = sending.send_mailing(mailing.pk)

    assert totals["sent"] == 7
    assert service.seen_states == [(p.email, "sending") for p in people]
    assert service.instances == 1  # one backend (HTTP session) for the three batches
    assert mailing.counts()["sent"] == 7


def test_service_answers_map_to_the_same_states_as_smtp_replies(service, hq_admin, sender):
    emails = {
        "refused": "refuse@example.test",
        "busy": "occupe@example.test",
        "bad": "mauvais@example.test",
        "timeout": "muet@example.test",
        "unreachable": "injoignable@example.test",
    }
    for address in emails.values():
        consent(PersonFactory(email=address))
    service.replies = {
        emails["refused"]: [AnymailRecipientStatus(message_id=None, status="rejected")],
        emails["busy"]: [http_error(429, "Too Many Requests")],
        emails["bad"]: [http_error(422, "Unprocessable Entity")],
        emails["timeout"]: [network_error(requests.ReadTimeout("read timed out"))],
        emails["unreachable"]: [network_error(requests.ConnectTimeout("connect timed out"))],
    }
    mailing = make_mailing(sender, created_by=hq_admin)
    start(hq_admin, mailing)

    sending.send_mailing(mailing.pk)

    rows = {r.email: r for r in mailing.recipients.all()}
    refused = rows[emails["refused"]]
    assert (refused.status, refused.bounce) == (Recipient.Status.BOUNCED, Recipient.Bounce.HARD)
    assert Suppression.objects.contains_email(emails["refused"])
    # 429 and a connection never made: tried again (the backoff is 0 here), then sent.
    for key in ("busy", "unreachable"):
        row = rows[emails[key]]
        assert (row.status, row.attempts, row.bounce) == (Recipient.Status.SENT, 2, "")
    bad = rows[emails["bad"]]
    assert (bad.status, bad.error[:3]) == (Recipient.Status.FAILED, "554")
    # Sent but unanswered: maybe accepted, so never sent again.
    lost = rows[emails["timeout"]]
    assert (lost.status, lost.error, lost.attempts) == (
        Recipient.Status.FAILED,
        sending.INTERRUPTED,
        1,
    )
    calls = [address for address, _state in service.seen_states]
    assert sorted(calls) == sorted([*emails.values(), emails["busy"], emails["unreachable"]])
