"""Mailing pages: list, compose, review, schedule and send (logged in); unsubscribe
(public); the senders and the approval setting (HQ).

Thin views: mailings load through ``models.mailing_for`` (404 outside the user's
scope); writes go through the actions modules (403 for roles that may not do them).
"""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from campagne.accounts.scopes import Scope, scope_for
from campagne.mailing import actions, approval, composing, scheduling
from campagne.mailing.forms import (
    MailingForm,
    MailingSettingsForm,
    ReviewForm,
    ScheduleForm,
    SenderForm,
)
from campagne.mailing.message import recipient_from_token
from campagne.mailing.models import Approval, Mailing, MailingSettings, Sender, mailing_for
from campagne.mailing.rendering import ORIGIN, UNSUBSCRIBE, compile_mailing, person_merge

ACTIVE = (Mailing.Status.SENDING, Mailing.Status.PAUSED)


@login_required
@require_GET
def mailing_list(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    scope.require(scope.can_read_people)
    mailings = Mailing.objects.visible_to(scope).select_related("sender")
    to_review = request.GET.get("validation") == Approval.SUBMITTED
    if to_review:
        mailings = mailings.filter(approval=Approval.SUBMITTED)
    context = {
        "mailings": mailings,
        "can_send": scope.can_send_mailings,
        "is_hq": scope.is_hq,
        "is_admin": scope.is_admin,
        "to_review": to_review,
        "submitted": Approval.SUBMITTED,
    }
    return render(request, "mailing/list.html", context)


def _save_mailing(request: HttpRequest, scope: Scope, mailing: Mailing | None) -> HttpResponse:
    form = MailingForm(request.POST or None, instance=mailing, scope=scope)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        segments, excluded = data.pop("segments"), data.pop("excluded_segments")
        try:
            if mailing is None:
                mailing = actions.create_mailing(
                    scope=scope, segments=segments, excluded_segments=excluded, **data
                )
            else:
                composing.update_mailing(
                    scope=scope,
                    mailing=mailing,
                    segments=segments,
                    excluded_segments=excluded,
                    **data,
                )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            return redirect("mailing:detail", pk=mailing.pk)
    return render(request, "mailing/form.html", {"form": form, "mailing": mailing})


@login_required
@require_http_methods(["GET", "POST"])
def mailing_create(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    actions.require_send(scope)
    return _save_mailing(request, scope, None)


@login_required
@require_http_methods(["GET", "POST"])
def mailing_edit(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    mailing = mailing_for(scope, pk)
    actions.require_send(scope)
    if mailing.status not in (Mailing.Status.DRAFT, Mailing.Status.SCHEDULED):
        messages.error(request, _("Cet envoi a déjà commencé : il ne peut plus être modifié."))
        return redirect("mailing:detail", pk=mailing.pk)
    return _save_mailing(request, scope, mailing)


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
    compiled = compile_mailing(mailing)
    subject, html, _text = compiled.render(values)
    writer = scope.can_send_mailings
    draft = mailing.status == Mailing.Status.DRAFT
    needs_approval = approval.needs_approval(mailing)
    cleared = not needs_approval or mailing.approval == Approval.APPROVED
    context = {
        "mailing": mailing,
        "counts": mailing.counts(),
        "preview_person": person,
        "preview_subject": subject,
        "preview_subject_b": compiled.render(values, variant="B")[0] if mailing.subject_b else "",
        "preview_html": html,
        "needs_approval": needs_approval,
        "can_send": writer and draft and cleared,
        "can_edit": writer and mailing.status in (Mailing.Status.DRAFT, Mailing.Status.SCHEDULED),
        "can_submit": writer
        and draft
        and needs_approval
        and mailing.approval in (Approval.NONE, Approval.REJECTED),
        "can_review": scope.is_admin and draft and mailing.approval == Approval.SUBMITTED,
        "can_unschedule": writer and mailing.status == Mailing.Status.SCHEDULED,
        "can_pause": writer and mailing.status == Mailing.Status.SENDING,
        "can_resume": writer and mailing.status == Mailing.Status.PAUSED,
        "can_cancel": writer
        and mailing.status not in (Mailing.Status.SENT, Mailing.Status.CANCELLED),
        "schedule_form": ScheduleForm(initial={"scheduled_at": mailing.scheduled_at}),
        "review_form": ReviewForm(),
    }
    return render(request, "mailing/detail.html", context)


def _act(
    request: HttpRequest, pk: int, verb: Callable[[Scope, Mailing], str | None]
) -> HttpResponse:
    """Load in scope (404), run the verb (403 from the action), flash its outcome."""
    scope = scope_for(request.user)
    mailing = mailing_for(scope, pk)
    try:
        done = verb(scope, mailing)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if done:
            messages.success(request, done)
    return redirect("mailing:detail", pk=mailing.pk)


@login_required
@require_POST
def mailing_send(request: HttpRequest, pk: int) -> HttpResponse:
    def send(scope: Scope, mailing: Mailing) -> str:
        result = actions.start_sending(scope=scope, mailing=mailing)
        return _("Envoi lancé à %(count)d destinataires.") % {"count": result["recipients"]}

    return _act(request, pk, send)


@login_required
@require_POST
def mailing_submit(request: HttpRequest, pk: int) -> HttpResponse:
    def submit(scope: Scope, mailing: Mailing) -> str:
        approval.submit(scope=scope, mailing=mailing)
        return _("E-mail soumis à la validation du QG.")

    return _act(request, pk, submit)


@login_required
@require_POST
def mailing_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or reject (``decision``), with a comment (required to reject)."""
    form = ReviewForm(request.POST)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    decision = request.POST.get("decision")

    def review(scope: Scope, mailing: Mailing) -> str:
        if decision == "approve":
            approval.approve(scope=scope, mailing=mailing, comment=comment)
            return _("E-mail validé : son auteur peut l'envoyer.")
        if decision == "reject":
            approval.reject(scope=scope, mailing=mailing, comment=comment)
            return _("E-mail refusé : son auteur verra votre commentaire.")
        raise ValidationError(_("Choisissez de valider ou de refuser."))

    return _act(request, pk, review)


@login_required
@require_POST
def mailing_schedule(request: HttpRequest, pk: int) -> HttpResponse:
    form = ScheduleForm(request.POST)

    def plan(scope: Scope, mailing: Mailing) -> str:
        if not form.is_valid():
            raise ValidationError([e for errors in form.errors.values() for e in errors])
        scheduling.schedule(scope=scope, mailing=mailing, at=form.cleaned_data["scheduled_at"])
        return _("Envoi programmé.")

    return _act(request, pk, plan)


def _simple(verb: Callable[..., Any], message: Any) -> Callable[..., HttpResponse]:
    @login_required
    @require_POST
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        def run(scope: Scope, mailing: Mailing) -> str:
            verb(scope=scope, mailing=mailing)
            return str(message)

        return _act(request, pk, run)

    return view


mailing_unschedule = _simple(
    scheduling.unschedule, gettext_lazy("Programmation annulée : retour au brouillon.")
)
mailing_pause = _simple(actions.pause_sending, gettext_lazy("Envoi mis en pause."))
mailing_resume = _simple(actions.resume_paused, gettext_lazy("Envoi repris."))
mailing_cancel = _simple(actions.cancel_sending, gettext_lazy("Envoi annulé."))


@login_required
@require_http_methods(["GET", "POST"])
def mailing_settings(request: HttpRequest) -> HttpResponse:
    """HQ sees the setting; only an HQ admin changes it."""
    scope = scope_for(request.user)
    scope.require(scope.is_hq)
    current = MailingSettings.current()
    form = MailingSettingsForm(request.POST or None, instance=current)
    if request.method == "POST":
        approval.require_admin(scope)
        if form.is_valid():
            approval.set_approval_required(
                scope=scope, required=form.cleaned_data["approval_required"]
            )
            messages.success(request, _("Réglages enregistrés."))
            return redirect("mailing:settings")
    context = {"form": form, "settings": current, "can_edit": scope.is_admin}
    return render(request, "mailing/settings.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def sender_list(request: HttpRequest) -> HttpResponse:
    """HQ sees the senders; an HQ admin adds them (not validated until they say so)."""
    scope = scope_for(request.user)
    scope.require(scope.is_hq)
    form = SenderForm(request.POST or None)
    if request.method == "POST":
        approval.require_admin(scope)
        if form.is_valid():
            composing.create_sender(scope=scope, **form.cleaned_data)
            messages.success(request, _("Expéditeur ajouté : validez-le pour qu'il serve."))
            return redirect("mailing:senders")
    context = {
        "senders": Sender.objects.select_related("validated_by"),
        "form": form,
        "can_edit": scope.is_admin,
    }
    return render(request, "mailing/senders.html", context)


@login_required
@require_POST
def sender_validate(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    scope.require(scope.is_hq)
    sender = get_object_or_404(Sender, pk=pk)
    validated = request.POST.get("validated") == "1"
    composing.set_sender_validated(scope=scope, sender=sender, validated=validated)
    if validated:
        messages.success(request, _("Expéditeur validé."))
    else:
        messages.success(request, _("Validation retirée."))
    return redirect("mailing:senders")


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
