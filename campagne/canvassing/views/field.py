"""The volunteers' field app (/terrain/app/), and the organizers' review of what it sends.

The app is one page (the "shell") and a few JavaScript modules that work offline: a
service worker (served at /terrain/app/sw.js so that its scope is the app) keeps the
shell, the scripts, the assignment bundle and the map tiles already seen; doors and
reports are queued in IndexedDB and sent to the API (``api_field``) when the network is
back. The bundle (``bundle.json``) holds everything a session needs on the street: the
turf's addresses in walking order, the script, the questionnaire, the outcomes.

Organizers review the records the plausibility checks flagged (/terrain/verification/)
and read the volunteers' session reports (/terrain/comptes-rendus/).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_http_methods

from campagne.accounts.scopes import scope_for
from campagne.canvassing import plausibility, recording
from campagne.canvassing.models import Canvass, FieldCampaign, Outcome, Session, TurfStop

# The app's scripts, by name: the shell passes their (possibly hashed) URLs to app.js,
# which imports them, and the service worker caches the same URLs.
MODULES = ("app", "store", "sync", "map")
STYLES = ("canvassing/field/field.css", "leaflet/leaflet.css")
SCRIPTS = ("leaflet/leaflet.js",)
# Sessions shown in the app: open ones, and those that ended less than this ago (the
# volunteer may still send doors and a report).
RECENT_DAYS = 3


def _assets() -> dict[str, str]:
    urls = {name: static(f"canvassing/field/{name}.js") for name in MODULES}
    urls["leaflet"] = static("leaflet/leaflet.js")
    return urls


def _precache() -> list[str]:
    return [
        reverse("canvassing:field_app"),
        *_assets().values(),
        *(static(name) for name in STYLES),
    ]


def _strings() -> dict[str, str]:
    """What the app's scripts say, translated here (no catalogue in JavaScript)."""
    return {
        "pending_one": _("1 porte non envoyée"),
        "pending_many": _("%(count)s non envoyés"),
        "all_sent": _("Tout est envoyé"),
        "refused_many": _("%(count)s refusés par le serveur"),
        "offline": _("Hors ligne"),
        "online": _("En ligne"),
        "login_needed": _("Reconnectez-vous pour envoyer vos portes."),
        "no_sessions": _(
            "Aucune session prévue pour vous. Votre organisateur vous en attribuera une."
        ),
        "no_bundle": _("Ouvrez l'application une première fois avec du réseau."),
        "sessions": _("Mes sessions"),
        "back": _("Retour"),
        "script": _("Argumentaire"),
        "addresses": _("Adresses"),
        "map": _("Carte"),
        "doors": _("portes"),
        "door": _("Porte ou appartement (facultatif)"),
        "outcome": _("Résultat"),
        "questions": _("Questions (facultatif)"),
        "opinion_consent": _("La personne accepte que son avis soit enregistré"),
        "support": _("Soutien (1 = pas du tout, 5 = tout à fait)"),
        "wants_to_volunteer": _("Veut devenir militant·e"),
        "wants_contact": _("Veut être recontacté·e"),
        "first_name": _("Prénom"),
        "last_name": _("Nom"),
        "email": _("E-mail"),
        "phone": _("Téléphone"),
        "consent_text": _(
            "J'accepte que la campagne me recontacte et conserve ces coordonnées à cette fin."
        ),
        "consent_read": _("J'ai lu ce texte à la personne, qui l'accepte"),
        "notes": _("Notes"),
        "save": _("Enregistrer"),
        "saved": _("Porte enregistrée"),
        "next": _("Adresse suivante"),
        "report": _("Compte rendu de la session"),
        "heard": _("Ce que vous avez entendu"),
        "problems": _("Problèmes rencontrés"),
        "material": _("Matériel nécessaire"),
        "send": _("Envoyer"),
        "report_queued": _("Compte rendu enregistré ; il partira dès que possible."),
        "meeting": _("Rendez-vous"),
        "done": _("fait"),
        "sync_now": _("Envoyer maintenant"),
    }


@login_required
@ensure_csrf_cookie
@require_GET
def field_app(request: HttpRequest) -> HttpResponse:
    """The app's shell: the same HTML for every session, cached by the service worker."""
    context = {
        "assets": _assets(),
        "strings": _strings(),
        "config": {
            "bundle": reverse("canvassing:field_bundle"),
            "batch": "/api/v1/canvassing/canvasses/batch",
            "reports": "/api/v1/canvassing/reports",
            "worker": reverse("canvassing:field_sw"),
            "scope": reverse("canvassing:field_app"),
            "tiles": settings.MAP_TILES_URL,
            "attribution": settings.MAP_TILES_ATTRIBUTION,
        },
    }
    return render(request, "canvassing/field/app.html", context)


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, at the app's URL so that its scope is the app."""
    precache = _precache()
    tiles = settings.MAP_TILES_URL
    tile_origin = ""
    if tiles:
        parts = urlsplit(tiles)
        tile_origin = f"{parts.scheme}://{parts.netloc}"
    # A new version (new asset URLs, or a new release) replaces the old caches.
    version = hashlib.sha256(json.dumps(precache).encode()).hexdigest()[:12]
    config = {
        "version": version,
        "precache": precache,
        "shell": reverse("canvassing:field_app"),
        "bundle": reverse("canvassing:field_bundle"),
        "tile_origin": tile_origin,
    }
    context = {"config_json": json.dumps(config)}
    response = render(request, "canvassing/field/sw.js", context, content_type="text/javascript")
    response["Service-Worker-Allowed"] = reverse("canvassing:field_app")
    # Browsers check for a new worker on each visit; never serve them a stale one.
    response["Cache-Control"] = "no-cache"
    return response


def _stop_label(address: dict[str, Any]) -> str:
    number = f"{address['address__number'] or ''}{address['address__suffix'] or ''}"
    return " ".join(part for part in (number, address["address__street"]) if part)


@login_required
@never_cache
@require_GET
def bundle(request: HttpRequest) -> JsonResponse:
    """Everything the app needs offline for the user's current sessions."""
    scope = scope_for(request.user)
    since = timezone.now() - dt.timedelta(days=RECENT_DAYS)
    sessions = list(
        scope.sessions()
        .filter(
            Q(status__in=Session.OPEN_STATUSES) | Q(status=Session.Status.DONE, ends_at__gte=since)
        )
        .select_related("turf", "campaign")
        .order_by("starts_at", "id")[:20]
    )
    turf_ids = [s.turf_id for s in sessions]
    stops: dict[int, list[dict[str, Any]]] = {turf: [] for turf in turf_ids}
    for stop in (
        TurfStop.objects.filter(turf_id__in=turf_ids)
        .order_by("turf_id", "position", "id")
        .values(
            "turf_id",
            "address_id",
            "doors",
            "position",
            "address__number",
            "address__suffix",
            "address__street",
            "address__latitude",
            "address__longitude",
        )
    ):
        stops[stop["turf_id"]].append(
            {
                "address_id": stop["address_id"],
                "label": _stop_label(stop),
                "doors": stop["doors"],
                "lat": stop["address__latitude"],
                "lon": stop["address__longitude"],
            }
        )
    # Doors this user already recorded (from another phone too), latest first.
    done: dict[int, dict[str, str]] = {}
    for session_id, address_id, door, outcome in (
        Canvass.objects.filter(session__in=[s.pk for s in sessions], volunteer=request.user)
        .order_by("recorded_at")
        .values_list("session_id", "address_id", "door", "outcome")
    ):
        done.setdefault(session_id, {})[f"{address_id}|{door}"] = outcome
    payload = {
        "user": request.user.pk,
        "generated_at": timezone.now().isoformat(),
        "outcomes": [{"value": value, "label": str(label)} for value, label in Outcome.choices],
        "conversation": ["positive", "negative", "undecided"],
        "sessions": [
            {
                "id": s.pk,
                "campaign": s.campaign.name,
                "turf": str(s.turf),
                "turf_id": s.turf_id,
                "status": s.status,
                "starts_at": s.starts_at.isoformat(),
                "ends_at": s.ends_at.isoformat(),
                "meeting": s.meeting_label or s.turf.meeting_label,
                "meeting_lat": s.meeting_latitude or s.turf.meeting_latitude,
                "meeting_lon": s.meeting_longitude or s.turf.meeting_longitude,
                "script": s.campaign.script,
                "questionnaire": s.campaign.questionnaire,
                "stops": stops[s.turf_id],
                "done": done.get(s.pk, {}),
            }
            for s in sessions
        ],
    }
    return JsonResponse(payload)


# --- organizers: review and reports -----------------------------------------------------


def _describe(flags: list[dict[str, Any]]) -> list[str]:
    texts = {
        "rate": lambda f: _("%(count)s portes en une minute (maximum %(limit)s)") % f,
        "one_spot": lambda f: _("%(doors)s portes notées dans un rayon de %(metres)s m") % f,
        "ratio": lambda f: (
            (
                _("taux d'ouverture de %(value)s %% (campagne : %(expected)s %%)")
                if f.get("rate") == "open"
                else _("taux de positifs de %(value)s %% (campagne : %(expected)s %%)")
            )
            % {"value": round(100 * f["value"]), "expected": round(100 * f["expected"])}
        ),
    }
    return [texts[f["check"]](f) if f.get("check") in texts else str(f) for f in flags]


@login_required
@require_http_methods(["GET", "POST"])
def review(request: HttpRequest) -> HttpResponse:
    """Flagged records of the organizer's territory: accept (they count) or reject."""
    scope = scope_for(request.user)
    if not scope.can_read_field:
        raise Http404("No such page.")
    if request.method == "POST":
        if not scope.can_manage_field:
            raise PermissionDenied(_("Votre rôle ne permet pas de vérifier les portes."))
        ids = [int(pk) for pk in request.POST.getlist("ids") if pk.isdigit()]
        accept = request.POST.get("decision") == "accept"
        count = recording.review_canvasses(scope=scope, ids=ids, accept=accept)
        message = (
            _("%(count)s porte(s) validée(s).") if accept else _("%(count)s porte(s) écartée(s).")
        )
        messages.success(request, message % {"count": count})
        return redirect(request.get_full_path())
    campaigns = scope.field_campaigns().filter(status=FieldCampaign.Status.ACTIVE)
    for campaign_id in campaigns.values_list("pk", flat=True)[:50]:
        plausibility.check_outcome_ratios(campaign_id)
    flagged = (
        scope.canvasses()
        .filter(review=Canvass.Review.FLAGGED)
        .select_related("volunteer", "turf", "campaign")
        .order_by("volunteer_id", "recorded_at", "id")
    )
    page = Paginator(flagged, 100).get_page(request.GET.get("page"))
    rows = [(canvass, _describe(canvass.flags)) for canvass in page]
    context = {"page": page, "rows": rows, "can_review": scope.can_manage_field}
    return render(request, "canvassing/field/review.html", context)


@login_required
@require_GET
def reports(request: HttpRequest) -> HttpResponse:
    """The volunteers' session reports, for the organizers of their territory."""
    scope = scope_for(request.user)
    if not scope.can_read_field:
        raise Http404("No such page.")
    found = recording.reports_for(scope).order_by("-created_at", "-id")
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    return render(request, "canvassing/field/reports.html", {"page": page})


urlpatterns = [
    path("app/", field_app, name="field_app"),
    path("app/sw.js", service_worker, name="field_sw"),
    path("app/bundle.json", bundle, name="field_bundle"),
    path("verification/", review, name="review"),
    path("comptes-rendus/", reports, name="reports"),
]
