"""Build each recipient's MIME message from a skeleton made once per mailing.

The standard library's ``EmailMessage`` builds ~240 messages/s per core; here the
headers and parts that are the same for everyone are bytes made once, and a message is
a few joins and (optionally) a DKIM signature.

The body is quoted-printable. Its literal parts (≈13 KB: layout, text, CSS) are encoded
once per mailing, and so is their DKIM canonical form; per message only the merge
values, links and tokens (a few hundred bytes) are encoded, and everything is put
together by one C-level ``bytes % tuple``. Pieces encoded apart are joined by soft line
breaks (``=`` CRLF, invisible once decoded), so every line stays under 76 characters
and every piece ends a line: the relaxed canonical form of the body is then the
concatenation of its pieces' canonical forms (QP encodes a blank at the end of a piece,
so no run of blanks crosses a join).
"""

from __future__ import annotations

import base64
import binascii
import html
import secrets
import time
from email.utils import formataddr, formatdate
from urllib.parse import quote

from django.conf import settings
from django.core.signing import Signer
from django.urls import reverse

from campagne.mailing.dkim import DkimSigner, relaxed_piece
from campagne.mailing.models import Mailing
from campagne.mailing.rendering import ORIGIN, UNSUBSCRIBE, Compiled, Part, Slot, compile_mailing
from campagne.mailing.variants import SubjectVariants
from campagne.tracking.links import MessageTracker, open_pixel_enabled

_unsubscribe_signer = Signer(salt="campagne.mailing.unsubscribe")


def unsubscribe_token(recipient_id: int) -> str:
    return _unsubscribe_signer.sign(str(recipient_id))


def recipient_from_token(token: str) -> int | None:
    """The recipient id a token was made for, or None if it was tampered with."""
    from django.core.signing import BadSignature

    try:
        return int(_unsubscribe_signer.unsign(token))
    except (BadSignature, ValueError):
        return None


def encode_header_text(text: str) -> bytes:
    """RFC 2047 encoded words (base64, UTF-8) when ``text`` is not plain short ASCII."""
    if text.isascii() and len(text) < 900 and "\n" not in text and "=?" not in text:
        return text.encode()
    words, chunk = [], b""
    for char in text.replace("\n", " "):
        encoded = char.encode()
        if len(chunk) + len(encoded) > 45:  # 45 bytes → 60 base64 chars, under 75 per word
            words.append(chunk)
            chunk = b""
        chunk += encoded
    words.append(chunk)
    return b"\r\n ".join(b"=?utf-8?b?" + base64.b64encode(word) + b"?=" for word in words)


def _qp(text: str) -> bytes:
    if text.isascii() and len(text) < 70 and _qp_unchanged(text):
        return text.encode()  # short, printable, no "=": QP leaves it as it is
    encoded = binascii.b2a_qp(text.replace("\r\n", "\n").encode(), istext=True)
    return encoded.replace(b"\n", b"\r\n")


def _qp_unchanged(text: str) -> bool:
    # b2a_qp also encodes a lone "." (an SMTP end of data on its own line).
    return text.isprintable() and "=" not in text and not text.endswith((" ", "\t")) and text != "."


SOFT_BREAK = b"=\r\n"


class _Body:
    """A message body (both MIME parts) as two ``%`` templates made once per mailing:
    the bytes to send and their DKIM relaxed canonical form. Each ``%s`` is one slot
    occurrence, filled by one of a few distinct keys: (value index, HTML-escaped?,
    followed by a soft break?)."""

    def __init__(self, pieces: list[bytes | tuple[int, bool, bool]]) -> None:
        raw, canonical = [], []
        keys: dict[tuple[int, bool, bool], int] = {}
        order = []
        for piece in pieces:
            if isinstance(piece, bytes):
                raw.append(piece.replace(b"%", b"%%"))
                canonical.append(relaxed_piece(piece).replace(b"%", b"%%"))
            else:
                raw.append(b"%s")
                canonical.append(b"%s")
                order.append(keys.setdefault(piece, len(keys)))
        self.raw, self.canonical = b"".join(raw), b"".join(canonical)
        self.keys, self.order = tuple(keys), tuple(order)

    def fill(self, values: list[str], *, signed: bool) -> tuple[bytes, bytes | None]:
        """(body, its relaxed canonical form, or None when ``signed`` is False)."""
        encoded = []
        for index, escape, soft in self.keys:
            piece = _qp(html.escape(values[index]) if escape else values[index])
            encoded.append(piece + SOFT_BREAK if soft else piece)
        body = self.raw % tuple([encoded[n] for n in self.order])
        if not signed:
            return body, None
        encoded = [relaxed_piece(piece) for piece in encoded]
        return body, self.canonical % tuple([encoded[n] for n in self.order])


def _encoded_part(
    parts: tuple[Part, ...], keys: dict[Slot, int], slots: tuple[Slot, ...], *, escape: bool
) -> list[bytes | tuple[int, bool, bool]]:
    """One MIME part's pieces: encoded literals, and slot keys (distinct value index,
    HTML-escaped?, followed by a soft break?). Joins get a soft line break."""
    pieces: list[bytes | tuple[int, bool, bool]] = []
    for position, part in enumerate(parts):
        last = position == len(parts) - 1
        if isinstance(part, str):
            piece = _qp(part)
            if not last and not piece.endswith(b"\r\n"):
                piece += SOFT_BREAK
            pieces.append(piece)
        else:
            pieces.append((keys.setdefault(slots[part], len(keys)), escape, not last))
    return pieces


class _DateHeader:
    """``formatdate`` costs ~10 µs; the Date header changes once a second."""

    def __init__(self) -> None:
        self.cached: tuple[int, bytes] = (-1, b"")

    def __call__(self) -> bytes:
        now = time.time()
        second, value = self.cached  # one tuple: threads never see half an update
        if int(now) != second:
            value = formatdate(now, usegmt=True).encode()
            self.cached = (int(now), value)
        return value


def dkim_signer_from_settings(domain: str) -> DkimSigner | None:
    key = settings.CAMPAGNE_DKIM_PRIVATE_KEY
    if not key:
        return None
    return DkimSigner(
        private_key=key.encode(),
        selector=settings.CAMPAGNE_DKIM_SELECTOR,
        domain=settings.CAMPAGNE_DKIM_DOMAIN or domain,
    )


class Skeleton:
    """Everything about a mailing's messages that does not depend on the recipient."""

    def __init__(self, mailing: Mailing, *, dkim: DkimSigner | None = None) -> None:
        self.mailing = mailing
        open_pixel = open_pixel_enabled(mailing)
        self.compiled: Compiled = compile_mailing(mailing, open_pixel=open_pixel)
        # Signed click and open URLs per message (campagne.tracking).
        self.tracker = MessageTracker.for_mailing(
            mailing, self.compiled.links, open_pixel=open_pixel
        )
        # A/B test of subjects: which subject each recipient row gets.
        self.variants = SubjectVariants(mailing) if self.compiled.subject_b else None
        sender = mailing.sender
        self.domain = sender.domain
        self.dkim = dkim
        self.from_header = formataddr((sender.name, sender.address)).encode()
        self.reply_to = sender.reply_to.encode() if sender.reply_to else b""
        self.mailto = (sender.reply_to or sender.address).encode()
        self.unsubscribe_base = settings.CAMPAGNE_BASE_URL + reverse(
            "mailing:unsubscribe", args=["TOKEN"]
        ).removesuffix("TOKEN/")
        self.message_id_suffix = f".{mailing.pk}.{secrets.token_hex(4)}@{self.domain}>".encode()
        boundary = f"=_cpg_{secrets.token_hex(12)}".encode()
        self.content_type = b'multipart/alternative; boundary="' + boundary + b'"'
        self.text_head = (
            b"--" + boundary + b"\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        )
        self.html_head = (
            b"\r\n--" + boundary + b"\r\nContent-Type: text/html; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        )
        self.tail = b"\r\n--" + boundary + b"--\r\n"
        keys: dict[Slot, int] = {}
        slots = self.compiled.slots
        text = _encoded_part(self.compiled.text, keys, slots, escape=False)
        page = _encoded_part(self.compiled.html, keys, slots, escape=True)
        self.body = _Body([self.text_head, *text, self.html_head, *page, self.tail])
        # The distinct (field, fallback) pairs of the body, by index.
        self.body_slots = tuple(keys)
        self.date = _DateHeader()

    def message_id(self, recipient_id: int) -> str:
        return f"<{recipient_id}" + self.message_id_suffix.decode()

    def unsubscribe_url(self, recipient_id: int) -> str:
        return f"{self.unsubscribe_base}{unsubscribe_token(recipient_id)}/"

    def build(
        self, *, recipient_id: int, email: str, merge: dict[str, str], origin: str
    ) -> tuple[str, bytes]:
        """(Message-ID, the message as bytes with CRLF line ends, not dot-stuffed)."""
        url = self.unsubscribe_url(recipient_id)
        values = {**merge, ORIGIN: origin, UNSUBSCRIBE: url, **self.tracker.values(recipient_id)}
        variant = self.variants(recipient_id) if self.variants is not None else "A"
        subject_parts = self.compiled.subject
        if variant == "B" and self.compiled.subject_b:
            subject_parts = self.compiled.subject_b
        subject = self.compiled.fill(subject_parts, values, escape=False)
        message_id = self.message_id(recipient_id)
        body, canonical = self.body.fill(
            [values.get(slot.field) or slot.fallback for slot in self.body_slots],
            signed=self.dkim is not None,
        )
        headers = [
            (b"From", self.from_header),
            (b"To", email.encode()),
            (b"Subject", encode_header_text(subject)),
            (b"Date", self.date()),
            (b"Message-ID", message_id.encode()),
            (
                b"List-Unsubscribe",
                b"<"
                + url.encode()
                + b">, <mailto:"
                + self.mailto
                + b"?subject="
                + quote(f"unsubscribe {recipient_id}").encode()
                + b">",
            ),
            (b"List-Unsubscribe-Post", b"List-Unsubscribe=One-Click"),
            (b"MIME-Version", b"1.0"),
            (b"Content-Type", self.content_type),
        ]
        if self.reply_to:
            headers.append((b"Reply-To", self.reply_to))
        head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        if self.dkim is not None:
            head = self.dkim.signature_header(headers, body, canonical_body=canonical) + head
        return message_id, head + b"\r\n" + body
