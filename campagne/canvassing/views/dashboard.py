"""Dashboards of field campaigns: the index, a campaign's live figures, the results export.

Thin views: campaigns load through ``scope.field_campaigns()`` (404 outside it), figures
come from ``canvassing.stats``, the file from ``canvassing.exports``. The live part of the
page is a template partial that htmx polls every few seconds.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import path
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from campagne.accounts.scopes import Scope, scope_for
from campagne.canvassing import exports, stats
from campagne.canvassing.calling import phone_campaigns_for
from campagne.canvassing.models import FieldCampaign, Team
from campagne.people.forms import ExportForm

# Seconds between two refreshes of the live figures.
POLL_SECONDS = 10


def _visible(scope: Scope, pk: int) -> FieldCampaign:
    """The campaign if this user sees it (or calls for it), else 404."""
    campaigns = scope.field_campaigns().filter(pk=pk)
    campaign = campaigns.select_related("departement", "segment").first()
    if campaign is None:
        campaign = phone_campaigns_for(scope).filter(pk=pk).select_related("segment").first()
    if campaign is None:
        raise Http404("No such field campaign.")
    return campaign


def _filter_choices(scope: Scope, campaign: FieldCampaign) -> dict[str, list[tuple[str, str]]]:
    """What the filter menus offer: only what this user's scope holds."""
    turfs = scope.turfs().filter(campaign=campaign).order_by("number")
    stations = (
        turfs.exclude(station__isnull=True)
        .order_by("station_id")
        .values_list("station_id", "station__commune__name", "station__number")
        .distinct()
    )
    teams = Team.objects.filter(
        pk__in=scope.sessions().filter(campaign=campaign).values("team_id")
    ).order_by("name")
    volunteers = (
        stats.counted_canvasses(scope, campaign)
        .exclude(volunteer__isnull=True)
        .order_by("volunteer__first_name", "volunteer__last_name", "volunteer_id")
        .values_list("volunteer_id", "volunteer__first_name", "volunteer__last_name")
        .distinct()
    )
    return {
        "stations": [(pk, f"{name or pk} — {number}") for pk, name, number in stations],
        "turfs": [(str(t.pk), str(t)) for t in turfs.only("pk", "number", "name")],
        "teams": [(str(team.pk), team.name) for team in teams],
        "volunteers": [(str(pk), f"{first} {last}".strip()) for pk, first, last in volunteers],
    }


@login_required
@require_GET
def dashboard_list(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    visible = FieldCampaign.objects.filter(
        Q(pk__in=scope.field_campaigns().values("pk"))
        | Q(pk__in=phone_campaigns_for(scope).values("pk"))
    )
    campaigns = list(visible.select_related("departement"))
    summaries = stats.campaign_summaries(scope, visible)
    rows = [(campaign, summaries.get(campaign.pk, stats.Figures())) for campaign in campaigns]
    return render(
        request,
        "canvassing/dashboard/list.html",
        {"scope": scope, "rows": rows, "personal": not scope.can_read_field},
    )


@login_required
@require_GET
def dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    campaign = _visible(scope, pk)
    filters = stats.Filters.from_query(request.GET)
    board = stats.dashboard(scope, campaign, filters)
    query = urlencode(filters.as_query())
    context = {
        "scope": scope,
        "campaign": campaign,
        "board": board,
        "filters": filters,
        "query": query,
        "poll_seconds": POLL_SECONDS,
        "phone": campaign.channel == "phone",
        "can_export": scope.can_export_field,
        "tiles_url": settings.MAP_TILES_URL,
        "tiles_attribution": settings.MAP_TILES_ATTRIBUTION,
    }
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request:
        return render(request, "canvassing/dashboard/campaign.html#live", context)
    if not board.personal:
        context["choices"] = _filter_choices(scope, campaign)
    return render(request, "canvassing/dashboard/campaign.html", context)


@login_required
@require_POST
def dashboard_export(request: HttpRequest, pk: int) -> HttpResponseBase:
    scope = scope_for(request.user)
    campaign = _visible(scope, pk)
    scope.require(scope.can_export_field, _("Votre rôle ne permet pas d'exporter."))
    form = ExportForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_("Format d'export inconnu."), status=400)
    filters = stats.Filters.from_query(request.POST)
    try:
        return exports.export_canvasses(
            scope=scope, campaign=campaign, filters=filters, fmt=form.cleaned_data["format"]
        )
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400)


urlpatterns = [
    path("tableaux/", dashboard_list, name="dashboards"),
    path("campagnes/<int:pk>/tableau/", dashboard, name="dashboard"),
    path("campagnes/<int:pk>/tableau/export/", dashboard_export, name="dashboard_export"),
]
