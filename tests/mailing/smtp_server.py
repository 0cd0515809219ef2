"""A real SMTP server (aiosmtpd, in a thread) that records what it accepts."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from dataclasses import dataclass, field
from email.message import Message

from aiosmtpd.controller import Controller

from tests.core.processes import free_port


@dataclass
class Received:
    rcpt: str
    data: bytes
    at: float = field(default_factory=time.monotonic)  # when the server accepted it

    @property
    def message(self) -> Message:
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass
class RecordingHandler:
    received: list[Received] = field(default_factory=list)
    # Address → replies given to its RCPT TO, in turn ("451 …", "550 …"); then 250.
    rcpt_replies: dict[str, list[str]] = field(default_factory=dict)
    # When set: once this many messages are accepted, every later RCPT waits on `gate`.
    hold_after: int | None = None
    gate: threading.Event = field(default_factory=threading.Event)
    held: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Advertise PIPELINING (RFC 2920): aiosmtpd reads pipelined commands in order.
    pipelining: bool = True

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        replies = self.rcpt_replies.get(address)
        if replies:
            return replies.pop(0)
        if self.hold_after is not None and len(self.received) >= self.hold_after:
            with self.lock:
                self.held += 1
            while not self.gate.is_set():
                await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.received.append(Received(rcpt, envelope.original_content))
        return "250 Message accepted"

    def by_address(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.received:
            counts[item.rcpt] = counts.get(item.rcpt, 0) + 1
        return counts


class SmtpServer:
    def __init__(self, *, pipelining: bool = True) -> None:
        self.handler = RecordingHandler(pipelining=pipelining)
        self.port = free_port()
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, decode_data=False
        )

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.handler.gate.set()
        self.controller.stop()
