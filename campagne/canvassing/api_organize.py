"""Organizing endpoints: /api/v1/canvassing/campaigns…, /turfs…, /sessions.

The same rules and actions as the organizers' pages: campaigns and turfs within the
caller's scope (404 outside it, and for volunteers on organizer data), writes refused to
read-only roles (403, nothing changed); volunteers claim open turfs of their territory.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db.models import Prefetch
from django.http import Http404, HttpRequest
from ninja import Router, Schema, Status

from campagne.accounts.models import User
from campagne.accounts.scopes import scope_for
from campagne.canvassing import actions
from campagne.canvassing.models import FieldCampaign, Session, Team, Turf, TurfStop
from campagne.lib.api_errors import errors

router = Router(tags=["canvassing"])


class CampaignOut(Schema):
    id: int
    name: str
    channel: str
    status: str
    starts_on: date | None
    ends_on: date | None
    departement: str | None
    goal_doors: int
    goal_conversations: int
    target_turf_doors: int
    allow_claim: bool
    cut_status: str

    @staticmethod
    def resolve_departement(obj: FieldCampaign) -> str | None:
        return obj.departement_id


class CampaignDetail(CampaignOut):
    stations: list[str]
    script: str
    questionnaire: list[dict[str, Any]]
    teams: list[int]
    cut_progress: int

    @staticmethod
    def resolve_stations(obj: FieldCampaign) -> list[str]:
        return list(obj.stations.values_list("pk", flat=True))

    @staticmethod
    def resolve_teams(obj: FieldCampaign) -> list[int]:
        return list(obj.teams.values_list("pk", flat=True))


class StopOut(Schema):
    position: int
    address: int
    label: str
    doors: int
    latitude: float | None
    longitude: float | None

    @staticmethod
    def resolve_position(obj: TurfStop) -> int:
        return obj.position + 1

    @staticmethod
    def resolve_address(obj: TurfStop) -> int:
        return obj.address_id

    @staticmethod
    def resolve_label(obj: TurfStop) -> str:
        return str(obj.address)

    @staticmethod
    def resolve_latitude(obj: TurfStop) -> float | None:
        return obj.address.latitude

    @staticmethod
    def resolve_longitude(obj: TurfStop) -> float | None:
        return obj.address.longitude


class TurfOut(Schema):
    id: int
    number: int
    name: str
    station: str | None
    commune: str
    status: str
    households: int
    doors: int
    route_metres: int
    meeting_label: str
    meeting_latitude: float | None
    meeting_longitude: float | None
    stops: list[StopOut]

    @staticmethod
    def resolve_station(obj: Turf) -> str | None:
        return obj.station_id

    @staticmethod
    def resolve_commune(obj: Turf) -> str:
        return obj.commune_id

    @staticmethod
    def resolve_stops(obj: Turf) -> list[Any]:
        return list(obj.stops.all())


class SessionIn(Schema):
    turf: int
    volunteer: int | None = None
    team: int | None = None
    starts_at: datetime
    ends_at: datetime
    meeting_label: str = ""


class ClaimIn(Schema):
    starts_at: datetime | None = None


class SessionOut(Schema):
    id: int
    campaign: int
    turf: int
    volunteer: int | None
    team: int | None
    starts_at: datetime
    ends_at: datetime
    meeting_label: str
    status: str
    claimed: bool

    @staticmethod
    def resolve_campaign(obj: Session) -> int:
        return obj.campaign_id

    @staticmethod
    def resolve_turf(obj: Session) -> int:
        return obj.turf_id

    @staticmethod
    def resolve_volunteer(obj: Session) -> int | None:
        return obj.volunteer_id

    @staticmethod
    def resolve_team(obj: Session) -> int | None:
        return obj.team_id


@router.get("/campaigns", response={200: list[CampaignOut], **errors(404)})
def list_campaigns(request: HttpRequest) -> Any:
    """The field campaigns of the caller's territories (organizers and HQ)."""
    scope = scope_for(request.auth)
    if not scope.can_read_field:
        raise Http404("No campaigns.")
    return scope.field_campaigns()[:500]


@router.get("/campaigns/{campaign_id}", response={200: CampaignDetail, **errors(404)})
def get_campaign(request: HttpRequest, campaign_id: int) -> Any:
    return actions.campaign_for(scope_for(request.auth), campaign_id)


@router.get("/campaigns/{campaign_id}/turfs", response={200: list[TurfOut], **errors(404)})
def campaign_turfs(request: HttpRequest, campaign_id: int) -> Any:
    """The campaign's turfs in the caller's scope, each with its stops in walking order."""
    scope = scope_for(request.auth)
    campaign = actions.campaign_for(scope, campaign_id)
    stops = TurfStop.objects.select_related("address").order_by("position", "id")
    return (
        scope.turfs()
        .filter(campaign=campaign)
        .order_by("number")
        .prefetch_related(Prefetch("stops", queryset=stops))
    )


@router.post("/sessions", response={201: SessionOut, **errors(403, 404, 422)})
def create_session(request: HttpRequest, payload: SessionIn) -> Any:
    """Assign a turf to a volunteer or a team for a time slot."""
    scope = scope_for(request.auth)
    turf = actions.turf_for_write(scope, payload.turf)
    volunteer = team = None
    # Unknown ids are refused like ids outside the scope: by the action, with its message.
    if payload.volunteer is not None:
        volunteer = User.objects.filter(pk=payload.volunteer).first() or User(pk=0)
    if payload.team is not None:
        team = Team.objects.filter(pk=payload.team).first() or Team(pk=0)
    session = actions.create_session(
        scope=scope,
        turf=turf,
        volunteer=volunteer,
        team=team,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        meeting_label=payload.meeting_label,
    )
    return Status(201, session)


@router.post("/turfs/{turf_id}/claim", response={201: SessionOut, **errors(404, 422)})
def claim_turf(request: HttpRequest, turf_id: int, payload: ClaimIn | None = None) -> Any:
    """A volunteer takes an open turf of their territory, when its campaign allows it;
    422 when someone else took it first."""
    scope = scope_for(request.auth)
    session = actions.claim_turf(
        scope=scope, turf_id=turf_id, starts_at=payload.starts_at if payload else None
    )
    return Status(201, session)
