"""Targeting pages: profiles, a profile's ranked stations with their map, a station's page,
the priority list export and the attachment of people to stations.

Thin views: profiles load through ``models.profile_for`` (404 when not visible,
``profile_for_write`` 403 for a read-only role), stations and scores through the user's
scope (``scope.filter_by_commune``), writes go through ``targeting.actions``. The ranked
table answers htmx with its fragment; every form works without JavaScript.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from campagne.accounts.scopes import Scope, scope_for
from campagne.demo.models import DemoLoad
from campagne.elections.models import StationResult
from campagne.people.models import Person
from campagne.targeting import actions, exports
from campagne.targeting.charts import result_chart
from campagne.targeting.filters import StationFilters, with_people_counts
from campagne.targeting.forms import ProfileForm, StationFilterForm
from campagne.targeting.geojson import feature_collection, station_feature
from campagne.targeting.models import (
    PARTS,
    MatchMethod,
    PersonStation,
    StationScore,
    TargetingProfile,
    can_create_profiles,
    can_edit_profile,
    can_read_targeting,
    profile_for,
    profile_for_write,
    station_for,
)

PAGE_SIZE = 50
ADDRESSES_SHOWN = 100
PEOPLE_SHOWN = 50


def _reader(request: HttpRequest) -> Scope:
    scope = scope_for(request.user)
    scope.require(can_read_targeting(scope), _("Votre rôle ne donne pas accès au ciblage."))
    return scope


def _is_fragment_request(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def _page_settings() -> dict[str, Any]:
    """The map's tiles, and whether to say which data the demo generated."""
    return {
        "tiles_url": settings.MAP_TILES_URL,
        "tiles_attribution": settings.MAP_TILES_ATTRIBUTION,
        "demo_loaded": DemoLoad.objects.exists(),
    }


# --- profiles -----------------------------------------------------------------------------


@login_required
@require_GET
def profile_list(request: HttpRequest) -> HttpResponse:
    scope = _reader(request)
    profiles = (
        TargetingProfile.objects.visible_to(scope)
        .select_related("owner")
        .prefetch_related("elections")
    )
    return render(
        request,
        "targeting/profile_list.html",
        {"profiles": profiles, "can_create": can_create_profiles(scope), **_page_settings()},
    )


def _form_page(
    request: HttpRequest, scope: Scope, profile: TargetingProfile | None
) -> HttpResponse:
    initial = ProfileForm.initial_for(profile) if profile else {}
    if request.method == "POST":
        form = ProfileForm(request.POST, scope=scope, initial=initial)
        if form.is_valid():
            try:
                if profile is None:
                    profile = actions.create_profile(scope=scope, **form.action_fields())
                else:
                    actions.update_profile(scope=scope, profile=profile, **form.action_fields())
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("Profil enregistré et bureaux classés."))
                return redirect("targeting:detail", pk=profile.pk)
    else:
        form = ProfileForm(scope=scope, initial=initial)
    return render(
        request,
        "targeting/profile_form.html",
        {"form": form, "profile": profile, "weight_fields": [form[p.weight_field] for p in PARTS]},
        status=400 if form.errors else 200,
    )


@login_required
def profile_create(request: HttpRequest) -> HttpResponse:
    scope = _reader(request)
    scope.require(
        can_create_profiles(scope), _("Votre rôle ne permet pas de créer un profil de ciblage.")
    )
    return _form_page(request, scope, None)


@login_required
def profile_edit(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _reader(request)
    return _form_page(request, scope, profile_for_write(scope, pk))


@login_required
@require_GET
def profile_side(request: HttpRequest) -> HttpResponse:
    """The "our side" fieldset for the elections ticked so far (htmx)."""
    scope = _reader(request)
    form = ProfileForm(request.GET, scope=scope)
    return render(request, "targeting/profile_form.html#side", {"form": form})


@login_required
def profile_delete(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _reader(request)
    profile = profile_for_write(scope, pk)
    if request.method == "POST":
        actions.delete_profile(scope=scope, profile=profile)
        messages.success(request, _("Profil supprimé."))
        return redirect("targeting:profiles")
    return render(request, "targeting/profile_delete.html", {"profile": profile})


@login_required
@require_POST
def profile_rescore(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _reader(request)
    profile = profile_for_write(scope, pk)
    summary = actions.rescore_profile(scope=scope, profile=profile)
    messages.success(
        request,
        _("%(count)s bureaux classés en %(seconds).1f s.")
        % {"count": summary.stations, "seconds": summary.seconds},
    )
    return redirect("targeting:detail", pk=profile.pk)


# --- the ranked stations --------------------------------------------------------------------


def _filters(
    request: HttpRequest, scope: Scope, profile: TargetingProfile
) -> tuple[StationFilterForm, StationFilters | None]:
    form = StationFilterForm(request.GET or None, scope=scope, profile=profile)
    if not form.is_bound:
        return form, StationFilters()
    return form, form.filters() if form.is_valid() else None


def _query(filters: StationFilters, **changes: Any) -> str:
    values = {
        "departement": filters.departement,
        "commune": filters.commune,
        "circonscription": filters.circonscription,
        "min_inscrits": filters.min_inscrits or "",
        "tri": filters.sort,
        "ordre": "desc" if filters.descending else "asc",
        **changes,
    }
    return urlencode([(key, value) for key, value in values.items() if value not in ("", None)])


def _sort_columns(filters: StationFilters, base: str) -> dict[str, dict[str, str]]:
    """Per sortable column: its link (descending first, then toggling) and aria-sort."""
    columns = {}
    for key in ("score", "inscrits", *(part.key for part in PARTS)):
        current = filters.sort == key
        descending = not filters.descending if current else True
        order = "desc" if descending else "asc"
        columns[key] = {
            "url": f"{base}?{_query(filters, tri=key, ordre=order, page='')}",
            "aria": ("descending" if filters.descending else "ascending") if current else "none",
        }
    return columns


@login_required
@require_GET
def profile_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _reader(request)
    profile = profile_for(scope, pk)
    form, filters = _filters(request, scope, profile)
    base = reverse("targeting:detail", args=[profile.pk])
    context: dict[str, Any] = {
        "scope": scope,
        "profile": profile,
        "form": form,
        "filters": filters,
        "parts": PARTS,
        # Without a comparison election the turnout change is unknown everywhere.
        "shown_parts": [
            part for part in PARTS if part.key != "turnout_change" or profile.comparison_election_id
        ],
        "weights": profile.weights(),
        "can_edit": can_edit_profile(scope, profile),
        "elections": list(profile.elections.all()),
        "side": _side_labels(profile),
        **_page_settings(),
    }
    if filters is not None:
        scores = with_people_counts(
            filters.scores(scope, profile)
            .select_related("station__commune", "station__circonscription")
            .defer("station__polygon"),
            scope,
        )
        page = Paginator(scores, PAGE_SIZE).get_page(request.GET.get("page"))
        rows = [(score, profile.explain(score)) for score in page]
        query = _query(filters)
        context.update(
            page=page,
            rows=rows,
            query=query,
            columns=_sort_columns(filters, base),
            geojson_url=f"{reverse('targeting:geojson', args=[profile.pk])}?{query}",
            previous_url=f"{base}?{_query(filters, page=page.previous_page_number())}"
            if page.has_previous()
            else "",
            next_url=f"{base}?{_query(filters, page=page.next_page_number())}"
            if page.has_next()
            else "",
        )
    template = "targeting/profile_detail.html"
    if _is_fragment_request(request):
        template += "#results"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _side_labels(profile: TargetingProfile) -> list[str]:
    names = [c.display_name for c in profile.candidates.select_related("election")]
    return names + [_("nuance %(code)s") % {"code": code} for code in profile.nuances]


@login_required
@require_GET
def profile_geojson(request: HttpRequest, pk: int) -> JsonResponse:
    scope = _reader(request)
    profile = profile_for(scope, pk)
    _form, filters = _filters(request, scope, profile)
    if filters is None:
        return JsonResponse({"detail": _("Filtres invalides.")}, status=400)
    return JsonResponse(feature_collection(filters.scores(scope, profile), profile.pk))


@login_required
@require_POST
def profile_export(request: HttpRequest, pk: int) -> HttpResponseBase:
    scope = _reader(request)
    scope.require(scope.can_export_people, _("Votre rôle ne permet pas d'exporter."))
    profile = profile_for(scope, pk)
    form = StationFilterForm(request.POST, scope=scope, profile=profile)
    fmt = request.POST.get("format", "csv")
    if not form.is_valid() or fmt not in exports.FORMATS:
        messages.error(request, _("Export impossible : corrigez les filtres."))
        return redirect("targeting:detail", pk=profile.pk)
    return exports.export_scores(scope=scope, profile=profile, filters=form.filters(), fmt=fmt)


# --- a station ------------------------------------------------------------------------------


def _visible_profile(scope: Scope, raw: str | None) -> TargetingProfile | None:
    if not raw:
        return None
    try:
        return profile_for(scope, raw)
    except Http404:
        return None


@login_required
@require_GET
def station_detail(request: HttpRequest, station_id: str) -> HttpResponse:
    scope = _reader(request)
    station = station_for(scope, station_id)
    profile = _visible_profile(scope, request.GET.get("profil"))
    side = profile.side_by_election() if profile else {}
    ours = {pk for ids in side.values() for pk in ids}
    results = list(
        StationResult.objects.filter(station=station)
        .select_related("election")
        .order_by("-election__year", "-election__date", "election__kind", "election__round")
    )
    history = [
        {
            "result": result,
            "side_share": result.share_of_exprimes(side[result.election_id])
            if result.election_id in side
            else None,
        }
        for result in results
    ]
    chosen = next((r for r in results if str(r.election_id) == request.GET.get("election")), None)
    chosen = chosen or (results[0] if results else None)
    score = (
        StationScore.objects.filter(profile=profile, station=station).first() if profile else None
    )
    people = scope.people().filter(polling_station_link__station=station)
    feature = station_feature(station, {})
    context = {
        "station": station,
        "profile": profile,
        "score": score,
        "explanation": profile.explain(score) if profile and score else [],
        "history": history,
        "chosen": chosen,
        "chart": result_chart(chosen, ours) if chosen else None,
        "address_count": station.addresses.count(),
        "addresses": station.addresses.order_by("street", "number", "suffix")[:ADDRESSES_SHOWN],
        "people_count": people.count(),
        "people": people.select_related("commune").order_by("search_name", "id")[:PEOPLE_SHOWN]
        if scope.can_read_people
        else [],
        "feature": feature,
        **_page_settings(),
    }
    return render(request, "targeting/station_detail.html", context)


# --- attaching people -----------------------------------------------------------------------


@login_required
def attach(request: HttpRequest) -> HttpResponse:
    """How many people are attached to a station, by method; HQ admin reruns it."""
    scope = scope_for(request.user)
    if not scope.is_hq:
        raise Http404("No such page.")
    if request.method == "POST":
        report = actions.attach_all_people(scope=scope)
        messages.success(
            request,
            _("%(matched)s personnes sur %(people)s rattachées à un bureau (%(rate)s %%).")
            % {
                "matched": report.matched,
                "people": report.people,
                "rate": round(100 * report.rate, 1),
            },
        )
        return redirect("targeting:attach")
    counts = dict(
        PersonStation.objects.values_list("method").annotate(count=Count("pk")).order_by()
    )
    people = Person.objects.count()
    matched = sum(counts.values())
    context = {
        "people": people,
        "matched": matched,
        "rate": round(100 * matched / people, 1) if people else 0.0,
        "methods": [(label, counts.get(value, 0)) for value, label in MatchMethod.choices],
    }
    return render(request, "targeting/attach.html", context)
