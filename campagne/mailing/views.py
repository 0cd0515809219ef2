"""Public pages of the mailings: unsubscribing, with no login."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from campagne.mailing import actions
from campagne.mailing.message import recipient_from_token


# RFC 8058: mail clients POST "List-Unsubscribe=One-Click" with no cookie and no token,
# so no CSRF check; the signed token in the URL is the authorisation.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    if recipient_from_token(token) is None:
        return render(request, "mailing/unsubscribe.html", {"invalid": True}, status=404)
    if request.method == "POST":
        recipient = actions.unsubscribe(token=token)
        if recipient is None:
            return render(request, "mailing/unsubscribe.html", {"invalid": True}, status=404)
        return render(request, "mailing/unsubscribe.html", {"done": True})
    return render(request, "mailing/unsubscribe.html", {"token": token})
