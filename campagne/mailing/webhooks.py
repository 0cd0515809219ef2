"""The e-mail services' tracking webhooks (django-anymail): bounces and complaints.

Mounted at ``/webhooks/anymail/<service>/tracking/``. Anymail checks each service's
signature where it has one, and the basic auth ``ANYMAIL["WEBHOOK_SECRET"]`` (set from
``ANYMAIL_WEBHOOK_SECRET``); without that secret these URLs refuse every request rather
than trust anyone who posts (anymail itself would only warn). The normalised events
go to ``actions.record_delivery_event``.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from anymail import urls as anymail_urls
from anymail.signals import AnymailTrackingEvent, tracking
from django.conf import settings
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.urls import URLPattern

from campagne.mailing import actions

logger = logging.getLogger(__name__)


def _require_secret(view: Any) -> Any:
    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not getattr(settings, "ANYMAIL", {}).get("WEBHOOK_SECRET"):
            logger.warning("Webhook refused: ANYMAIL_WEBHOOK_SECRET is not set.")
            return HttpResponseForbidden()
        return view(request, *args, **kwargs)

    return guarded


def _tracking_patterns() -> list[URLPattern]:
    """anymail's tracking URLs (every service it supports), each behind the secret."""
    patterns = []
    for pattern in anymail_urls.urlpatterns:
        if isinstance(pattern, URLPattern) and "tracking" in (pattern.name or ""):
            patterns.append(
                URLPattern(pattern.pattern, _require_secret(pattern.callback), name=pattern.name)
            )
    return patterns


app_name = "anymail"
urlpatterns = _tracking_patterns()


@receiver(tracking, dispatch_uid="campagne.mailing.webhooks.tracking")
def on_tracking_event(sender: Any, event: AnymailTrackingEvent, esp_name: str, **_: Any) -> None:
    actions.record_delivery_event(
        event_type=event.event_type,
        esp_name=esp_name,
        email=event.recipient or "",
        message_id=str(event.message_id or ""),
        metadata=event.metadata or {},
        event_id=str(event.event_id or ""),
        description=event.description or event.mta_response or "",
        at=event.timestamp,
    )
