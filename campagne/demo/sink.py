"""A tiny SMTP server for the demo: every message it accepts becomes a ``DemoMessage``.

``campagne rundemo`` starts it in a thread and points the web server's and the worker's
``EMAIL_URL`` at it, so that what the demo sends (mailings, login links) can be read at
/demo/boite/ instead of leaving the machine. It speaks just enough SMTP (RFC 5321) for
smtplib and our sender: HELO/EHLO (with PIPELINING), MAIL, RCPT, DATA, RSET, NOOP, QUIT;
no TLS, no authentication, on 127.0.0.1 only. Not for anything but the demo.
"""

from __future__ import annotations

import email
import email.policy
import logging
import socketserver
import threading
from typing import Any

from django.db import connection

logger = logging.getLogger(__name__)
MAX_MESSAGE = 10 * 1024 * 1024


def store(mail_from: str, recipients: list[str], data: bytes) -> None:
    from campagne.demo.models import DemoMessage

    message = email.message_from_bytes(data, policy=email.policy.default)
    subject = str(message.get("Subject", ""))[:500]
    DemoMessage.objects.bulk_create(
        DemoMessage(mail_from=mail_from[:254], rcpt_to=rcpt[:254], subject=subject, raw=data)
        for rcpt in recipients
    )


def _address(argument: str) -> str:
    """``FROM:<a@b.fr> SIZE=12`` → ``a@b.fr``."""
    value = argument.partition(":")[2].strip()
    if value.startswith("<"):
        value = value[1 : value.find(">")]
    return value.split(" ")[0]


class _Session(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        try:
            self._converse()
        finally:
            connection.close()  # this thread's database connection

    def _converse(self) -> None:
        self.reply("220 campagne-demo ESMTP")
        mail_from, recipients = "", []
        while line := self.rfile.readline(4096):
            verb, _space, argument = line.decode("utf-8", "replace").strip().partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self.reply("250-campagne-demo")
                self.reply("250-PIPELINING")
                self.reply("250-8BITMIME")
                self.reply(f"250 SIZE {MAX_MESSAGE}")
            elif verb == "HELO":
                self.reply("250 campagne-demo")
            elif verb == "MAIL":
                mail_from, recipients = _address(argument), []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(_address(argument))
                self.reply("250 OK")
            elif verb == "DATA":
                if not recipients:
                    self.reply("503 RCPT first")
                    continue
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                data = self._data()
                if data is None:
                    return
                try:
                    store(mail_from, recipients, data)
                except Exception:  # the demo must keep answering; say it failed
                    logger.exception("demo SMTP sink: could not store a message")
                    self.reply("451 Could not store the message")
                else:
                    self.reply("250 OK: stored for the demo inbox")
                mail_from, recipients = "", []
            elif verb == "RSET":
                mail_from, recipients = "", []
                self.reply("250 OK")
            elif verb == "NOOP":
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")

    def _data(self) -> bytes | None:
        """The message up to the lone ".", dot-unstuffed; None if the client went away."""
        lines, size = [], 0
        while True:
            line = self.rfile.readline(MAX_MESSAGE)
            if not line:
                return None
            if line in (b".\r\n", b".\n"):
                return b"".join(lines)[:MAX_MESSAGE]
            if line.startswith(b"."):
                line = line[1:]
            size += len(line)
            if size <= MAX_MESSAGE:
                lines.append(line)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class DemoSink:
    """``with DemoSink() as sink: … sink.port …``: serves in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = _Server((host, port), _Session)
        self.host, self.port = self.server.server_address[:2]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def __enter__(self) -> DemoSink:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
