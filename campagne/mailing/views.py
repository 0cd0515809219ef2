"""Mailing pages: list, compose, preview and send (logged in); unsubscribe (public).

Thin views: mailings load through ``models.mailing_for`` (404 outside the user's
scope); writes go through ``actions`` (403 for roles that may not send).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from campagne.accounts.scopes import scope_for
from campagne.mailing import actions
from campagne.mailing.forms import MailingForm
from campagne.mailing.message import recipient_from_token
from campagne.mailing.models import Mailing, mailing_for
from campagne.mailing.rendering import ORIGIN, UNSUBSCRIBE, compile_mailing, person_merge


@login_required
@require_GET
def mailing_list(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    scope.require(scope.can_read_people)
    mailings = Mailing.objects.visible_to(scope).select_related("sender")
    context = {"mailings": mailings, "can_send": scope.can_send_mailings}
    return render(request, "mailing/list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def mailing_create(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    actions.require_send(scope)
    form = MailingForm(request.POST or None, scope=scope)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        mailing = actions.create_mailing(
            scope=scope,
            segments=data.pop("segments"),
            excluded_segments=data.pop("excluded_segments"),
            **data,
        )
        return redirect("mailing:detail", pk=mailing.pk)
    return render(request, "mailing/form.html", {"form": form})


@login_required
@require_GET
def mailing_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    mailing = mailing_for(scope, pk)
    person = None
    if request.GET.get("person"):
        person = scope.person(request.GET["person"])  # 404 outside the user's scope
    values = person_merge(person) if person else {}
    values = {**values, ORIGIN: values.get("origine", ""), UNSUBSCRIBE: "#"}
    subject, html, _text = compile_mailing(mailing).render(values)
    context = {
        "mailing": mailing,
        "counts": mailing.counts(),
        "preview_person": person,
        "preview_subject": subject,
        "preview_html": html,
        "can_send": scope.can_send_mailings and mailing.status == Mailing.Status.DRAFT,
    }
    return render(request, "mailing/detail.html", context)


@login_required
@require_POST
def mailing_send(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    mailing = mailing_for(scope, pk)
    try:
        result = actions.start_sending(scope=scope, mailing=mailing)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("Envoi lancé à %(count)d destinataires.") % {"count": result["recipients"]}
        )
    return redirect("mailing:detail", pk=mailing.pk)


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
