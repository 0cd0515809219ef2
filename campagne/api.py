"""The REST API (django-ninja) under /api/v1/: one NinjaAPI, one router per domain.

Callers authenticate with their session (pages, htmx; unsafe methods then need the CSRF
token) or with a personal token (``Authorization: Bearer cpg_…``) created on their
account page. Routers load through ``accounts.scopes`` and write through each app's
``actions`` like the pages do. Calls are throttled per account (settings ``API_RATE``,
``API_WRITE_RATE``, ``API_ANON_RATE``).
"""

import threading
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, Throttled
from ninja.openapi.schema import OpenAPISchema
from ninja.throttling import AnonRateThrottle, AuthRateThrottle

from campagne.accounts.api_auth import BearerToken, session_auth
from campagne.lib.api_errors import document_common_errors
from campagne.lib.rate_leases import LeasedCounter

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class _RateFromSettings:
    """Reads its rate from settings on every call, so a deployment's environment (and a
    test's ``override_settings``) decides; ``None`` turns the limit off.

    Counts live in the default cache (the database cache, shared by every process), in
    fixed windows leased to each process in slices (``campagne.lib.rate_leases``): an
    API call writes the shared count once per slice rather than once per call, since
    on SQLite every write takes the database's single write lock. Small limits are
    counted exactly; near a large limit a caller may be refused a slice or two early
    or let one slice past: acceptable for a guard against runaway scripts.
    """

    setting = ""
    counter = LeasedCounter()
    # The seconds to wait of a refused call, per thread: one throttle object serves
    # every thread of a gunicorn worker.
    _refused = threading.local()

    def get_rate(self) -> str | None:
        return getattr(settings, self.setting)

    def allow_request(self, request: HttpRequest) -> bool:
        # Parsed at start-up too (ninja's __init__), so a malformed rate stops the server.
        rate = self.get_rate()
        if rate is None:
            return True
        key = self.get_cache_key(request)  # type: ignore[attr-defined]
        if key is None:
            return True
        limit, period = self.parse_rate(rate)  # type: ignore[attr-defined]
        wait = self.counter.take(key, limit, period)
        self._refused.wait = wait
        return wait is None

    def wait(self) -> float | None:
        return getattr(self._refused, "wait", None)

    def _ident(self, request: HttpRequest) -> str:
        # Key on the account, not ninja's str(request.auth): two users may share a name.
        user = getattr(request, "auth", None)
        if getattr(user, "pk", None) is not None:
            return f"user{user.pk}"  # type: ignore[union-attr]
        return self.get_ident(request) or "unknown"  # type: ignore[attr-defined]


class AccountRateThrottle(_RateFromSettings, AuthRateThrottle):
    """Every call, per account."""

    scope = "api"
    setting = "API_RATE"

    def get_cache_key(self, request: HttpRequest) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self._ident(request)}


class WriteRateThrottle(_RateFromSettings, AuthRateThrottle):
    """Calls that change data, per account: a tighter limit on top of the general one."""

    scope = "api_write"
    setting = "API_WRITE_RATE"

    def get_cache_key(self, request: HttpRequest) -> str | None:  # type: ignore[override]
        if request.method in SAFE_METHODS:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self._ident(request)}


class AnonymousRateThrottle(_RateFromSettings, AnonRateThrottle):
    """Operations open without login (``auth=None``), per IP address."""

    setting = "API_ANON_RATE"


class CampagneAPI(NinjaAPI):
    """A NinjaAPI whose schema lists, on every operation, the errors the API itself may
    answer (throttled, not authenticated, CSRF, malformed input), whatever the router."""

    def get_openapi_schema(self, **kwargs: Any) -> OpenAPISchema:
        schema = super().get_openapi_schema(**kwargs)
        document_common_errors(schema)
        return schema


api = CampagneAPI(
    title="Campagne API",
    version="1",
    description=(
        "Contacts, territories and campaign operations, with the same rules as the pages: "
        "each account sees only its scope (404 outside it), read-only roles get 403 on "
        "writes. Authenticate with a personal token (`Authorization: Bearer cpg_…`, created "
        "on your account page) or with the session cookie of the pages (then unsafe "
        "methods need the `X-CSRFToken` header)."
    ),
    urls_namespace="api",
    auth=[BearerToken(), session_auth],
    throttle=[AccountRateThrottle(), WriteRateThrottle(), AnonymousRateThrottle()],
    docs_url="/docs",
)


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(request, {"detail": _("Authentification requise.")}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@api.exception_handler(Throttled)
def _throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    # ninja adds the Retry-After header to this response.
    message = _("Trop de requêtes : réessayez dans un moment.")
    return api.create_response(request, {"detail": message}, status=429)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    message = str(exc) or _("Action non autorisée.")
    return api.create_response(request, {"detail": message}, status=403)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": _("Introuvable.")}, status=404)


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return api.create_response(request, {"detail": detail}, status=422)


def _register_routers() -> None:
    from campagne.accounts.api import router as me_router
    from campagne.canvassing.api import router as canvassing_router
    from campagne.mailing.api import router as mailing_router
    from campagne.people.api import router as people_router
    from campagne.segments.api import router as segments_router
    from campagne.targeting.api import router as targeting_router
    from campagne.territory.api import router as territory_router
    from campagne.tracking.api import router as tracking_router

    api.add_router("/me", me_router)
    api.add_router("/canvassing", canvassing_router)
    api.add_router("/mailings", mailing_router)
    api.add_router("/mailings", tracking_router)  # /mailings/{id}/report
    api.add_router("/people", people_router)
    api.add_router("/segments", segments_router)
    api.add_router("/targeting", targeting_router)
    api.add_router("/territory", territory_router)


_register_routers()
