"""E-mail services transport (Brevo, Mailjet, Amazon SES, Postmark, SendGrid, Mailgun…)
through django-anymail, behind the same ``deliver`` interface as ``smtp.Connection``.

The worker builds each message as bytes (``message.Skeleton``) whatever the transport;
here it is read back into a Django message for the service's API. The API call replaces
the SMTP transaction: ``commit_point`` (``claimed → sending``) is committed just before
it, so a crash during the call leaves a ``sending`` row that is never sent again. One
backend per sending thread, opened once: anymail keeps its HTTP session (connection
reuse) across the messages of every batch.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable, Iterable, Iterator
from email.message import EmailMessage as MimeMessage
from typing import Any, cast

import requests
from anymail.backends.base import AnymailBaseBackend
from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils.module_loading import import_string
from urllib3.exceptions import ConnectTimeoutError

from campagne.mailing.smtp import Abandoned, Outcome, Outgoing, Rejected, deliver_one_by_one

# Headers of ours that the service must pass on as they are.
KEPT_HEADERS = ("Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post")
# The metadata key that webhooks quote back (anymail passes metadata to every service).
RECIPIENT_METADATA = "campagne_recipient"


def is_esp_backend(backend: str | None = None) -> bool:
    """Is EMAIL_BACKEND (or ``backend``) one of django-anymail's?"""
    try:
        backend_class = import_string(backend or settings.EMAIL_BACKEND)
    except ImportError:
        return False
    return isinstance(backend_class, type) and issubclass(backend_class, AnymailBaseBackend)


def _never_reached(exc: AnymailAPIError) -> bool:
    """True when the request did not get to the service (refused or timed out while
    connecting): then it surely was not accepted and may be tried again."""
    cause = exc.__cause__
    if isinstance(cause, requests.ConnectTimeout):
        return True
    if isinstance(cause, requests.ConnectionError) and cause.args:
        return isinstance(getattr(cause.args[0], "reason", None), ConnectTimeoutError)
    return False


def to_django_message(raw: bytes, recipient: str) -> EmailMultiAlternatives:
    """Our MIME bytes → a Django message with the same parts and bulk headers."""
    # The default policy makes an EmailMessage (get_body, decoded get_content).
    parsed = cast(MimeMessage, email.message_from_bytes(raw, policy=email.policy.default))
    text = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    reply_to = parsed.get("Reply-To")
    message = EmailMultiAlternatives(
        subject=str(parsed["Subject"] or ""),
        body=text.get_content() if text is not None else "",
        from_email=str(parsed["From"]),
        to=[recipient],
        reply_to=[str(reply_to)] if reply_to else None,
        headers={name: str(parsed[name]) for name in KEPT_HEADERS if parsed[name]},
    )
    if html is not None:
        message.attach_alternative(html.get_content(), "text/html")
    return message


class EspConnection:
    """One anymail backend (HTTP session), opened on first use and reused."""

    kind = "esp"

    def __init__(self) -> None:
        self.backend: Any = None

    def open(self) -> Any:
        if self.backend is None:
            self.backend = get_connection(fail_silently=False)
            self.backend.open()
        return self.backend

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()
        self.backend = None

    def deliver_all(
        self,
        sender: str,
        items: Iterable[Outgoing],
        idle: Callable[[], None] | None = None,
    ) -> Iterator[Outcome]:
        """One API call per message (same interface as the SMTP transport)."""
        return deliver_one_by_one(self, sender, items, idle)

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
        """Send one message through the service's API; return the service's message id.
        ``idle`` is for the SMTP transport (same interface): the commit point comes
        before the request here, so nothing waits on the service.

        Raise Rejected (refused recipient: 5xx "rcpt"; the service busy or down: 4xx; a
        request it refuses: 5xx "api"), Abandoned, or OSError when the outcome is unknown.
        """
        django_message = to_django_message(message, recipient)
        django_message.envelope_sender = sender  # type: ignore[attr-defined]
        if recipient_id is not None:
            django_message.metadata = {RECIPIENT_METADATA: str(recipient_id)}  # type: ignore[attr-defined]
        backend = self.open()
        if not commit_point():
            raise Abandoned()
        try:
            backend.send_messages([django_message])
        except AnymailRecipientsRefused as exc:
            raise Rejected(550, str(exc)[:400], "rcpt") from exc
        except AnymailAPIError as exc:
            status = exc.status_code
            if status is None and _never_reached(exc):
                raise Rejected(421, f"service injoignable : {exc}"[:400], "api") from exc
            if status is None:
                # Sent, but no answer: it may have been accepted. Never sent again.
                raise OSError(f"pas de réponse du service d'e-mail : {exc}") from exc
            if status == 429 or status >= 500:
                raise Rejected(451, f"{status} {exc}"[:400], "api") from exc
            raise Rejected(554, f"{status} {exc}"[:400], "api") from exc
        status = django_message.anymail_status  # type: ignore[attr-defined]
        return "" if status.message_id is None else str(status.message_id)
