"""SMTP transport: one connection per sending thread, reused across messages.

Settings come from EMAIL_URL (``smtp://user:pass@host:587?tls=1``, ``smtps://…``).
``deliver`` runs one SMTP transaction and calls ``commit_point`` just before the final
"." — the moment after which the server may have accepted the message — so that the
caller can record it (see ``sending.py``).
"""

from __future__ import annotations

import itertools
import select
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

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


@dataclass
class Outgoing:
    """One message of a batch: built only when its turn comes, so that building it
    overlaps the server's work on the previous one."""

    recipient: str
    build: Callable[[], bytes]
    commit_point: Callable[[], bool]
    recipient_id: int | None = None
    key: Any = None


@dataclass
class Outcome:
    """What became of one message: the server's reply, or the error (Rejected,
    Abandoned, UnicodeEncodeError for a non-ASCII address, OSError/SMTPException when
    the connection broke); ``committed``: its commit point had been passed, so after a
    broken connection it may have been delivered."""

    item: Outgoing
    reply: str = ""
    error: BaseException | None = None
    committed: bool = False


class Transport(Protocol):
    def deliver(
        self,
        sender: str,
        recipient: str,
        message: bytes,
        commit_point: Callable[[], bool],
        *,
        recipient_id: int | None = None,
        idle: Callable[[], None] | None = None,
    ) -> str: ...


def deliver_one_by_one(
    transport: Transport,
    sender: str,
    items: Iterable[Outgoing],
    idle: Callable[[], None] | None = None,
) -> Iterator[Outcome]:
    """Each message in its own transaction (a server without PIPELINING, an e-mail
    service's API)."""
    for item in items:
        message = item.build()
        committed = False

        def commit_point(item: Outgoing = item) -> bool:
            nonlocal committed
            committed = item.commit_point()
            return committed

        try:
            reply = transport.deliver(
                sender,
                item.recipient,
                message,
                commit_point,
                recipient_id=item.recipient_id,
                idle=idle,
            )
        except (UnicodeEncodeError, Abandoned, Rejected, OSError) as exc:
            yield Outcome(item, error=exc, committed=committed)
            continue
        yield Outcome(item, reply=reply)


def check_configured() -> None:
    """Mailings go out over SMTP or through an e-mail service (django-anymail)."""
    from campagne.mailing.esp import is_esp_backend

    if settings.EMAIL_BACKEND != SMTP_BACKEND and not is_esp_backend():
        raise ImproperlyConfigured(
            "Sending mailings needs an SMTP EMAIL_URL (smtp://… or smtps://…) or an "
            "e-mail service (brevo://, mailjet://, ses://, postmark://, sendgrid://, mailgun://)."
        )


def dot_stuff(message: bytes) -> bytes:
    """RFC 5321 §4.5.2, and a final CRLF so that the terminating ".\\r\\n" stands alone."""
    if message.startswith(b"."):
        message = b"." + message
    message = message.replace(b"\r\n.", b"\r\n..")
    return message if message.endswith(b"\r\n") else message + b"\r\n"


# A server that takes longer than this to answer the envelope is stalling (tarpit,
# greylisting, overload): the sender's pending writes should not wait for it.
IDLE_SECONDS = 0.05


def _answers_soon(smtp: smtplib.SMTP) -> bool:
    """Whether the reply is there or comes within IDLE_SECONDS (TLS: assume so, the
    record layer may hold a reply that select() does not see)."""
    sock, file = smtp.sock, smtp.file
    if sock is None or file is None or isinstance(sock, ssl.SSLSocket):
        return True
    # Replies read ahead (pipelined answers come together) wait in smtplib's buffer,
    # where select() cannot see them: peek without blocking first.
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        buffered = file.peek(1)
    except BlockingIOError:
        buffered = b""
    finally:
        sock.settimeout(timeout)
    return bool(buffered) or bool(select.select([sock], [], [], IDLE_SECONDS)[0])


def _replies(
    smtp: smtplib.SMTP, count: int, idle: Callable[[], None] | None
) -> list[tuple[int, bytes]]:
    """Read ``count`` pipelined replies; call ``idle`` (once) before one that is slow
    to come (a server may answer MAIL at once and then stall on RCPT)."""
    replies = []
    for _reply in range(count):
        if idle is not None and not _answers_soon(smtp):
            idle()
            idle = None
        replies.append(smtp.getreply())
    return replies


def _envelope_bytes(sender: str, recipient: str) -> bytes:
    """MAIL, RCPT, DATA; UnicodeEncodeError for a non-ASCII address (no SMTPUTF8 yet)."""
    return f"MAIL FROM:<{sender}>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode("ascii")


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
        # The body and the final "." go out as two writes: without TCP_NODELAY, Nagle's
        # algorithm holds the second until the first is acknowledged (40 ms, delayed ACK).
        smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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

    @staticmethod
    def _envelope(
        smtp: smtplib.SMTP, sender: str, recipient: str, idle: Callable[[], None] | None
    ) -> None:
        """MAIL, RCPT and DATA, pipelined in one write when the server allows it
        (RFC 2920): one round trip instead of three. ``idle`` is called if the server
        does not answer within IDLE_SECONDS."""
        commands = [f"MAIL FROM:<{sender}>", f"RCPT TO:<{recipient}>", "DATA"]
        replies = []
        if smtp.has_extn("pipelining"):
            smtp.send("".join(command + "\r\n" for command in commands))
            replies = _replies(smtp, len(commands), idle)
        else:
            for command in commands:
                smtp.putcmd(command)
                if idle is not None and not _answers_soon(smtp):
                    idle()
                    idle = None
                replies.append(smtp.getreply())
                if replies[-1][0] >= 400:
                    break
        stages, expected = ("mail", "rcpt", "data"), ((250,), (250, 251), (354,))
        for stage, ok, (code, reply) in zip(stages, expected, replies, strict=False):
            if code not in ok:
                if replies[-1][0] == 354:
                    # DATA was accepted although an earlier command failed: end it empty.
                    smtp.send(".\r\n")
                    smtp.getreply()
                smtp.rset()
                raise Rejected(code, reply.decode(errors="replace"), stage)

    kind = "smtp"

    def deliver_all(
        self,
        sender: str,
        items: Iterable[Outgoing],
        idle: Callable[[], None] | None = None,
    ) -> Iterator[Outcome]:
        """Send a batch, yielding each message's outcome in order.

        With PIPELINING, the "." that ends a message and the next message's MAIL, RCPT
        and DATA go out in one write (RFC 2920 lets message content open a group), and
        the next message is built while the server answers: one round trip and one
        write less per message. The order that the guarantee needs is kept: body,
        commit point, then the "." (the next message is built only after it). A
        message's outcome is yielded before the next one reaches its commit point.
        """
        items = iter(items)
        item = next(items, None)
        pending: Outgoing | None = None  # committed, its "." not written yet
        try:
            while item is not None or pending is not None:
                if pending is None:
                    try:
                        smtp = self.open()
                    except (smtplib.SMTPException, OSError) as exc:
                        yield Outcome(item, error=exc)  # type: ignore[arg-type]
                        item = next(items, None)
                        continue
                    if not smtp.has_extn("pipelining"):
                        yield from deliver_one_by_one(
                            self, sender, itertools.chain([item], items), idle
                        )
                        return
                try:
                    envelope = b""
                    if item is not None:
                        try:
                            envelope = _envelope_bytes(sender, item.recipient)
                        except UnicodeEncodeError as exc:
                            yield Outcome(item, error=exc)
                            item = next(items, None)
                            continue
                    smtp.send((b".\r\n" if pending is not None else b"") + envelope)
                    message = dot_stuff(item.build()) if item is not None else b""
                    if pending is not None:
                        done, pending = pending, None
                        code, reply = smtp.getreply()
                        text = reply.decode(errors="replace")
                        if code == 250:
                            yield Outcome(done, reply=text, committed=True)
                        else:
                            error = Rejected(code, text, "end-of-data")
                            yield Outcome(done, error=error, committed=True)
                    if item is None:
                        continue
                    replies = _replies(smtp, 3, idle)
                    rejected = self._rejected(smtp, replies)
                    if rejected is not None:
                        yield Outcome(item, error=rejected)
                        item = next(items, None)
                        continue
                    smtp.send(message)
                    if not item.commit_point():
                        self.abort()
                        yield Outcome(item, error=Abandoned())
                        item = next(items, None)
                        continue
                    pending, item = item, next(items, None)
                except (smtplib.SMTPException, OSError) as exc:
                    # Broken: the message whose "." was in flight may have been delivered;
                    # the one in progress was not (its commit point was not passed).
                    self.abort()
                    if pending is not None:
                        yield Outcome(pending, error=exc, committed=True)
                        pending = None
                    if item is not None:
                        yield Outcome(item, error=exc)
                        item = next(items, None)
        finally:
            if pending is not None:
                # Stopped by the caller with a message committed but its "." unsent:
                # drop the connection, the server discards it (never QUIT in DATA).
                self.abort()

    def _rejected(self, smtp: smtplib.SMTP, replies: list[tuple[int, bytes]]) -> Rejected | None:
        """The envelope's refusal, if any, with the transaction reset."""
        stages, expected = ("mail", "rcpt", "data"), ((250,), (250, 251), (354,))
        for stage, ok, (code, reply) in zip(stages, expected, replies, strict=True):
            if code not in ok:
                if replies[-1][0] == 354:
                    # DATA was accepted although an earlier command failed: end it empty.
                    smtp.send(".\r\n")
                    smtp.getreply()
                smtp.rset()
                return Rejected(code, reply.decode(errors="replace"), stage)
        return None

    def deliver(
        self,
        sender: str,
        recipient: str,
        message: bytes,
        commit_point: Callable[[], bool],
        *,
        recipient_id: int | None = None,
        idle: Callable[[], None] | None = None,
    ) -> str:
        """Send one message; return the server's reply. Raise Rejected or Abandoned, or
        OSError/SMTPException when the connection breaks (then it is dropped).
        ``recipient_id`` is for the e-mail services' transport (same interface).
        ``idle``: called when the server is slow to answer the envelope (the caller
        writes what it has pending rather than keep it through a stall)."""
        smtp = self.open()
        try:
            self._envelope(smtp, sender, recipient, idle)
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
