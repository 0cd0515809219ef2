"""Transactional messages (login link, welcome, receipts later): one helper, the mailing
layout, their own transport.

A message is a subject and a Markdown body with merge fields, in the mailings' syntax
(``{{ lien }}``, ``{{ prenom | "bonjour" }}``), the fields being whatever the caller
passes. It goes through the same table-based layout and CSS inlining as a mailing, with a
footer saying who sends it and why, but no unsubscribe link: the person asked for it.

Transport: ``TRANSACTIONAL_EMAIL_URL`` (same syntax as ``EMAIL_URL``), so that login
links do not queue behind a 700,000-message mailing on a bulk provider; empty means
Django's own e-mail settings (``EMAIL_URL``).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

import css_inline
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.template.loader import render_to_string
from django.utils.functional import Promise
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from markdown_it import MarkdownIt

from campagne.lib.env import parse_email_url
from campagne.mailing.rendering import markdown_to_text

_MERGE_RE = re.compile(r"\{\{\s*([a-z_]+)\s*(?:\|\s*\"([^\"{}]*)\"\s*)?\}\}")
_TOKEN_RE = re.compile(r"ZQTX(\d+)XQZ")
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})
# EMAIL_URL's Django settings → the keyword arguments of the e-mail backends.
_BACKEND_ARGUMENTS = {
    "EMAIL_HOST": "host",
    "EMAIL_PORT": "port",
    "EMAIL_HOST_USER": "username",
    "EMAIL_HOST_PASSWORD": "password",
    "EMAIL_USE_TLS": "use_tls",
    "EMAIL_USE_SSL": "use_ssl",
    "EMAIL_TIMEOUT": "timeout",
    "EMAIL_FILE_PATH": "file_path",
}


@dataclass(frozen=True)
class Template:
    """What a kind of transactional message says (translated when it is rendered)."""

    subject: str | Promise
    body: str | Promise  # Markdown with merge fields
    reason: str | Promise  # why the person receives it, in the footer


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


MAGIC_LINK = Template(
    subject=_("Votre lien de connexion à Campagne"),
    body=_(
        'Bonjour {{ prenom | "" }},\n\n'
        "Pour vous connecter, ouvrez ce lien (valable {{ minutes }} minutes, une seule "
        "fois) :\n\n[Me connecter à Campagne]({{ lien }})\n\n"
        "Si vous n'avez rien demandé, ignorez ce message."
    ),
    reason=_("Vous recevez ce message parce qu'un lien de connexion a été demandé."),
)

WELCOME = Template(
    subject=_("Bienvenue dans l'équipe de campagne"),
    body=_(
        'Bonjour {{ prenom | "" }},\n\n'
        "Un compte vient de vous être ouvert sur Campagne, l'outil de l'équipe.\n\n"
        "Pour vous connecter la première fois, ouvrez ce lien (valable {{ minutes }} "
        "minutes, une seule fois) :\n\n[Me connecter à Campagne]({{ lien }})\n\n"
        "Ensuite, demandez un nouveau lien depuis la page de connexion quand vous en "
        "avez besoin."
    ),
    reason=_("Vous recevez ce message parce qu'un compte Campagne vient d'être créé pour vous."),
)


def _tokens(text: str, values: dict[str, str], filled: list[str]) -> str:
    """Merge fields → tokens that survive Markdown and CSS inlining; ``filled`` gets the
    values, in token order. An unknown field is a programming error (KeyError)."""

    def substitute(match: re.Match[str]) -> str:
        name, fallback = match.group(1), match.group(2)
        if fallback is None and name not in values:
            raise KeyError(f"transactional template field {name!r} has no value")
        filled.append(str(values.get(name) or fallback or ""))
        return f"ZQTX{len(filled) - 1}XQZ"

    return _MERGE_RE.sub(substitute, text)


def _fill(text: str, filled: list[str], *, escape: bool) -> str:
    def value(match: re.Match[str]) -> str:
        found = filled[int(match.group(1))]
        return html.escape(found) if escape else found

    return _TOKEN_RE.sub(value, text)


def render(template: Template, values: dict[str, Any]) -> Rendered:
    """Subject, HTML (the mailing layout, CSS inlined) and text part of one message."""
    filled: list[str] = []
    subject = _tokens(str(template.subject), values, filled)
    body = _tokens(str(template.body), values, filled)
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    context = {
        "mailing": {"subject": subject, "preheader": "", "reason": str(template.reason)},
        "sender": {"name": name or address, "address": address},
        "content": mark_safe(_markdown.render(body)),  # noqa: S308 - raw HTML is disabled
        "origin": "",
        "unsubscribe_url": "",
    }
    page = render_to_string("mailing/email/layout.html", context)
    page = css_inline.CSSInliner(keep_style_tags=True).inline(page)
    text = render_to_string(
        "mailing/email/layout.txt", {**context, "content": markdown_to_text(body)}
    )
    return Rendered(
        subject=_fill(subject, filled, escape=False),
        html=_fill(page, filled, escape=True),
        text=_fill(text, filled, escape=False),
    )


def connection() -> BaseEmailBackend:
    """The transactional transport: TRANSACTIONAL_EMAIL_URL, else Django's default."""
    url = settings.TRANSACTIONAL_EMAIL_URL
    if not url:
        return get_connection()
    config = parse_email_url(url)
    backend = str(config.pop("EMAIL_BACKEND"))
    return get_connection(
        backend, **{_BACKEND_ARGUMENTS[key]: value for key, value in config.items()}
    )


def send(*, template: Template, to: str, values: dict[str, Any]) -> None:
    """Render and send one message now (a login link cannot wait for a queue)."""
    message = render(template, values)
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        from_email=None,
        to=[to],
        connection=connection(),
    )
    email.attach_alternative(message.html, "text/html")
    email.send()
