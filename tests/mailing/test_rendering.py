"""Compiling a mailing once and filling it in per recipient."""

import email
from email import policy

import pytest
from django.core.exceptions import ValidationError

from campagne.mailing.dkim import relaxed_body, relaxed_header
from campagne.mailing.message import Skeleton, encode_header_text
from campagne.mailing.rendering import check_merge_fields, compile_mailing, markdown_to_text
from campagne.mailing.smtp import dot_stuff
from tests.mailing.conftest import make_mailing


@pytest.fixture
def compiled(sender):
    return compile_mailing(make_mailing(sender))


def test_merge_fields_are_filled_in_with_their_fallbacks(compiled):
    subject, html, text = compiled.render({"prenom": "", "nom": "Martin", "commune": "Gap"})

    assert subject == "Samedi à Gap"
    assert "Bonjour ami·e !</h1>" in html
    assert "Merci,  Martin." in html  # {{ prenom }} without a fallback: empty
    assert text.startswith("# Bonjour ami·e !\n")


def test_the_fallback_applies_to_missing_fields_too(compiled):
    subject, _html, _text = compiled.render({})

    assert subject == "Samedi à chez vous"


def test_values_are_escaped_in_html_but_not_in_text(compiled):
    _subject, html, text = compiled.render({"prenom": "<b>Léa & Co</b>"})

    assert "Bonjour &lt;b&gt;Léa &amp; Co&lt;/b&gt; !</h1>" in html
    assert "# Bonjour <b>Léa & Co</b> !" in text


def test_css_is_inlined_and_the_layout_is_tables(compiled):
    _subject, html, _text = compiled.render({"prenom": "Paul"})

    assert '<table class="container" role="presentation" border="0" width="600"' in html
    assert '<td class="content" style="padding: 24px 32px;font-family: Arial' in html
    assert "@media only screen and (max-width: 620px)" in html  # kept for phones
    assert '<div class="preheader" style="display: none;' in html
    assert "Le programme du week-end</div>" in html


def test_raw_html_in_the_body_is_not_passed_through(sender):
    compiled = compile_mailing(make_mailing(sender, body="Salut <script>alert(1)</script>"))

    _subject, html, _text = compiled.render({})

    assert "<script>" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize(
    "text", ["{{ age }}", "{{ prenom | ami }}", "{{ prenom ", "Bonjour {{prenom|'x'}}"]
)
def test_unknown_or_malformed_merge_fields_are_refused(text):
    with pytest.raises(ValidationError):
        check_merge_fields(text)


def test_the_accepted_merge_field_spellings():
    check_merge_fields('{{prenom}} {{ nom }} {{ commune|"ici" }} {{ code_postal | "" }}')


def test_the_footer_says_who_sends_why_and_where_the_address_comes_from(sender):
    skeleton = Skeleton(make_mailing(sender, reason="Vous avez signé la pétition."))

    _message_id, raw = skeleton.build(
        recipient_id=42, email="a@example.test", merge={}, origin="Fichier des adhérents"
    )

    for part in email.message_from_bytes(raw, policy=policy.default).get_payload():
        text = part.get_payload(decode=True).decode()
        assert "Ce message vous est envoyé par Équipe Campagne" in text
        assert "Vous avez signé la pétition." in text
        assert "Votre adresse provient de : Fichier des adhérents." in text
        assert "Se désinscrire de ces e-mails" in text


def test_markdown_to_text_spells_links_out():
    assert markdown_to_text("Voir **[le site](https://x.test)** _vite_") == (
        "Voir le site (https://x.test) vite"
    )


def test_long_non_ascii_subjects_become_folded_encoded_words():
    encoded = encode_header_text("Réunion " * 20)

    words = encoded.split(b"\r\n ")
    assert len(words) > 1
    assert all(len(word) <= 75 and word.startswith(b"=?utf-8?b?") for word in words)
    assert encode_header_text("Hello") == b"Hello"


def test_dot_stuffing():
    assert dot_stuff(b".a\r\n.b\r\nc") == b"..a\r\n..b\r\nc\r\n"


def test_relaxed_canonicalisation():
    assert relaxed_header(b"Subject ", b" Un  \r\n\tdeux ") == b"subject:Un deux"
    assert relaxed_body(b"a  b \r\nc\t\r\n\r\n\r\n") == b"a b\r\nc\r\n"
    assert relaxed_body(b"\r\n\r\n") == b""


@pytest.mark.parametrize(
    "first_name",
    ["Paul", "", "  Jeanne \t Marie  ", "Léa % 100 %s", "x" * 200, "a\nb ", " . ", ".", "<&>"],
)
def test_the_body_encoded_piece_by_piece_decodes_to_the_rendered_parts(sender, first_name):
    """Literal pieces are encoded once per mailing, values per message: the result is
    valid quoted-printable (lines ≤ 76), decodes to exactly what ``render`` gives, and
    the DKIM body hash matches the canonical form of the whole body."""
    import base64
    import hashlib
    import re

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from campagne.mailing.dkim import DkimSigner

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    signer = DkimSigner(private_key=pem, selector="s1", domain="campagne.test")
    skeleton = Skeleton(make_mailing(sender), dkim=signer)
    merge = {"prenom": first_name, "nom": "Martin", "commune": "Gap  "}

    _message_id, raw = skeleton.build(
        recipient_id=7, email="a@example.test", merge=merge, origin="Fichier  "
    )

    head, body = raw.split(b"\r\n\r\n", 1)
    assert all(len(line) <= 76 for line in body.split(b"\r\n"))
    text, html = (
        part.get_payload(decode=True).decode()
        for part in email.message_from_bytes(raw, policy=policy.default).get_payload()
    )
    values = {**merge, "_origin": "Fichier  ", "_unsubscribe": skeleton.unsubscribe_url(7)}
    values.update(skeleton.tracker.values(7))
    _subject, want_html, want_text = skeleton.compiled.render(values)
    assert html.replace("\r\n", "\n") == want_html.replace("\r\n", "\n")
    assert text.replace("\r\n", "\n") == want_text.replace("\r\n", "\n")
    body_hash = re.search(rb"bh=([^;]+);", head.replace(b"\r\n\t", b"")).group(1)
    assert body_hash == base64.b64encode(hashlib.sha256(relaxed_body(body)).digest())
