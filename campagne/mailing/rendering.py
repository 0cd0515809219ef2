"""A mailing's body, compiled once and filled in per recipient by plain string joins.

The Markdown body goes through markdown-it, then into the table-based layout
(``mailing/email/layout.html``, rendered by Django once per mailing), then css-inline
(once per mailing). Merge fields become numbered tokens before any of that, so the
result splits into literal parts and fields: filling a message in is a ``"".join``, never
a template render per recipient.

Merge fields, in the subject and the body::

    {{ prenom }}                 the value, or nothing
    {{ prenom | "ami·e" }}       the value, or "ami·e" when it is empty

Fields: prenom, nom, civilite, commune, code_postal.

Links: every http(s) link of the body (in the HTML and in the text part) becomes a slot
``_link<N>`` whose fallback is the link itself, so a message filled in without tracking
values (a preview, a test send) keeps the original links; the sender fills them with
signed redirect links (``campagne.tracking``). Likewise the optional open pixel
(``_open``), whose fallback is a transparent image that fetches nothing.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import css_inline
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from markdown_it import MarkdownIt

if TYPE_CHECKING:
    from campagne.mailing.models import Mailing

FIELDS = ("prenom", "nom", "civilite", "commune", "code_postal")
# Filled in by the sender for every message, not by the author.
ORIGIN, UNSUBSCRIBE = "_origin", "_unsubscribe"
# Tracked links (numbered from 1) and the open pixel, filled in by campagne.tracking.
LINK_FIELD, OPEN_PIXEL = "_link{}", "_open"
BLANK_GIF = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"

_MERGE_RE = re.compile(r"\{\{\s*([a-z_]+)\s*(?:\|\s*\"([^\"{}]*)\"\s*)?\}\}")
_TOKEN_RE = re.compile(r"ZQMERGE(\d+)QZ")
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

# A part is either literal text or the index of a (field, fallback) slot.
Part = str | int


@dataclass(frozen=True)
class Slot:
    field: str
    fallback: str


@dataclass(frozen=True)
class Compiled:
    """One mailing, ready to be filled in for each recipient."""

    subject: tuple[Part, ...]
    html: tuple[Part, ...]
    text: tuple[Part, ...]
    slots: tuple[Slot, ...]
    # The body's distinct http(s) links; links[n - 1] is the target of slot _link<n>.
    links: tuple[str, ...] = ()
    # The second subject of an A/B test (empty: no test).
    subject_b: tuple[Part, ...] = ()

    def fill(self, parts: tuple[Part, ...], values: dict[str, str], *, escape: bool) -> str:
        out = []
        slots = self.slots
        for part in parts:
            if part.__class__ is str:
                out.append(part)
            else:
                slot = slots[part]  # type: ignore[index]
                value = values.get(slot.field) or slot.fallback
                out.append(html.escape(value) if escape else value)
        return "".join(out)  # type: ignore[arg-type]

    def render(self, values: dict[str, str], variant: str = "A") -> tuple[str, str, str]:
        """(subject, html, text) for one recipient's values (and A/B test variant)."""
        subject = self.subject_b if variant == "B" and self.subject_b else self.subject
        return (
            self.fill(subject, values, escape=False),
            self.fill(self.html, values, escape=True),
            self.fill(self.text, values, escape=False),
        )


class _Tokens:
    """Replaces merge fields with tokens that survive Markdown, HTML and CSS inlining."""

    def __init__(self) -> None:
        self.slots: list[Slot] = []

    def token(self, field: str, fallback: str = "") -> str:
        self.slots.append(Slot(field, fallback))
        return f"ZQMERGE{len(self.slots) - 1}QZ"

    def replace(self, text: str) -> str:
        def substitute(match: re.Match[str]) -> str:
            field = match.group(1)
            if field not in FIELDS:
                raise ValidationError(
                    _("Champ de fusion inconnu : %(field)s (disponibles : %(fields)s).")
                    % {"field": field, "fields": ", ".join(FIELDS)}
                )
            return self.token(field, match.group(2) or "")

        replaced = _MERGE_RE.sub(substitute, text)
        if "{{" in replaced:
            raise ValidationError(
                _('Champ de fusion mal écrit : utilisez {{ prenom }} ou {{ prenom | "ami·e" }}.')
            )
        return replaced


def check_merge_fields(text: str) -> None:
    """Raise ValidationError if ``text`` holds an unknown or malformed merge field."""
    _Tokens().replace(text)


def _split(text: str) -> tuple[Part, ...]:
    parts: list[Part] = []
    position = 0
    for match in _TOKEN_RE.finditer(text):
        if match.start() > position:
            parts.append(text[position : match.start()])
        parts.append(int(match.group(1)))
        position = match.end()
    if position < len(text):
        parts.append(text[position:])
    return tuple(parts)


_LINK_RE = re.compile(r"!?\[([^\]]*)\]\(([^)\s]+)[^)]*\)")
_EMPHASIS_RE = re.compile(r"(\*\*|__|\*|_)(\S.*?\S|\S)\1")


def markdown_to_text(source: str) -> str:
    """Markdown is made to be read as text: keep it, spelling links out."""
    text = _LINK_RE.sub(lambda m: f"{m.group(1)} ({m.group(2)})", source)
    return _EMPHASIS_RE.sub(r"\2", text)


_HREF_RE = re.compile(r'href="(https?://[^"]+)"', re.IGNORECASE)


def _link_slots(content: str, text: str, tokens: _Tokens) -> tuple[str, str, tuple[str, ...]]:
    """Turn the body's http(s) links into ``_link<N>`` slots, in the HTML and the text."""
    numbers: dict[str, int] = {}

    def substitute(match: re.Match[str]) -> str:
        url = html.unescape(match.group(1))
        if _TOKEN_RE.search(url):
            return match.group(0)  # a link built from merge fields is left as written
        number = numbers.setdefault(url, len(numbers) + 1)
        return f'href="{tokens.token(LINK_FIELD.format(number), url)}"'

    content = _HREF_RE.sub(substitute, content)
    for url, number in numbers.items():
        # markdown_to_text spells links out as "label (url)".
        if f"({url})" in text:
            text = text.replace(f"({url})", f"({tokens.token(LINK_FIELD.format(number), url)})")
    return content, text, tuple(numbers)


def compile_mailing(mailing: Mailing, *, open_pixel: bool = False) -> Compiled:
    """Render the mailing once: layout, Markdown, inlined CSS, text part and subject."""
    tokens = _Tokens()
    subject = tokens.replace(mailing.subject)
    subject_b = tokens.replace(mailing.subject_b) if mailing.subject_b else ""
    body = tokens.replace(mailing.body)
    content, text_content, links = _link_slots(
        _markdown.render(body), markdown_to_text(body), tokens
    )
    origin, unsubscribe = tokens.token(ORIGIN), tokens.token(UNSUBSCRIBE)
    sender = mailing.sender
    context = {
        "mailing": mailing,
        "sender": sender,
        "content": mark_safe(content),  # noqa: S308 - raw HTML is disabled
        "origin": origin,
        "unsubscribe_url": unsubscribe,
        "open_pixel": tokens.token(OPEN_PIXEL, BLANK_GIF) if open_pixel else "",
    }
    page = render_to_string("mailing/email/layout.html", context)
    page = css_inline.CSSInliner(keep_style_tags=True).inline(page)
    text = render_to_string("mailing/email/layout.txt", {**context, "content": text_content})
    return Compiled(
        subject=_split(subject),
        html=_split(page),
        text=_split(text),
        slots=tuple(tokens.slots),
        links=links,
        subject_b=_split(subject_b) if subject_b else (),
    )


def person_merge(person: Any) -> dict[str, str]:
    """The merge values of a person, as the freeze computes them in SQL (for previews)."""
    return {
        "prenom": person.first_name,
        "nom": person.last_name,
        "civilite": person.civility,
        "commune": person.commune.name if person.commune_id else "",
        "code_postal": person.postal_code,
        "origine": person.origin,
    }
