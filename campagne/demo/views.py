"""The demo inbox (/demo/boite/): what the demo's SMTP sink received, for HQ accounts.

Only with CAMPAGNE_DEMO (404 otherwise). A message's HTML is shown in a sandboxed iframe
(no scripts, no same-origin access) whose links open in a new tab, so that a newcomer can
follow a tracked link or unsubscribe as a recipient would.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from campagne.accounts.scopes import scope_for
from campagne.demo.models import DemoMessage

PAGE = 100


def _require_demo_hq(request: HttpRequest) -> None:
    if not settings.CAMPAGNE_DEMO:
        raise Http404("Not a demo.")
    scope = scope_for(request.user)
    scope.require(scope.is_hq)


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    _require_demo_hq(request)
    messages = DemoMessage.objects.defer("raw")[:PAGE]
    return render(
        request, "demo/inbox.html", {"messages": messages, "total": DemoMessage.objects.count()}
    )


@login_required
@require_GET
def message(request: HttpRequest, pk: int) -> HttpResponse:
    _require_demo_hq(request)
    found = get_object_or_404(DemoMessage, pk=pk)
    html, text = found.parts()
    parsed = found.parsed()
    headers = [
        (name, str(parsed[name]))
        for name in ("From", "To", "Subject", "Date", "List-Unsubscribe")
        if parsed[name]
    ]
    # Links leave the sandbox in a new tab (the site's pages refuse to be framed).
    framed = html.replace("<head>", '<head><base target="_blank">', 1) if html else ""
    context = {"message": found, "headers": headers, "html": framed, "text": text}
    return render(request, "demo/message.html", context)
