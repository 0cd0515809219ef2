"""Targeting endpoints: /api/v1/targeting…

The same rules as the pages: profiles visible to the caller (HQ: all; an organizer: their
own and the shared ones; 404 otherwise), stations and scores within the caller's
territory (``scope.filter_by_commune``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from campagne.accounts.scopes import scope_for
from campagne.elections.models import StationResult
from campagne.lib.api_errors import errors
from campagne.targeting.filters import SORT_KEYS, StationFilters
from campagne.targeting.models import (
    StationScore,
    TargetingProfile,
    can_read_targeting,
    profile_for,
    station_for,
)

router = Router(tags=["targeting"])
MAX_LIMIT = 500


class ElectionOut(Schema):
    id: int
    kind: str
    year: int
    round: int
    date: date | None
    label: str

    @staticmethod
    def resolve_label(obj: Any) -> str:
        return str(obj)


class ProfileOut(Schema):
    id: int
    name: str
    shared: bool
    elections: list[ElectionOut]
    stations: int = Field(description="How many stations the last scoring ranked.")
    scored_at: datetime | None

    @staticmethod
    def resolve_elections(obj: TargetingProfile) -> list[Any]:
        return list(obj.elections.all())

    @staticmethod
    def resolve_stations(obj: TargetingProfile) -> int:
        return int(obj.stats.get("count") or 0)


class PartRange(Schema):
    min: float | None
    max: float | None


class ProfileDetail(ProfileOut):
    description: str
    owner: str | None
    side_candidates: list[int] = Field(description="Candidate ids ticked as our side.")
    side_nuances: list[str]
    side: dict[str, list[int]] = Field(
        description="Election id → every candidate id of our side in it (ticked or by nuance)."
    )
    comparison_election: ElectionOut | None
    weights: dict[str, int]
    min_inscrits: int
    departements: list[str]
    communes: list[str]
    ranges: dict[str, PartRange] = Field(
        description="Each part's minimum and maximum over the ranked stations (the 0–1 scale)."
    )

    @staticmethod
    def resolve_owner(obj: TargetingProfile) -> str | None:
        return str(obj.owner) if obj.owner else None

    @staticmethod
    def resolve_side_candidates(obj: TargetingProfile) -> list[int]:
        return sorted(obj.candidates.values_list("pk", flat=True))

    @staticmethod
    def resolve_side_nuances(obj: TargetingProfile) -> list[str]:
        return list(obj.nuances)

    @staticmethod
    def resolve_side(obj: TargetingProfile) -> dict[str, list[int]]:
        return {str(pk): ids for pk, ids in obj.side_by_election().items()}

    @staticmethod
    def resolve_weights(obj: TargetingProfile) -> dict[str, int]:
        return obj.weights()

    @staticmethod
    def resolve_departements(obj: TargetingProfile) -> list[str]:
        return sorted(obj.departements.values_list("pk", flat=True))

    @staticmethod
    def resolve_communes(obj: TargetingProfile) -> list[str]:
        return sorted(obj.communes.values_list("pk", flat=True))

    @staticmethod
    def resolve_ranges(obj: TargetingProfile) -> dict[str, Any]:
        return obj.stats.get("parts", {})


class PartOut(Schema):
    key: str
    value: float | None
    weight: int
    scaled: float = Field(description="The value on the 0–1 scale of the ranked stations.")
    contribution: float = Field(description="Points of the 0–100 score this part gives.")


class RankedStation(Schema):
    rank: int
    score: float
    station: str
    number: str
    commune: str | None
    commune_name: str | None
    circonscription: str | None
    inscrits: int
    abstentions: int
    side_votes: int
    parts: list[PartOut]


class RankedPage(Schema):
    items: list[RankedStation]
    count: int


class StationsQuery(Schema):
    departement: str = Field("", max_length=3)
    commune: str = Field("", max_length=100, description="INSEE code or name.")
    circonscription: str = Field("", max_length=8, description='e.g. "04-01".')
    min_inscrits: int | None = Field(None, ge=0)
    sort: Literal[SORT_KEYS] = "score"  # type: ignore[valid-type]
    order: Literal["desc", "asc"] = "desc"

    def filters(self) -> StationFilters:
        return StationFilters(
            departement=self.departement,
            commune=self.commune,
            circonscription=self.circonscription,
            min_inscrits=self.min_inscrits,
            sort=self.sort,
            descending=self.order == "desc",
        )


class CandidateVotes(Schema):
    candidate: int
    panneau: int | None
    name: str
    nuance: str
    voix: int
    share_of_exprimes: float | None


class ResultOut(Schema):
    election: ElectionOut
    inscrits: int
    abstentions: int
    votants: int
    blancs: int | None
    nuls: int | None
    exprimes: int
    abstention_rate: float | None
    candidates: list[CandidateVotes]


class StationDetail(Schema):
    id: str
    number: str
    name: str
    commune: str | None
    commune_name: str | None
    circonscription: str | None
    address_line: str
    latitude: float | None
    longitude: float | None
    has_contour: bool
    results: list[ResultOut]


def _ranked(score: StationScore, profile: TargetingProfile) -> dict[str, Any]:
    station = score.station
    return {
        "rank": score.rank,
        "score": score.score,
        "station": station.pk,
        "number": station.number,
        "commune": station.commune_id,
        "commune_name": station.commune.name if station.commune else None,
        "circonscription": station.circonscription_id,
        "inscrits": score.inscrits,
        "abstentions": score.abstentions,
        "side_votes": score.side_votes,
        "parts": [
            {
                "key": item.part.key,
                "value": item.value,
                "weight": item.weight,
                "scaled": item.scaled,
                "contribution": item.contribution,
            }
            for item in profile.explain(score)
        ],
    }


def _reader(request: HttpRequest) -> Any:
    scope = scope_for(request.user)
    scope.require(can_read_targeting(scope), _("Votre rôle ne donne pas accès au ciblage."))
    return scope


@router.get("/profiles", response={200: list[ProfileOut], **errors(403)}, summary="List profiles")
def list_profiles(request: HttpRequest) -> list[TargetingProfile]:
    scope = _reader(request)
    return list(TargetingProfile.objects.visible_to(scope).prefetch_related("elections"))


@router.get(
    "/profiles/{profile_id}",
    response={200: ProfileDetail, **errors(403, 404)},
    summary="One profile: elections, our side, weights, the scale of each part",
)
def get_profile(request: HttpRequest, profile_id: int) -> TargetingProfile:
    return profile_for(_reader(request), profile_id)


@router.get(
    "/profiles/{profile_id}/stations",
    response={200: RankedPage, **errors(403, 404)},
    summary="The profile's ranked stations within the caller's territory, with each part",
)
def ranked_stations(
    request: HttpRequest,
    profile_id: int,
    query: Query[StationsQuery],
    limit: int = Query(50, ge=1, description=f"Page size, at most {MAX_LIMIT}."),
    offset: int = Query(0, ge=0, le=10**7),
) -> dict[str, Any]:
    scope = _reader(request)
    profile = profile_for(scope, profile_id)
    scores = query.filters().scores(scope, profile)
    limit = min(limit, MAX_LIMIT)
    page = scores.select_related("station__commune").defer("station__polygon")[
        offset : offset + limit
    ]
    return {"items": [_ranked(score, profile) for score in page], "count": scores.count()}


@router.get(
    "/stations/{station_id}",
    response={200: StationDetail, **errors(403, 404)},
    summary="A polling station with its results at every election (counts; rates computed)",
)
def get_station(request: HttpRequest, station_id: str) -> dict[str, Any]:
    station = station_for(_reader(request), station_id)
    results = (
        StationResult.objects.filter(station=station)
        .select_related("election")
        .order_by("-election__year", "election__kind", "election__round")
    )
    return {
        "id": station.pk,
        "number": station.number,
        "name": station.name,
        "commune": station.commune_id,
        "commune_name": station.commune.name if station.commune else None,
        "circonscription": station.circonscription_id,
        "address_line": station.address_line,
        "latitude": station.latitude,
        "longitude": station.longitude,
        "has_contour": station.polygon is not None,
        "results": [
            {
                "election": result.election,
                "inscrits": result.inscrits,
                "abstentions": result.abstentions,
                "votants": result.votants,
                "blancs": result.blancs,
                "nuls": result.nuls,
                "exprimes": result.exprimes,
                "abstention_rate": result.abstention_rate,
                "candidates": [
                    {
                        "candidate": candidate.pk,
                        "panneau": candidate.panneau,
                        "name": candidate.display_name,
                        "nuance": candidate.nuance,
                        "voix": voix,
                        "share_of_exprimes": StationResult.rate(voix, result.exprimes),
                    }
                    for candidate, voix in result.candidate_votes()
                ],
            }
            for result in results
        ],
    }
