from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from campagne.accounts.scopes import scope_for


@login_required
def home(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    return render(request, "core/home.html", {"scope": scope})


def health(request: HttpRequest) -> JsonResponse:
    """For load balancers: answers 200 when the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def rate_limited(request: HttpRequest, exception: Exception) -> HttpResponse:
    """django-ratelimit's answer when a form or endpoint is hit too often."""
    message = _("Trop de requêtes : réessayez dans une minute.")
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=429)
    return render(request, "core/rate_limited.html", {"message": message}, status=429)
