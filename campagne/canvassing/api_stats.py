"""A field campaign's results in the API: the dashboard's figures, scoped the same way.

``GET /api/v1/canvassing/campaigns/{id}/stats`` gives the totals (optionally narrowed to a
station, turf, team or volunteer) and, for the roles that read field results, the
breakdown per station and per day. Volunteers get their own figures only.
"""

from __future__ import annotations

from datetime import date

from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema

from campagne.accounts.scopes import scope_for
from campagne.canvassing import stats
from campagne.canvassing.calling import phone_campaigns_for
from campagne.lib.api_errors import errors

router = Router(tags=["canvassing"])


class FiguresOut(Schema):
    knocked: int
    opened: int
    conversations: int
    positive: int
    wants_to_volunteer: int
    open_rate: float | None
    positive_rate: float | None
    opened_per_positive: float | None


class RowOut(Schema):
    key: str
    label: str
    figures: FiguresOut


class DayOut(Schema):
    day: date
    figures: FiguresOut


class StatsOut(Schema):
    campaign_id: int
    channel: str
    personal: bool
    totals: FiguresOut
    stations: list[RowOut]
    days: list[DayOut]
    coverage_reached: int | None
    coverage_total: int | None


class StatsFilters(Schema):
    station: str = ""
    turf: int | None = None
    team: int | None = None
    volunteer: int | None = None


def _figures(figures: stats.Figures) -> FiguresOut:
    return FiguresOut(
        knocked=figures.knocked,
        opened=figures.opened,
        conversations=figures.conversations,
        positive=figures.positive,
        wants_to_volunteer=figures.volunteers,
        open_rate=figures.open_rate,
        positive_rate=figures.positive_rate,
        opened_per_positive=figures.opened_per_positive,
    )


@router.get("/campaigns/{campaign_id}/stats", response={200: StatsOut, **errors(404)})
def campaign_stats(
    request: HttpRequest, campaign_id: int, filters: Query[StatsFilters]
) -> StatsOut:
    """The campaign's figures as on its dashboard (records that stand, within scope)."""
    scope = scope_for(request.auth)  # type: ignore[attr-defined]
    campaign = (
        scope.field_campaigns().filter(pk=campaign_id).first()
        or phone_campaigns_for(scope).filter(pk=campaign_id).first()
    )
    if campaign is None:
        raise Http404("No such field campaign.")
    board = stats.dashboard(
        scope,
        campaign,
        stats.Filters(
            station=filters.station[:16],
            turf=filters.turf,
            team=filters.team,
            volunteer=filters.volunteer,
        ),
    )
    return StatsOut(
        campaign_id=campaign.pk,
        channel=campaign.channel,
        personal=board.personal,
        totals=_figures(board.totals),
        stations=[
            RowOut(key=str(row.key), label=row.label, figures=_figures(row.figures))
            for row in board.breakdowns.get("station", [])
        ],
        days=[
            DayOut(day=stats._as_date(row.key), figures=_figures(row.figures)) for row in board.days
        ],
        coverage_reached=board.coverage.reached if board.coverage else None,
        coverage_total=board.coverage.total if board.coverage else None,
    )
