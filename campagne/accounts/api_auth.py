"""How API callers authenticate: a personal token or the session of the pages."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from campagne.accounts.models import ApiToken


class BearerToken(HttpBearer):
    """A personal API token: ``Authorization: Bearer cpg_…``. No CSRF: browsers never
    send this header on their own."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = ApiToken.authenticate(token)
        if user is not None:
            request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """The logged-in session of the pages. Unsafe methods must carry the CSRF token.

    Unlike ninja's ``django_auth``, a request without a session answers 401 rather than
    failing the CSRF check first, so that a missing or revoked token reads as such.
    """

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        if not request.user.is_authenticated:
            return None
        if (
            self.csrf
            and not getattr(request, "_ninja_csrf_exempt", False)
            and check_csrf(request) is not None
        ):
            raise HttpError(403, _("Jeton CSRF absent ou invalide."))
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return request.user if request.user.is_authenticated else None


session_auth = SessionAuth()
