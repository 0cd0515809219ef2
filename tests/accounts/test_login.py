"""Logging in: password with lockout after failures, magic links, API tokens."""

import re

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from campagne.accounts import magic_links
from campagne.accounts.models import ApiToken
from tests.factories import PASSWORD


def login(client, email, password):
    return client.post(reverse("accounts:login"), {"username": email, "password": password})


def test_login_with_email_and_password(client, organizer_04):
    response = login(client, "orga04@test.campagne", PASSWORD)
    assert response.status_code == 302
    assert client.get(reverse("core:home")).status_code == 200


def test_wrong_password_is_refused(client, organizer_04):
    response = login(client, "orga04@test.campagne", "wrong")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_account_even_with_the_right_password(client, organizer_04):
    for _ in range(5):
        login(client, "orga04@test.campagne", "wrong")
    response = login(client, "orga04@test.campagne", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def _link_from_outbox() -> str:
    match = re.search(r"https?://\S+/comptes/lien/(\S+)/", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return reverse("accounts:magic_login", kwargs={"token": match.group(1)})


def test_magic_link_logs_in_once(client, volunteer):
    response = client.post(reverse("accounts:magic_link"), {"email": "BENEVOLE@test.campagne"})
    assert response.status_code == 200
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["benevole@test.campagne"]
    link = _link_from_outbox()

    # Opening the link (as a mail scanner would) does not log in nor use it up.
    assert client.get(link).status_code == 200
    assert "_auth_user_id" not in client.session
    assert client.post(link).status_code == 302
    assert client.session["_auth_user_id"] == str(volunteer.pk)

    client.logout()
    assert client.get(link).status_code == 400  # single use


def test_magic_link_for_unknown_address_answers_the_same_and_sends_nothing(client, db):
    response = client.post(reverse("accounts:magic_link"), {"email": "nobody@test.campagne"})
    assert response.status_code == 200
    assert "nobody@test.campagne" in response.content.decode()
    assert mail.outbox == []


@override_settings(MAGIC_LINK_MAX_AGE=-1)
def test_expired_magic_link_is_refused(client, volunteer):
    token = magic_links.make_token(volunteer)
    link = reverse("accounts:magic_login", kwargs={"token": token})
    assert client.post(link).status_code == 400
    assert "_auth_user_id" not in client.session


def test_magic_link_requests_are_rate_limited(client, volunteer):
    for _ in range(5):
        client.post(reverse("accounts:magic_link"), {"email": "benevole@test.campagne"})
    response = client.post(reverse("accounts:magic_link"), {"email": "benevole@test.campagne"})
    assert response.status_code == 429
    assert len(mail.outbox) == 5


def test_api_token_is_shown_once_and_stored_hashed(client, organizer_04):
    client.force_login(organizer_04)
    response = client.post(reverse("accounts:token_create"), {"name": "script"})
    raw = re.search(r'<code id="new-token">(cpg_[^<]+)</code>', response.content.decode()).group(1)
    token = ApiToken.objects.get(user=organizer_04)
    assert raw not in token.key_hash and token.hint == raw[:8]
    assert ApiToken.authenticate(raw) == organizer_04
    assert raw not in client.get(reverse("accounts:profile")).content.decode()


def test_revoked_token_no_longer_authenticates(client, organizer_04, organizer_05):
    token, raw = ApiToken.issue(user=organizer_04, name="t")
    client.force_login(organizer_05)
    client.post(reverse("accounts:token_revoke", args=[token.pk]))
    assert ApiToken.authenticate(raw) == organizer_04  # someone else's token: untouched
    client.force_login(organizer_04)
    client.post(reverse("accounts:token_revoke", args=[token.pk]))
    assert ApiToken.authenticate(raw) is None


@pytest.mark.parametrize("path", ["core:home", "accounts:profile"])
def test_pages_need_a_login(client, db, path):
    response = client.get(reverse(path))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))
