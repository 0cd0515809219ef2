"""Unsubscribing: RFC 8058 one-click POST and the page, both without login."""

import json

import pytest
from django.test import Client

from campagne.accounts.scopes import scope_for
from campagne.mailing import actions
from campagne.mailing.message import unsubscribe_token
from campagne.people.models import Consent, EventKind, TimelineEvent
from tests.mailing.conftest import consent, make_mailing


@pytest.fixture
def recipient(smtp_server, hq_admin, sender, person_digne):
    consent(person_digne)
    mailing = make_mailing(sender, created_by=hq_admin)
    actions.start_sending(scope=scope_for(hq_admin), mailing=mailing)
    return mailing.recipients.get()


def url(recipient_id: int) -> str:
    return f"/m/u/{unsubscribe_token(recipient_id)}/"


def test_one_click_post_withdraws_consent_without_login_or_csrf(recipient, person_digne):
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        url(recipient.pk),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert "vous ne recevrez plus nos e-mails" in response.content.decode()
    email = Consent.objects.get(person=person_digne, channel="email")
    assert (email.granted, email.source) == (False, "désinscription e-mail")
    proof = json.loads(email.proof)
    assert (proof["mailing"], proof["recipient"]) == (recipient.mailing_id, recipient.pk)
    event = TimelineEvent.objects.filter(person=person_digne, kind=EventKind.CONSENT).get()
    assert event.data["granted"] is False
    assert event.data["previous"]["granted"] is True
    assert (event.actor_id, event.actor_label) == (None, "system@campagne")


def test_the_page_shows_a_button_and_changes_nothing_until_it_is_pressed(recipient, person_digne):
    response = Client().get(url(recipient.pk))

    assert response.status_code == 200
    assert '<form method="post">' in response.content.decode()
    assert Consent.objects.get(person=person_digne, channel="email").granted is True


def test_unsubscribing_twice_records_it_once(recipient, person_digne):
    Client().post(url(recipient.pk))
    Client().post(url(recipient.pk))

    assert TimelineEvent.objects.filter(person=person_digne, kind=EventKind.CONSENT).count() == 1


def test_a_tampered_token_is_refused_and_changes_nothing(recipient, person_digne):
    token = unsubscribe_token(recipient.pk)
    forged = f"{recipient.pk + 1}:{token.split(':', 1)[1]}"

    response = Client().post(f"/m/u/{forged}/")

    assert response.status_code == 404
    assert Consent.objects.get(person=person_digne, channel="email").granted is True
    assert not TimelineEvent.objects.filter(kind=EventKind.CONSENT).exists()


def test_an_unsubscribed_person_is_left_out_of_later_mailings(
    recipient, hq_admin, sender, person_digne, person_manosque
):
    consent(person_manosque)
    Client().post(url(recipient.pk))

    later = make_mailing(sender, created_by=hq_admin)
    actions.start_sending(scope=scope_for(hq_admin), mailing=later)

    assert list(later.recipients.values_list("email", flat=True)) == [person_manosque.email]
