"""Transactional messages: the mailing layout, merge fields, their own transport."""

import re

from django.core import mail
from django.test import override_settings

from campagne.accounts import actions as account_actions
from campagne.mailing import transactional
from tests.mailing.smtp_server import SmtpServer

VALUES = {"prenom": "Zoé", "lien": "https://campagne.test/comptes/lien/abc:def/?a=1&b=2"}


def test_rendered_in_the_mailing_layout_with_escaped_values():
    rendered = transactional.render(transactional.MAGIC_LINK, {**VALUES, "minutes": 15})

    assert rendered.subject == "Votre lien de connexion à Campagne"
    assert 'role="presentation"' in rendered.html  # the mailing layout
    assert "Bonjour Zoé," in rendered.html
    assert 'href="https://campagne.test/comptes/lien/abc:def/?a=1&amp;b=2"' in rendered.html
    assert "valable 15 minutes" in rendered.html
    # CSS inlined, footer says who and why, no unsubscribe link (the person asked for it).
    assert re.search(r'<td class="content" style="[^"]*font-family', rendered.html)
    assert "Ce message vous est envoyé par Campagne (ne-pas-repondre@campagne.test)." in (
        rendered.html
    )
    assert "un lien de connexion a été demandé" in rendered.html
    assert "désinscrire" not in rendered.html and "provient" not in rendered.html
    assert (
        "Me connecter à Campagne (https://campagne.test/comptes/lien/abc:def/?a=1&b=2)"
        in rendered.text
    )


def test_values_are_not_markup_and_fallbacks_apply():
    rendered = transactional.render(
        transactional.WELCOME, {"prenom": "", "lien": "https://x.test/", "minutes": 15}
    )
    assert "Bonjour ," in rendered.text  # the fallback is empty

    rendered = transactional.render(
        transactional.WELCOME,
        {"prenom": "<b>**Zoé**</b>", "lien": "https://x.test/", "minutes": 15},
    )
    assert "Bonjour &lt;b&gt;**Zoé**&lt;/b&gt;," in rendered.html
    assert "Bonjour <b>**Zoé**</b>," in rendered.text


def test_the_magic_link_is_sent_through_the_helper(client, volunteer):
    client.post("/comptes/lien/", {"email": volunteer.email})

    (message,) = mail.outbox
    assert message.subject == "Votre lien de connexion à Campagne"
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert 'role="presentation"' in html
    link = re.search(r"\((http://127.0.0.1:8000/comptes/lien/\S+/)\)", message.body).group(1)
    assert f'href="{link}"' in html


def test_transactional_url_has_its_own_transport(volunteer):
    with SmtpServer() as server:
        with override_settings(TRANSACTIONAL_EMAIL_URL=f"smtp://127.0.0.1:{server.port}"):
            account_actions.send_welcome(user=volunteer)

        # Not through Django's default backend (locmem in tests): through the SMTP server.
        assert mail.outbox == []
        (received,) = server.handler.received
        assert received.rcpt == volunteer.email
        message = received.message
        assert message["Subject"] == "Bienvenue dans l'équipe de campagne"
        assert message["From"] == "Campagne <ne-pas-repondre@campagne.test>"
        text = message.get_body(("plain",)).get_content()
        assert "Un compte vient de vous être ouvert" in text
        assert "/comptes/lien/" in message.get_body(("html",)).get_content()
