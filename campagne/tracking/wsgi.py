"""The tracking endpoints' fast path, in front of Django at the WSGI level.

Clicks and opens arrive in floods (a mailing to 700,000 people, scanners following every
link within seconds). Through Django's full stack (sessions, locale, CSRF, auth,
messages, axes… middleware) a hit costs about 1 ms of CPU; here it costs the token check
and one line in the spool, so that one 2-core machine answers several thousand hits a
second (bench/tracking_hits.py). Only well-formed, correctly signed hits are answered
here, with the same functions as ``views.click`` and ``views.open_pixel``; everything
else (bad tokens included) goes on to Django, which answers with its usual pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.utils.encoding import iri_to_uri

from campagne.tracking import views
from campagne.tracking.models import Hit
from campagne.tracking.tokens import OPEN, read_token

_PATH_RE = re.compile(r"^/m/(?:c/([A-Za-z0-9_-]{28})/|o/([A-Za-z0-9_-]{28})\.gif)$")
_COMMON = [
    ("Cache-Control", views.NO_STORE),
    ("X-Content-Type-Options", "nosniff"),
]

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class TrackingFastPath:
    def __init__(self, application: WSGIApp) -> None:
        self.application = application

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET":
            match = _PATH_RE.match(environ.get("PATH_INFO", ""))
            if match is not None:
                answer = self._hit(environ, start_response, *match.groups())
                if answer is not None:
                    return answer
        return self.application(environ, start_response)

    def _hit(
        self, environ: dict[str, Any], start_response: StartResponse, click: str, pixel: str
    ) -> list[bytes] | None:
        target = read_token(click or pixel)
        if target is None or (target.link_number == OPEN) != bool(pixel):
            return None
        url = None if pixel else views._link_url(target.mailing_id, target.link_number)
        if click and url is None:
            return None
        views.record_hit(
            Hit.Kind.OPEN if pixel else Hit.Kind.CLICK,
            target,
            address=environ.get(settings.TRACKING_CLIENT_IP_HEADER, ""),
            agent=environ.get("HTTP_USER_AGENT", ""),
        )
        if url is not None:
            # iri_to_uri: a Location header must be ASCII (as HttpResponseRedirect does).
            start_response(
                "302 Found",
                [
                    ("Location", iri_to_uri(url)),
                    ("Referrer-Policy", "no-referrer"),
                    ("Content-Length", "0"),
                    *_COMMON,
                ],
            )
            return [b""]
        start_response(
            "200 OK",
            [
                ("Content-Type", "image/gif"),
                ("Content-Length", str(len(views.GIF))),
                ("Pragma", "no-cache"),
                ("Expires", "0"),
                *_COMMON,
            ],
        )
        return [views.GIF]
