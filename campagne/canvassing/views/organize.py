"""Organizers' pages: field campaigns, turf cutting and adjustment, turfs and their walk
sheets, sessions; and the volunteers' list of their sessions and of turfs to claim.

Thin views: campaigns and turfs load through ``actions.campaign_for`` / ``turf_for`` (404
outside the scope, and for volunteers, who have the field app), writes go through
``canvassing.actions`` (403 for a read-only role, nothing changed). Every form works
without JavaScript; the map page adds selection of addresses on a Leaflet map.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from campagne.accounts.scopes import Scope, scope_for
from campagne.canvassing import actions, walksheet
from campagne.canvassing.models import (
    Channel,
    CutStatus,
    FieldCampaign,
    Session,
    Team,
    Turf,
    TurfStop,
)
from campagne.elections.models import PollingStation
from campagne.targeting.models import TargetingProfile
from campagne.territory.models import Departement

_CODES_SPLIT = re.compile(r"[\s,;]+")


def _reader(request: HttpRequest) -> Scope:
    """Organizers' pages: 404 for whoever does not read field work (volunteers)."""
    scope = scope_for(request.user)
    if not scope.can_read_field:
        raise Http404("No such page.")
    return scope


def _apply_errors(form: forms.Form, exc: ValidationError, renames: dict[str, str]) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        name = renames.get(field, field)
        form.add_error(name if name in form.fields else None, errors)


def _error_message(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


# --- forms ----------------------------------------------------------------------------------
class DateInput(forms.DateInput):
    input_type = "date"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, dt.datetime):
            if timezone.is_aware(value):
                value = timezone.localtime(value)
            return value.strftime("%Y-%m-%dT%H:%M")
        return super().format_value(value)


class CampaignForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Nom"), max_length=150)
    channel = forms.ChoiceField(label=gettext_lazy("Type"), choices=Channel.choices)
    status = forms.ChoiceField(label=gettext_lazy("État"), choices=FieldCampaign.Status.choices)
    starts_on = forms.DateField(label=gettext_lazy("Début"), required=False, widget=DateInput)
    ends_on = forms.DateField(label=gettext_lazy("Fin"), required=False, widget=DateInput)
    departement = forms.ModelChoiceField(
        label=gettext_lazy("Département"), queryset=Departement.objects.none(), required=False
    )
    station_codes = forms.CharField(
        label=gettext_lazy("Bureaux de vote (codes)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Codes « INSEE_numéro » (04070_0001), séparés par des espaces."),
    )
    targeting_profile = forms.ModelChoiceField(
        label=gettext_lazy("Ajouter les bureaux prioritaires du profil"),
        queryset=TargetingProfile.objects.none(),
        required=False,
    )
    top_count = forms.IntegerField(
        label=gettext_lazy("Combien de bureaux prioritaires"),
        min_value=0,
        max_value=300,
        required=False,
        initial=10,
    )
    commune_code = forms.CharField(
        label=gettext_lazy("Ajouter tous les bureaux d'une commune (code INSEE)"),
        required=False,
        max_length=5,
    )
    script = forms.CharField(
        label=gettext_lazy("Argumentaire (Markdown)"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    goal_doors = forms.IntegerField(label=gettext_lazy("Objectif de portes"), min_value=0)
    goal_conversations = forms.IntegerField(
        label=gettext_lazy("Objectif de conversations"), min_value=0
    )
    target_turf_doors = forms.IntegerField(
        label=gettext_lazy("Portes par secteur"),
        min_value=5,
        max_value=500,
        help_text=gettext_lazy("40 à 80 portes font environ deux heures de porte-à-porte."),
    )
    allow_claim = forms.BooleanField(
        label=gettext_lazy("Les militants peuvent choisir eux-mêmes un secteur libre"),
        required=False,
    )
    teams = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Équipes"),
        queryset=Team.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope
        self.fields["departement"].queryset = actions.departements_in_scope(scope)
        self.fields["targeting_profile"].queryset = TargetingProfile.objects.visible_to(scope)
        self.fields["teams"].queryset = actions.teams_in_scope(scope)

    @staticmethod
    def initial_for(campaign: FieldCampaign) -> dict[str, Any]:
        initial = {name: getattr(campaign, name) for name in actions.CAMPAIGN_FIELDS}
        initial["station_codes"] = " ".join(campaign.stations.values_list("pk", flat=True))
        initial["teams"] = list(campaign.teams.all())
        initial["top_count"] = 0
        return initial

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        codes = [c for c in _CODES_SPLIT.split(data.get("station_codes") or "") if c]
        found = {s.pk: s for s in PollingStation.objects.filter(pk__in=codes)}
        unknown = [code for code in codes if code not in found]
        if unknown:
            self.add_error(
                "station_codes",
                _("Bureaux inconnus : %(codes)s") % {"codes": ", ".join(unknown[:20])},
            )
        stations = dict(found)
        profile, count = data.get("targeting_profile"), data.get("top_count") or 0
        if profile is not None and count:
            stations.update((s.pk, s) for s in actions.top_stations(self.scope, profile, count))
        if data.get("commune_code"):
            extra = actions.commune_stations(self.scope, data["commune_code"])
            if not extra:
                self.add_error("commune_code", _("Aucun bureau de vote connu dans cette commune."))
            stations.update((s.pk, s) for s in extra)
        data["stations"] = sorted(stations.values(), key=lambda s: s.pk)
        return data

    def action_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        fields = {name: data.get(name) for name in actions.CAMPAIGN_FIELDS if name in data}
        fields["stations"] = data["stations"]
        fields["teams"] = list(data.get("teams") or [])
        return fields


class QuestionForm(forms.Form):
    label = forms.CharField(label=gettext_lazy("Question"), max_length=300, required=False)
    kind = forms.ChoiceField(
        label=gettext_lazy("Type de réponse"),
        choices=[
            ("choice", gettext_lazy("Un choix")),
            ("multi", gettext_lazy("Plusieurs choix")),
            ("scale", gettext_lazy("Échelle de 1 à 5")),
            ("text", gettext_lazy("Texte libre")),
        ],
    )
    choices = forms.CharField(
        label=gettext_lazy("Réponses possibles (une par ligne)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def as_question(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "label": data.get("label", ""),
            "kind": data.get("kind", "text"),
            "choices": [line.strip() for line in (data.get("choices") or "").splitlines()],
        }


QuestionFormSet = forms.formset_factory(QuestionForm, extra=2, can_delete=True, max_num=30)


def _questions_initial(campaign: FieldCampaign | None) -> list[dict[str, Any]]:
    if campaign is None:
        return []
    return [
        {"label": q.get("label"), "kind": q.get("kind"), "choices": "\n".join(q.get("choices", []))}
        for q in campaign.questionnaire
    ]


class SessionForm(forms.Form):
    volunteer = forms.ModelChoiceField(
        label=gettext_lazy("Militant"), queryset=Team.objects.none(), required=False
    )
    team = forms.ModelChoiceField(
        label=gettext_lazy("ou équipe"), queryset=Team.objects.none(), required=False
    )
    starts_at = forms.DateTimeField(label=gettext_lazy("Début"), widget=DateTimeInput)
    ends_at = forms.DateTimeField(label=gettext_lazy("Fin"), widget=DateTimeInput)
    meeting_label = forms.CharField(
        label=gettext_lazy("Point de rendez-vous"), max_length=200, required=False
    )

    def __init__(self, *args: Any, scope: Scope, turf: Turf, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["volunteer"].queryset = actions.assignable_volunteers(scope, turf).order_by(
            "last_name", "first_name", "email"
        )
        self.fields["volunteer"].label_from_instance = lambda user: (
            f"{user.get_full_name() or user.email} ({user.email})"
        )
        self.fields["team"].queryset = actions.teams_in_scope(scope)


# --- campaigns ------------------------------------------------------------------------------
@login_required
@require_GET
def campaign_list(request: HttpRequest) -> HttpResponse:
    scope = _reader(request)
    campaigns = (
        scope.field_campaigns()
        .select_related("departement")
        .annotate(
            turf_count=Count("turfs", distinct=True),
            station_count=Count("stations", distinct=True),
        )
    )
    return render(
        request,
        "canvassing/organize/campaign_list.html",
        {"campaigns": campaigns, "can_manage": scope.can_manage_field},
    )


def _campaign_form_page(
    request: HttpRequest, scope: Scope, campaign: FieldCampaign | None
) -> HttpResponse:
    initial = CampaignForm.initial_for(campaign) if campaign else {}
    if not campaign:
        initial = {"goal_doors": 0, "goal_conversations": 0, "target_turf_doors": 60}
    if request.method == "POST":
        form = CampaignForm(request.POST, scope=scope, initial=initial)
        questions = QuestionFormSet(request.POST, prefix="q")
        if form.is_valid() and questions.is_valid():
            fields = form.action_fields()
            fields["questionnaire"] = [
                q.as_question()
                for q in questions.forms
                if q.cleaned_data and not q.cleaned_data.get("DELETE")
            ]
            try:
                if campaign is None:
                    campaign = actions.create_campaign(scope=scope, **fields)
                else:
                    actions.update_campaign(scope=scope, campaign=campaign, **fields)
            except ValidationError as exc:
                _apply_errors(form, exc, {"stations": "station_codes"})
            else:
                messages.success(request, _("Campagne enregistrée."))
                return redirect("canvassing:campaign", pk=campaign.pk)
    else:
        form = CampaignForm(scope=scope, initial=initial)
        questions = QuestionFormSet(prefix="q", initial=_questions_initial(campaign))
    invalid = bool(form.errors) or any(questions.errors)
    return render(
        request,
        "canvassing/organize/campaign_form.html",
        {"form": form, "questions": questions, "campaign": campaign},
        status=400 if invalid else 200,
    )


@login_required
def campaign_create(request: HttpRequest) -> HttpResponse:
    scope = _reader(request)
    actions.require_manager(scope)
    return _campaign_form_page(request, scope, None)


@login_required
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _reader(request)
    return _campaign_form_page(request, scope, actions.campaign_for_write(scope, pk))


def _campaign_turfs(scope: Scope, campaign: FieldCampaign) -> Any:
    open_sessions = Session.objects.filter(status__in=Session.OPEN_STATUSES).select_related(
        "volunteer", "team"
    )
    return (
        scope.turfs()
        .filter(campaign=campaign)
        .select_related("station", "commune")
        .prefetch_related(Prefetch("sessions", queryset=open_sessions, to_attr="open_sessions"))
    )


@login_required
@require_GET
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _reader(request)
    campaign = actions.campaign_for(scope, pk)
    turfs = list(_campaign_turfs(scope, campaign))
    sessions = (
        scope.sessions()
        .filter(campaign=campaign)
        .select_related("turf", "volunteer", "team")
        .order_by("-starts_at", "-id")[:100]
    )
    context = {
        "campaign": campaign,
        "stations": campaign.stations.select_related("commune"),
        "turfs": turfs,
        "sessions": sessions,
        "totals": {
            "households": sum(t.households for t in turfs),
            "doors": sum(t.doors for t in turfs),
        },
        "can_manage": scope.can_manage_field,
        "cut_busy": campaign.cut_status in (CutStatus.QUEUED, CutStatus.RUNNING),
    }
    if getattr(request, "htmx", None) and request.GET.get("part") == "cut":
        return render(request, "canvassing/organize/campaign_detail.html#cut", context)
    return render(request, "canvassing/organize/campaign_detail.html", context)


@login_required
@require_POST
def campaign_cut(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _reader(request)
    campaign = actions.campaign_for_write(scope, pk)
    try:
        result = actions.cut_campaign(scope=scope, campaign=campaign)
    except ValidationError as exc:
        _error_message(request, exc)
    else:
        if result.queued:
            messages.success(request, _("Découpage lancé : la page suit son avancement."))
        else:
            messages.success(
                request,
                _("%(turfs)s secteurs créés (%(households)s foyers), %(kept)s conservés.")
                % {"turfs": result.turfs, "households": result.households, "kept": result.kept},
            )
    return redirect("canvassing:campaign", pk=campaign.pk)


# --- the map and hand adjustments -----------------------------------------------------------
@login_required
@require_GET
def campaign_map(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _reader(request)
    campaign = actions.campaign_for(scope, pk)
    turfs = scope.turfs().filter(campaign=campaign).order_by("number")
    return render(
        request,
        "canvassing/organize/campaign_map.html",
        {
            "campaign": campaign,
            "turfs": turfs,
            "can_manage": scope.can_manage_field,
            "tiles_url": settings.MAP_TILES_URL,
            "tiles_attribution": settings.MAP_TILES_ATTRIBUTION,
        },
    )


def turf_features(turfs: Any) -> list[dict[str, Any]]:
    """Turfs with their stops in walking order, as the map script and the API read them."""
    stops = TurfStop.objects.select_related("address").order_by("position", "id")
    rows = []
    for turf in turfs.prefetch_related(Prefetch("stops", queryset=stops)):
        rows.append(
            {
                "id": turf.pk,
                "number": turf.number,
                "label": str(turf),
                "status": turf.status,
                "households": turf.households,
                "doors": turf.doors,
                "route_metres": turf.route_metres,
                "meeting": [turf.meeting_latitude, turf.meeting_longitude]
                if turf.meeting_latitude is not None
                else None,
                "url": reverse("canvassing:turf", args=[turf.pk]),
                "stops": [
                    {
                        "address": stop.address_id,
                        "position": stop.position + 1,
                        "label": str(stop.address),
                        "doors": stop.doors,
                        "lat": stop.address.latitude,
                        "lon": stop.address.longitude,
                    }
                    for stop in turf.stops.all()
                ],
            }
        )
    return rows


@login_required
@require_GET
def campaign_map_data(request: HttpRequest, pk: int) -> JsonResponse:
    scope = _reader(request)
    campaign = actions.campaign_for(scope, pk)
    turfs = scope.turfs().filter(campaign=campaign).order_by("number")
    return JsonResponse({"turfs": turf_features(turfs)})


def _back_to_map(campaign: FieldCampaign) -> HttpResponse:
    return redirect("canvassing:campaign_map", pk=campaign.pk)


@login_required
@require_POST
def turfs_move(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _reader(request)
    campaign = actions.campaign_for(scope, pk)
    actions.require_manager(scope)
    try:
        ids = [int(v) for v in request.POST.getlist("address") if v.strip()]
        target = int(request.POST.get("target", ""))
    except ValueError:
        messages.error(request, _("Choisissez des adresses et un secteur de destination."))
        return _back_to_map(campaign)
    try:
        turf = actions.move_stops(scope=scope, campaign=campaign, address_ids=ids, target=target)
    except ValidationError as exc:
        _error_message(request, exc)
    else:
        messages.success(
            request,
            _("%(count)s adresses déplacées vers %(turf)s.") % {"count": len(ids), "turf": turf},
        )
    return _back_to_map(campaign)


@login_required
@require_POST
def turf_split(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _reader(request)
    turf = actions.turf_for_write(scope, pk)
    try:
        second = actions.split_turf(scope=scope, turf=turf)
    except ValidationError as exc:
        _error_message(request, exc)
    else:
        messages.success(
            request, _("%(turf)s divisé : %(new)s créé.") % {"turf": turf, "new": second}
        )
    return _back_to_map(turf.campaign)


@login_required
@require_POST
def turfs_merge(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _reader(request)
    turf = actions.turf_for_write(scope, request.POST.get("turf"))
    if turf.campaign_id != pk:
        raise Http404("No such turf.")
    try:
        kept = actions.merge_turfs(scope=scope, turf=turf, other=request.POST.get("other", ""))
    except (ValidationError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            _error_message(request, exc)
        else:
            messages.error(request, _("Choisissez deux secteurs différents."))
    else:
        messages.success(request, _("Secteurs fusionnés dans %(turf)s.") % {"turf": kept})
    return _back_to_map(turf.campaign)


# --- a turf, its walk sheet, its sessions ---------------------------------------------------
@login_required
@require_GET
def turf_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _reader(request)
    turf = actions.turf_for(scope, pk)
    stops = turf.stops.select_related("address").order_by("position", "id")
    sessions = turf.sessions.select_related("volunteer", "team").order_by("-starts_at", "-id")
    return render(
        request,
        "canvassing/organize/turf_detail.html",
        {
            "turf": turf,
            "campaign": turf.campaign,
            "stops": stops,
            "sessions": sessions,
            "features": turf_features(Turf.objects.filter(pk=turf.pk)),
            "can_manage": scope.can_manage_field,
            "tiles_url": settings.MAP_TILES_URL,
            "tiles_attribution": settings.MAP_TILES_ATTRIBUTION,
        },
    )


@login_required
@require_GET
def turf_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _reader(request)
    turf = actions.turf_for(scope, pk)
    response = HttpResponse(walksheet.render_pdf(turf), content_type="application/pdf")
    name = f"secteur-{turf.campaign_id}-{turf.number}.pdf"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@login_required
def session_create(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _reader(request)
    turf = actions.turf_for_write(scope, pk)
    start = timezone.localtime().replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    initial = {
        "starts_at": start,
        "ends_at": start + dt.timedelta(hours=actions.DEFAULT_SESSION_HOURS),
        "meeting_label": turf.meeting_label,
    }
    form = SessionForm(request.POST or None, scope=scope, turf=turf, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.create_session(
                scope=scope,
                turf=turf,
                volunteer=data["volunteer"],
                team=data["team"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                meeting_label=data["meeting_label"],
            )
        except ValidationError as exc:
            _apply_errors(form, exc, {})
        else:
            messages.success(request, _("Session enregistrée."))
            return redirect("canvassing:turf", pk=turf.pk)
    return render(
        request,
        "canvassing/organize/session_form.html",
        {"form": form, "turf": turf, "campaign": turf.campaign},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def session_status(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _reader(request)
    session = actions.session_for_write(scope, pk)
    try:
        actions.set_session_status(
            scope=scope, session=session, status=request.POST.get("status", "")
        )
    except ValidationError as exc:
        _error_message(request, exc)
    else:
        messages.success(request, _("Session mise à jour."))
    return redirect("canvassing:turf", pk=session.turf_id)


# --- volunteers: their sessions, turfs to claim ---------------------------------------------
@login_required
@require_GET
def my_sessions(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    claimable = (
        scope.claimable_turfs()
        .select_related("campaign", "commune", "station")
        .order_by("campaign", "number")[:200]
    )
    return render(
        request,
        "canvassing/organize/my_sessions.html",
        {"sessions": actions.my_sessions(scope)[:100], "claimable": claimable},
    )


@login_required
@require_POST
def turf_claim(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    try:
        session = actions.claim_turf(scope=scope, turf_id=pk)
    except ValidationError as exc:
        _error_message(request, exc)
    else:
        messages.success(
            request, _("Le %(turf)s est à vous : bon porte-à-porte !") % {"turf": session.turf}
        )
    return redirect("canvassing:my_sessions")


urlpatterns = [
    path("campagnes/", campaign_list, name="campaigns"),
    path("campagnes/nouvelle/", campaign_create, name="campaign_create"),
    path("campagnes/<int:pk>/", campaign_detail, name="campaign"),
    path("campagnes/<int:pk>/modifier/", campaign_edit, name="campaign_edit"),
    path("campagnes/<int:pk>/decouper/", campaign_cut, name="campaign_cut"),
    path("campagnes/<int:pk>/carte/", campaign_map, name="campaign_map"),
    path("campagnes/<int:pk>/carte.json", campaign_map_data, name="campaign_map_data"),
    path("campagnes/<int:pk>/deplacer/", turfs_move, name="turfs_move"),
    path("campagnes/<int:pk>/fusionner/", turfs_merge, name="turfs_merge"),
    path("secteurs/<int:pk>/", turf_detail, name="turf"),
    path("secteurs/<int:pk>/diviser/", turf_split, name="turf_split"),
    path("secteurs/<int:pk>/feuille.pdf", turf_sheet, name="turf_sheet"),
    path("secteurs/<int:pk>/session/", session_create, name="session_create"),
    path("secteurs/<int:pk>/prendre/", turf_claim, name="turf_claim"),
    path("sessions/<int:pk>/etat/", session_status, name="session_status"),
    path("mes-sessions/", my_sessions, name="my_sessions"),
]
