"""Phone banking pages: the phone campaigns a user calls for, and the caller's page.

Thin views over ``canvassing.calling``: the campaign loads through
``calling.phone_campaign_for`` (404 outside what the user sees), the next person comes
from ``next_call`` (one conditional UPDATE, never two callers on one person), the outcome
goes through ``record_call``. Every action is a POST that redirects back to the page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from campagne.accounts.scopes import Scope, scope_for
from campagne.canvassing import calling
from campagne.canvassing.models import CallTarget, FieldCampaign, Outcome

# Questionnaire keys whose answers are also the record's "issues that matter".
ISSUE_KEYS = frozenset({"issues", "sujets"})


class CallForm(forms.Form):
    """The outcome of a call, with the campaign's questionnaire."""

    outcome = forms.ChoiceField(label=gettext_lazy("Résultat"), choices=Outcome.choices)
    opinion_consent = forms.BooleanField(
        label=gettext_lazy("La personne accepte que son avis soit enregistré"), required=False
    )
    support = forms.TypedChoiceField(
        label=gettext_lazy("Soutien (1 : opposé, 5 : soutien fort)"),
        choices=[("", "—"), *[(str(n), str(n)) for n in range(1, 6)]],
        coerce=int,
        empty_value=None,
        required=False,
    )
    wants_to_volunteer = forms.BooleanField(
        label=gettext_lazy("Veut devenir militant"), required=False
    )
    wants_contact = forms.BooleanField(label=gettext_lazy("Veut être recontacté"), required=False)
    notes = forms.CharField(
        label=gettext_lazy("Notes"), required=False, max_length=2000, widget=forms.Textarea
    )

    def __init__(self, *args: Any, questionnaire: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questions = []
        for question in questionnaire or []:
            key, label = str(question.get("key", "")), str(question.get("label", ""))
            if not key:
                continue
            choices = [(str(c), str(c)) for c in question.get("choices") or []]
            kind = question.get("kind")
            field: forms.Field
            if kind == "multi":
                field = forms.MultipleChoiceField(
                    choices=choices, widget=forms.CheckboxSelectMultiple, required=False
                )
            elif kind == "choice":
                field = forms.ChoiceField(choices=[("", "—"), *choices], required=False)
            elif kind == "scale":
                field = forms.TypedChoiceField(
                    choices=[("", "—"), *[(str(n), str(n)) for n in range(1, 6)]],
                    coerce=int,
                    empty_value=None,
                    required=False,
                )
            else:
                field = forms.CharField(max_length=500, required=False)
            field.label = label or key
            self.fields[f"q_{key}"] = field
            self.questions.append(key)

    def answers(self) -> dict[str, Any]:
        values = {key: self.cleaned_data.get(f"q_{key}") for key in self.questions}
        return {key: value for key, value in values.items() if value not in (None, "", [])}

    def question_fields(self) -> list[forms.BoundField]:
        return [self[f"q_{key}"] for key in self.questions]


def _campaign(scope: Scope, pk: int) -> FieldCampaign:
    return calling.phone_campaign_for(scope, pk)


@login_required
@require_GET
def call_list(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    campaigns = calling.phone_campaigns_for(scope).filter(status=FieldCampaign.Status.ACTIVE)
    return render(request, "canvassing/calls/list.html", {"scope": scope, "campaigns": campaigns})


@login_required
@require_GET
def call_page(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    campaign = _campaign(scope, pk)
    target = calling.current_call(scope, campaign)
    form = CallForm(questionnaire=campaign.questionnaire) if target else None
    return _render_page(request, scope, campaign, target, form)


def _render_page(
    request: HttpRequest,
    scope: Scope,
    campaign: FieldCampaign,
    target: CallTarget | None,
    form: CallForm | None,
    status: int = 200,
) -> HttpResponse:
    can_manage = scope.can_manage_field and scope.field_campaigns().filter(pk=campaign.pk).exists()
    context = {
        "scope": scope,
        "campaign": campaign,
        "target": target,
        "form": form,
        "can_call": calling.can_call(scope, campaign),
        "can_manage": can_manage,
        "quiet": calling.is_quiet(campaign),
        "quiet_message": calling.quiet_message(campaign),
        "counts": calling.queue_counts(campaign, scope) if can_manage else None,
        "outcomes": Outcome.choices,
    }
    return render(request, "canvassing/calls/call.html", context, status=status)


@login_required
@require_POST
def call_next(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    campaign = _campaign(scope, pk)
    try:
        target = calling.next_call(scope, campaign)
    except calling.NotNow as exc:
        messages.warning(request, str(exc))
    else:
        if target is None:
            messages.info(request, _("Personne à appeler pour le moment : la file est vide."))
    return redirect("canvassing:calls", pk=campaign.pk)


@login_required
@require_POST
def call_record(request: HttpRequest, pk: int, target: int) -> HttpResponse:
    scope = scope_for(request.user)
    campaign = _campaign(scope, pk)
    call = calling.require_caller_target(scope, campaign, target)
    form = CallForm(request.POST, questionnaire=campaign.questionnaire)
    if not form.is_valid():
        return _render_page(request, scope, campaign, call, form, status=400)
    data = form.cleaned_data
    answers = form.answers()
    issues = next((answers[key] for key in answers if key in ISSUE_KEYS), [])
    try:
        calling.record_call(
            scope=scope,
            target=call,
            outcome=data["outcome"],
            opinion_consent=data["opinion_consent"],
            support=data["support"],
            issues=issues if isinstance(issues, list) else [issues],
            answers=answers,
            wants_to_volunteer=data["wants_to_volunteer"],
            wants_contact=data["wants_contact"],
            notes=data["notes"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("canvassing:calls", pk=campaign.pk)
    messages.success(request, _("Appel enregistré."))
    if request.POST.get("suivant"):
        return call_next(request, pk)
    return redirect("canvassing:calls", pk=campaign.pk)


@login_required
@require_POST
def call_skip(request: HttpRequest, pk: int, target: int) -> HttpResponse:
    scope = scope_for(request.user)
    campaign = _campaign(scope, pk)
    calling.release_call(scope, calling.require_caller_target(scope, campaign, target))
    messages.info(request, _("Personne remise dans la file, sans appel."))
    return redirect("canvassing:calls", pk=campaign.pk)


@login_required
@require_POST
def call_fill(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    campaign = _campaign(scope, pk)
    scope.require(
        scope.can_manage_field and scope.field_campaigns().filter(pk=campaign.pk).exists(),
        _("Votre rôle ne permet pas de remplir la file d'appels."),
    )
    try:
        added = calling.fill_call_queue(campaign)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("%(count)d personne(s) ajoutée(s) à la file d'appels.") % {"count": added}
        )
    return redirect("canvassing:calls", pk=campaign.pk)


urlpatterns = [
    path("appels/", call_list, name="call_list"),
    path("appels/<int:pk>/", call_page, name="calls"),
    path("appels/<int:pk>/suivant/", call_next, name="call_next"),
    path("appels/<int:pk>/remplir/", call_fill, name="call_fill"),
    path("appels/<int:pk>/appel/<int:target>/", call_record, name="call_record"),
    path("appels/<int:pk>/appel/<int:target>/passer/", call_skip, name="call_skip"),
]
