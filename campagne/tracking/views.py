"""Public tracking endpoints (redirect, pixel) and the report page of a mailing.

In production the public endpoints are answered by ``tracking.wsgi.TrackingFastPath``
before Django's middleware, with the same functions; these views answer the rest (bad
tokens: 404 pages) and the test client. No database write on this path and, once a link
is known to the process, no database read either. A bad token is a 404; a redirect's
target is the stored link, never something read from the request.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET

from campagne.accounts.scopes import scope_for
from campagne.mailing.models import mailing_for
from campagne.tracking import recorder
from campagne.tracking.models import Hit, Link
from campagne.tracking.report import mailing_report
from campagne.tracking.tokens import OPEN, Target, read_token

# The smallest transparent GIF (1×1, 43 bytes).
GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
    b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
NO_STORE = "no-store, no-cache, must-revalidate, max-age=0, private"

# Links never change once a mailing is sent (links.register_links), so each process
# keeps the ones it has served: a click then costs no query at all.
_links: dict[tuple[int, int], str] = {}


def _link_url(mailing_id: int, number: int) -> str | None:
    url = _links.get((mailing_id, number))
    if url is None:
        url = (
            Link.objects.filter(mailing_id=mailing_id, number=number)
            .values_list("url", flat=True)
            .first()
        )
        if url is not None:
            if len(_links) > 50_000:
                _links.clear()
            _links[(mailing_id, number)] = url
    return url


def record_hit(kind: str, target: Target, *, address: str, agent: str) -> None:
    recorder.record(
        kind=kind,
        mailing_id=target.mailing_id,
        recipient_id=target.recipient_id,
        link_number=target.link_number,
        address=address,
        agent=agent,
    )


def _record(request: HttpRequest, kind: str, target: Target) -> None:
    record_hit(
        kind,
        target,
        address=request.META.get(settings.TRACKING_CLIENT_IP_HEADER, ""),
        agent=request.META.get("HTTP_USER_AGENT", ""),
    )


@require_GET
def click(request: HttpRequest, token: str) -> HttpResponse:
    target = read_token(token)
    if target is None or target.link_number == OPEN:
        raise Http404("Unknown link.")
    url = _link_url(target.mailing_id, target.link_number)
    if url is None:
        raise Http404("Unknown link.")
    _record(request, Hit.Kind.CLICK, target)
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = NO_STORE
    # The token names the recipient: do not hand it to the site linked to.
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    target = read_token(token)
    if target is None or target.link_number != OPEN:
        raise Http404("Unknown image.")
    _record(request, Hit.Kind.OPEN, target)
    response = HttpResponse(GIF, content_type="image/gif")
    response["Cache-Control"] = NO_STORE
    response["Pragma"] = "no-cache"
    response["Expires"] = "0"
    return response


@login_required
@require_GET
def report(request: HttpRequest, pk: int) -> HttpResponse:
    mailing = mailing_for(scope_for(request.user), pk)
    return render(
        request, "tracking/report.html", {"mailing": mailing, "report": mailing_report(mailing)}
    )
