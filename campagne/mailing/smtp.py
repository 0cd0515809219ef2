"""SMTP transport: one connection per sending thread, reused across messages.

Settings come from EMAIL_URL (``smtp://user:pass@host:587?tls=1``, ``smtps://…``).
``deliver`` runs one SMTP transaction and calls ``commit_point`` just before the final
"." — the moment after which the server may have accepted the message — so that the
caller can record it (see ``sending.py``).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


@dataclass
class Rejected(Exception):  # noqa: N818 - a reply, not a programming error
    """The server refused (4xx: try again later; 5xx: never)."""

    code: int
    reply: str
    stage: str

    @property
    def permanent(self) -> bool:
        return self.code >= 500


class Abandoned(Exception):  # noqa: N818
    """``commit_point`` said no: the message was dropped before the server could accept it."""


def check_configured() -> None:
    if settings.EMAIL_BACKEND != SMTP_BACKEND:
        raise ImproperlyConfigured(
            "Sending mailings needs an SMTP EMAIL_URL (smtp://… or smtps://…)."
        )


def dot_stuff(message: bytes) -> bytes:
    """RFC 5321 §4.5.2, and a final CRLF so that the terminating ".\\r\\n" stands alone."""
    if message.startswith(b"."):
        message = b"." + message
    message = message.replace(b"\r\n.", b"\r\n..")
    return message if message.endswith(b"\r\n") else message + b"\r\n"


class Connection:
    """A lazily opened, reused SMTP connection."""

    def __init__(self) -> None:
        self.smtp: smtplib.SMTP | None = None

    def open(self) -> smtplib.SMTP:
        if self.smtp is not None:
            return self.smtp
        host, port, timeout = settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT
        context = ssl.create_default_context()
        if settings.EMAIL_USE_SSL:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
            if settings.EMAIL_USE_TLS:
                smtp.starttls(context=context)
        smtp.ehlo_or_helo_if_needed()
        if settings.EMAIL_HOST_USER:
            smtp.login(settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD)
        self.smtp = smtp
        return smtp

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
        self.smtp = None

    def abort(self) -> None:
        """Drop the connection without QUIT: an unfinished DATA is discarded by the server."""
        if self.smtp is not None:
            self.smtp.close()
        self.smtp = None

    def deliver(
        self, sender: str, recipient: str, message: bytes, commit_point: Callable[[], bool]
    ) -> str:
        """Send one message; return the server's reply. Raise Rejected or Abandoned, or
        OSError/SMTPException when the connection breaks (then it is dropped)."""
        smtp = self.open()
        try:
            code, reply = smtp.mail(sender)
            if code != 250:
                smtp.rset()
                raise Rejected(code, reply.decode(errors="replace"), "mail")
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                smtp.rset()
                raise Rejected(code, reply.decode(errors="replace"), "rcpt")
            code, reply = smtp.docmd("DATA")
            if code != 354:
                smtp.rset()
                raise Rejected(code, reply.decode(errors="replace"), "data")
            smtp.send(dot_stuff(message))
            if not commit_point():
                self.abort()
                raise Abandoned()
            smtp.send(b".\r\n")
            code, reply = smtp.getreply()
        except (smtplib.SMTPException, OSError):
            self.abort()
            raise
        if code != 250:
            raise Rejected(code, reply.decode(errors="replace"), "end-of-data")
        return reply.decode(errors="replace")
