"""The REST API (django-ninja) under /api/v1/: one NinjaAPI, one router per domain.

Callers authenticate with their session (pages, htmx) or with a personal token
(``Authorization: Bearer cpg_…``) created on their account page. Routers load through
``accounts.scopes`` and write through each app's ``actions`` like the pages do.
"""

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.security import HttpBearer, django_auth

from campagne.accounts.models import ApiToken


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = ApiToken.authenticate(token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="Campagne API",
    version="1",
    description="Contacts, territories and campaign operations. Same rules as the pages.",
    urls_namespace="api",
    auth=[BearerToken(), django_auth],
    docs_url="/docs",
)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "Forbidden."}, status=403)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": "Not found."}, status=404)


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return api.create_response(request, {"detail": detail}, status=422)


def _register_routers() -> None:
    from campagne.people.api import router as people_router

    api.add_router("/people", people_router)


_register_routers()
