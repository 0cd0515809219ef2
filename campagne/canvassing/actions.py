"""Organizing field work: campaigns, turf cutting, hand adjustments, sessions and claims.

Every verb takes the caller's ``Scope`` and checks it: outside the scope an object does
not exist (``Http404``), a role that may only read gets ``PermissionDenied``, bad input
``ValidationError`` — in each case before anything is written. Views, the API and the
task all call these functions.

Turf cutting (see docs/canvassing.md): the households of a campaign's stations are cut by
``cutting.cut_turfs`` into turfs of about ``target_turf_doors`` doors, each ordered by
``routing.walk_order`` from its meeting point. Re-cutting replaces the turfs nobody has
walked or planned yet and keeps the others.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from campagne.accounts.models import User
from campagne.accounts.scopes import Scope
from campagne.canvassing.models import (
    Canvass,
    Channel,
    CutStatus,
    FieldCampaign,
    Session,
    Team,
    Turf,
    TurfStop,
)
from campagne.elections.models import Address, AddressSource, PollingStation
from campagne.targeting.models import StationScore, TargetingProfile
from campagne.territory.models import Departement

# Campaigns with more households than this are cut by a background task (queue
# "default"); smaller ones in the request (a few stations: well under a second).
CUT_IN_REQUEST_MAX = 3000
QUESTION_KINDS = ("choice", "multi", "text", "scale")
DEFAULT_SESSION_HOURS = 2


# --- loading with the scope -----------------------------------------------------------------
def campaign_for(scope: Scope, pk: Any) -> FieldCampaign:
    """A campaign of the organizers' pages: 404 outside the scope, and for volunteers
    (who have the field app, not these pages)."""
    if not scope.can_read_field:
        raise Http404("No such campaign.")
    try:
        return scope.field_campaigns().select_related("departement").get(pk=pk)
    except (ValueError, TypeError, FieldCampaign.DoesNotExist):
        raise Http404("No such campaign.") from None


def require_manager(scope: Scope) -> None:
    scope.require(
        scope.can_manage_field, _("Votre rôle ne permet pas d'organiser le travail de terrain.")
    )


def campaign_for_write(scope: Scope, pk: Any) -> FieldCampaign:
    """As ``campaign_for``, then 403 unless this user may change the whole campaign: an
    organizer only when every station of it lies in their territories."""
    campaign = campaign_for(scope, pk)
    require_manager(scope)
    if not scope.is_hq:
        stations = campaign.stations.all()
        outside = stations.exclude(pk__in=_stations_in_scope(scope).values("pk")).exists()
        scope.require(
            not outside and campaign.departement_id is not None,
            _("Cette campagne couvre des bureaux hors de votre territoire."),
        )
    return campaign


def turf_for(scope: Scope, pk: Any) -> Turf:
    """A turf of the organizers' pages (404 outside the scope or for volunteers)."""
    if not scope.can_read_field:
        raise Http404("No such turf.")
    try:
        return scope.turfs().select_related("campaign", "station", "commune").get(pk=pk)
    except (ValueError, TypeError, Turf.DoesNotExist):
        raise Http404("No such turf.") from None


def turf_for_write(scope: Scope, pk: Any) -> Turf:
    turf = turf_for(scope, pk)
    require_manager(scope)
    return turf


def _stations_in_scope(scope: Scope) -> QuerySet[PollingStation]:
    return scope.filter_by_commune(PollingStation.objects.all(), "commune")


# --- campaigns ------------------------------------------------------------------------------
def clean_questionnaire(questions: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Questions as the field app reads them: ``key``, ``label``, ``kind``, ``choices``.

    Keys are made from the labels (unique within the questionnaire); a "choice" or
    "multi" question needs two choices at least, other kinds have none.
    """
    cleaned: list[dict[str, Any]] = []
    keys: set[str] = set()
    for index, question in enumerate(questions, start=1):
        label = str(question.get("label") or "").strip()
        if not label:
            continue
        kind = str(question.get("kind") or "text")
        if kind not in QUESTION_KINDS:
            raise ValidationError(
                {"questionnaire": _("Question %(n)s : type inconnu.") % {"n": index}}
            )
        choices = [str(c).strip() for c in question.get("choices") or [] if str(c).strip()]
        if kind in ("choice", "multi"):
            if len(set(choices)) < 2:
                raise ValidationError(
                    {
                        "questionnaire": _(
                            "Question %(n)s : indiquez au moins deux réponses possibles."
                        )
                        % {"n": index}
                    }
                )
            choices = list(dict.fromkeys(choices))
        else:
            choices = []
        base = slugify(question.get("key") or label)[:40] or f"q{index}"
        key, suffix = base, 2
        while key in keys:
            key, suffix = f"{base}-{suffix}", suffix + 1
        keys.add(key)
        cleaned.append({"key": key, "label": label[:300], "kind": kind, "choices": choices})
    return cleaned


def top_stations(scope: Scope, profile: TargetingProfile, count: int) -> list[PollingStation]:
    """The ``count`` best-ranked stations of a profile within this user's territories."""
    scores = (
        StationScore.objects.filter(profile=profile, station__in=_stations_in_scope(scope))
        .select_related("station")
        .order_by("rank")[: max(0, count)]
    )
    return [score.station for score in scores]


def commune_stations(scope: Scope, code: str) -> list[PollingStation]:
    """The stations of a commune (with its arrondissements) within this user's scope."""
    return list(_stations_in_scope(scope).in_commune(code.strip()))  # type: ignore[attr-defined]


def departements_in_scope(scope: Scope) -> QuerySet[Departement]:
    if scope.is_hq:
        return Departement.objects.all()
    return Departement.objects.filter(code__in=scope.communes().values("departement_id"))


def teams_in_scope(scope: Scope) -> QuerySet[Team]:
    if scope.is_hq:
        return Team.objects.all()
    return Team.objects.filter(commune__in=scope.communes())


def _check_campaign(scope: Scope, fields: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise a campaign's fields; ValidationError names the field."""
    errors: dict[str, list[str]] = defaultdict(list)
    stations = list(fields.pop("stations", None) or [])
    teams = list(fields.pop("teams", None) or [])
    if not str(fields.get("name") or "").strip():
        errors["name"].append(_("Donnez un nom à la campagne."))
    starts_on, ends_on = fields.get("starts_on"), fields.get("ends_on")
    if starts_on and ends_on and ends_on < starts_on:
        errors["ends_on"].append(_("La fin doit suivre le début."))
    departement = fields.get("departement")
    if departement is None and not scope.is_hq:
        # An organizer's campaign belongs to a territory they cover (else only HQ sees it).
        departement = (
            Departement.objects.filter(code__in=[s.departement_id for s in stations]).first()
            or departements_in_scope(scope).first()
        )
        fields["departement"] = departement
    if (
        departement is not None
        and not departements_in_scope(scope).filter(pk=departement.pk).exists()
    ):
        errors["departement"].append(_("Ce département n'est pas dans votre territoire."))
    station_ids = {s.pk for s in stations}
    allowed = set(_stations_in_scope(scope).filter(pk__in=station_ids).values_list("pk", flat=True))
    if station_ids - allowed:
        errors["stations"].append(
            _("Ces bureaux ne sont pas dans votre territoire : %(codes)s")
            % {"codes": ", ".join(sorted(station_ids - allowed))}
        )
    team_ids = {t.pk for t in teams}
    if team_ids - set(teams_in_scope(scope).filter(pk__in=team_ids).values_list("pk", flat=True)):
        errors["teams"].append(_("Cette équipe n'est pas dans votre territoire."))
    profile = fields.get("targeting_profile")
    if (
        profile is not None
        and not TargetingProfile.objects.visible_to(scope).filter(pk=profile.pk).exists()
    ):
        errors["targeting_profile"].append(_("Profil de ciblage introuvable."))
    try:
        fields["questionnaire"] = clean_questionnaire(fields.get("questionnaire") or [])
    except ValidationError as exc:
        errors["questionnaire"].extend(exc.message_dict["questionnaire"])
    if fields.get("target_turf_doors") is not None and not 5 <= fields["target_turf_doors"] <= 500:
        errors["target_turf_doors"].append(_("Entre 5 et 500 portes par secteur."))
    if errors:
        raise ValidationError(dict(errors))
    fields["name"] = str(fields["name"]).strip()
    return {**fields, "stations": stations, "teams": teams}


CAMPAIGN_FIELDS = (
    "name",
    "channel",
    "status",
    "starts_on",
    "ends_on",
    "departement",
    "targeting_profile",
    "script",
    "questionnaire",
    "goal_doors",
    "goal_conversations",
    "target_turf_doors",
    "allow_claim",
)


def create_campaign(*, scope: Scope, **fields: Any) -> FieldCampaign:
    """A new campaign; ``stations`` and ``teams`` are lists of objects."""
    require_manager(scope)
    unknown = set(fields) - {*CAMPAIGN_FIELDS, "stations", "teams"}
    if unknown:
        raise TypeError(f"Unknown campaign fields: {sorted(unknown)}")
    data = _check_campaign(scope, dict(fields))
    stations, teams = data.pop("stations"), data.pop("teams")
    with transaction.atomic():
        campaign = FieldCampaign.objects.create(created_by=scope.user, **data)
        campaign.stations.set(stations)
        campaign.teams.set(teams)
    return campaign


def update_campaign(*, scope: Scope, campaign: FieldCampaign, **fields: Any) -> FieldCampaign:
    """Change a campaign (loaded with ``campaign_for_write``); fields left out stay."""
    require_manager(scope)
    unknown = set(fields) - {*CAMPAIGN_FIELDS, "stations", "teams"}
    if unknown:
        raise TypeError(f"Unknown campaign fields: {sorted(unknown)}")
    current: dict[str, Any] = {name: getattr(campaign, name) for name in CAMPAIGN_FIELDS}
    current["stations"] = list(campaign.stations.all())
    current["teams"] = list(campaign.teams.all())
    current.update(fields)
    data = _check_campaign(scope, current)
    stations, teams = data.pop("stations"), data.pop("teams")
    with transaction.atomic():
        for name, value in data.items():
            setattr(campaign, name, value)
        campaign.save()
        campaign.stations.set(stations)
        campaign.teams.set(teams)
    return campaign


# --- households and walk order --------------------------------------------------------------
@dataclass(frozen=True)
class Household:
    """One stop to be: an address point and its number of doors."""

    address_id: int
    station_id: str
    commune_id: str
    latitude: float
    longitude: float
    doors: int
    street: str = ""
    number: int | None = None


# Which copy of an address stands for it: the BAN/BAL point is the geocoded entrance.
_SOURCE_PREFERENCE = {AddressSource.BAL: 0, AddressSource.BAN: 1, AddressSource.REU: 2}


def households_of(
    station_ids: Iterable[str], exclude_addresses: Iterable[int] = ()
) -> list[Household]:
    """The located households of these stations, one per address (see the doors rule).

    The same address often comes twice (from the BAN and from the REU): copies with the
    same ``match_key`` in one station are one stop. Its doors are the largest number of
    times one source lists it: a building the REU lists three times has three doors,
    an address found once in the BAN and once in the REU has one.
    """
    excluded = set(exclude_addresses)
    rows = (
        Address.objects.filter(
            station_id__in=list(station_ids),
            latitude__isnull=False,
            longitude__isnull=False,
            commune__isnull=False,
        )
        .order_by("id")
        .values_list(
            "id",
            "source",
            "match_key",
            "station_id",
            "commune_id",
            "latitude",
            "longitude",
            "street",
            "number",
        )
    )
    groups: dict[tuple[str, str], list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows.iterator(chunk_size=5000):
        # An address without a key (rare) is its own household.
        key = row[2] or f"#{row[0]}"
        groups[(row[3], key)].append(row)
    households = []
    for (station_id, _key), copies in groups.items():
        if any(copy[0] in excluded for copy in copies):
            continue
        first = min(copies, key=lambda copy: (_SOURCE_PREFERENCE.get(copy[1], 3), copy[0]))
        doors = max(Counter(copy[1] for copy in copies).values())
        households.append(
            Household(first[0], station_id, first[4], first[5], first[6], doors, first[7], first[8])
        )
    households.sort(key=lambda h: h.address_id)
    return households


@dataclass(frozen=True)
class Walk:
    order: list[int]  # indexes into the points, in walking order
    metres: int  # meeting point → every stop → meeting point, on foot


def walk(
    start: tuple[float, float],
    points: Sequence[tuple[float, float]],
    streets: Sequence[str | None] | None = None,
    numbers: Sequence[int | None] | None = None,
) -> Walk:
    """The walking order of these points from and back to ``start`` (``routing``), and
    its length. Streets and house numbers (their parity is the side of the street) keep
    the route from zigzagging; the length counts walking metres only, not those
    penalties."""
    if not points:
        return Walk([], 0)
    from campagne.canvassing import routing

    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    sides = None
    if streets is not None and numbers is not None:
        sides = [None if n is None else n % 2 for n in numbers]
    order = routing.walk_order(lats, lons, start, streets=streets, sides=sides)
    xy = routing.local_metres([start[0], *lats], [start[1], *lons])
    matrix = routing.walking_matrix(xy)
    metres = routing.tour_length(matrix, [0, *(i + 1 for i in order), 0])
    return Walk([int(i) for i in order], round(metres))


def _cut_labels(
    households: Sequence[Household],
    target_doors: int,
    meeting_points: dict[str, tuple[float, float]] | None = None,
) -> list[int]:
    """A turf label per household, never mixing two stations in a turf; each station's
    turfs are cut for walks that start and end at its meeting point."""
    from campagne.canvassing.cutting import cut_turfs

    return list(
        cut_turfs(
            [(h.latitude, h.longitude) for h in households],
            doors=[h.doors for h in households],
            groups=[h.station_id for h in households],
            target_doors=target_doors,
            meeting_points=meeting_points,
        )
    )


def _centre(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    return (
        sum(p[0] for p in points) / len(points),
        sum(p[1] for p in points) / len(points),
    )


def meeting_point(turf: Turf, points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """The turf's meeting point; the station's place by default, else the turf's centre."""
    if turf.meeting_latitude is not None and turf.meeting_longitude is not None:
        return (turf.meeting_latitude, turf.meeting_longitude)
    station = turf.station
    if station is not None and station.latitude is not None and station.longitude is not None:
        return (station.latitude, station.longitude)
    return _centre(points) if points else (0.0, 0.0)


def _default_meeting(station: PollingStation | None) -> dict[str, Any]:
    if station is None or station.latitude is None:
        return {}
    label = station.address_line or station.name or str(station)
    return {
        "meeting_label": label[:200],
        "meeting_latitude": station.latitude,
        "meeting_longitude": station.longitude,
    }


def reorder_turf(turf: Turf) -> Turf:
    """Put a turf's stops in walking order from its meeting point; update its sums."""
    stops = list(turf.stops.select_related("address").order_by("position", "id"))
    points = [(s.address.latitude or 0.0, s.address.longitude or 0.0) for s in stops]
    start = meeting_point(turf, points)
    route = walk(
        start,
        points,
        [s.address.street.lower() or None for s in stops],
        [s.address.number for s in stops],
    )
    for position, index in enumerate(route.order):
        stops[index].position = position
    TurfStop.objects.bulk_update(stops, ["position"])
    turf.households = len(stops)
    turf.doors = sum(s.doors for s in stops)
    turf.route_metres = route.metres
    turf.save(update_fields=["households", "doors", "route_metres"])
    return turf


# --- turf cutting ---------------------------------------------------------------------------
def _worked_turfs(campaign: FieldCampaign) -> QuerySet[Turf]:
    """Turfs that have sessions or recorded doors: a re-cut keeps them as they are."""
    return campaign.turfs.filter(
        Exists(Session.objects.filter(turf=OuterRef("pk")))
        | Exists(Canvass.objects.filter(turf=OuterRef("pk")))
    )


@dataclass(frozen=True)
class CutResult:
    queued: bool
    turfs: int = 0
    households: int = 0
    kept: int = 0


def cut_campaign(
    *, scope: Scope, campaign: FieldCampaign, in_background: bool | None = None
) -> CutResult:
    """Cut (or re-cut) a door campaign's stations into turfs: here for a small campaign,
    as a background task for a big one (``cut_status`` tells the page how far it is).
    ``in_background`` forces one way or the other (the demo cuts in place)."""
    require_manager(scope)
    if campaign.channel != Channel.DOOR:
        raise ValidationError(_("Seules les campagnes de porte-à-porte ont des secteurs."))
    station_ids = list(campaign.stations.values_list("pk", flat=True))
    if not station_ids:
        raise ValidationError(_("Choisissez d'abord les bureaux de vote de la campagne."))
    # A cut already queued or running is not started twice (a conditional update claims it).
    busy = (CutStatus.QUEUED, CutStatus.RUNNING)
    size = Address.objects.filter(station_id__in=station_ids, latitude__isnull=False).count()
    if in_background is None:
        in_background = size > CUT_IN_REQUEST_MAX
    if in_background:
        claimed = (
            FieldCampaign.objects.filter(pk=campaign.pk)
            .exclude(cut_status__in=busy)
            .update(cut_status=CutStatus.QUEUED, cut_progress=0, cut_message="")
        )
        if not claimed:
            raise ValidationError(_("Un découpage de cette campagne est déjà en cours."))
        from campagne.canvassing.tasks_organize import cut_campaign_task

        transaction.on_commit(lambda: cut_campaign_task.enqueue(campaign.pk))
        campaign.refresh_from_db()
        return CutResult(queued=True)
    claimed = (
        FieldCampaign.objects.filter(pk=campaign.pk)
        .exclude(cut_status__in=busy)
        .update(cut_status=CutStatus.RUNNING, cut_progress=0, cut_message="")
    )
    if not claimed:
        raise ValidationError(_("Un découpage de cette campagne est déjà en cours."))
    result = run_cut(campaign.pk)
    campaign.refresh_from_db()
    return result


def run_cut(campaign_id: int, on_progress: Callable[[int], None] | None = None) -> CutResult:
    """Do the cut of a campaign whose ``cut_status`` was set to queued or running.

    The work (cutting, routing every turf) is done first, outside any transaction, with
    progress written as it goes; then one transaction replaces the turfs. Turfs that got
    a session meanwhile are kept, and their addresses left out of the new ones.
    """
    campaign = FieldCampaign.objects.get(pk=campaign_id)
    FieldCampaign.objects.filter(pk=campaign_id).update(cut_status=CutStatus.RUNNING)

    def progress(percent: int) -> None:
        FieldCampaign.objects.filter(pk=campaign_id).update(cut_progress=percent)
        if on_progress:
            on_progress(percent)

    try:
        planned = _plan_cut(campaign, progress)
        result = _write_cut(campaign, planned)
    except Exception as exc:
        FieldCampaign.objects.filter(pk=campaign_id).update(
            cut_status=CutStatus.FAILED, cut_message=str(exc)[:300]
        )
        raise
    FieldCampaign.objects.filter(pk=campaign_id).update(
        cut_status=CutStatus.DONE,
        cut_progress=100,
        cut_at=timezone.now(),
        cut_message=_("%(turfs)s secteurs, %(households)s foyers ; %(kept)s secteurs conservés.")
        % {"turfs": result.turfs, "households": result.households, "kept": result.kept},
    )
    return result


@dataclass
class _PlannedTurf:
    station: PollingStation | None
    commune_id: str
    households: list[Household]  # in walking order
    start: tuple[float, float]
    route_metres: int


def _plan_cut(campaign: FieldCampaign, progress: Callable[[int], None]) -> list[_PlannedTurf]:
    kept_addresses = TurfStop.objects.filter(turf__in=_worked_turfs(campaign)).values_list(
        "address_id", flat=True
    )
    station_ids = list(campaign.stations.values_list("pk", flat=True))
    households = households_of(station_ids, exclude_addresses=set(kept_addresses))
    progress(5)
    if not households:
        return []
    stations = PollingStation.objects.in_bulk({h.station_id for h in households})
    # Where each station's walks start: its place (the default meeting point of its turfs).
    places = {
        code: (station.latitude, station.longitude)
        for code, station in stations.items()
        if station.latitude is not None and station.longitude is not None
    }
    labels = _cut_labels(households, campaign.target_turf_doors, places)
    progress(30)
    members: dict[int, list[Household]] = defaultdict(list)
    for household, label in zip(households, labels, strict=True):
        members[int(label)].append(household)
    planned = []
    groups = sorted(members.values(), key=lambda g: (g[0].station_id, g[0].address_id))
    for done, group in enumerate(groups, start=1):
        station_codes = {h.station_id for h in group}
        station = stations[group[0].station_id] if len(station_codes) == 1 else None
        points = [(h.latitude, h.longitude) for h in group]
        default = _default_meeting(station)
        start = (
            (default["meeting_latitude"], default["meeting_longitude"])
            if default
            else _centre(points)
        )
        route = walk(
            start, points, [h.street.lower() or None for h in group], [h.number for h in group]
        )
        ordered = [group[i] for i in route.order]
        planned.append(
            _PlannedTurf(
                station=station,
                commune_id=Counter(h.commune_id for h in group).most_common(1)[0][0],
                households=ordered,
                start=start,
                route_metres=route.metres,
            )
        )
        progress(30 + 65 * done // len(groups))
    return planned


def _write_cut(campaign: FieldCampaign, planned: list[_PlannedTurf]) -> CutResult:
    with transaction.atomic():
        # One writer per campaign: hand edits and sessions wait for the new turfs.
        FieldCampaign.objects.select_for_update().get(pk=campaign.pk)
        worked = list(_worked_turfs(campaign).values_list("pk", flat=True))
        campaign.turfs.exclude(pk__in=worked).delete()
        taken = set(TurfStop.objects.filter(campaign=campaign).values_list("address_id", flat=True))
        number = (campaign.turfs.aggregate(top=Max("number"))["top"] or 0) + 1
        turfs, stops_of = [], []
        for plan in planned:
            households = [h for h in plan.households if h.address_id not in taken]
            if not households:
                continue
            meeting = _default_meeting(plan.station)
            turfs.append(
                Turf(
                    campaign=campaign,
                    number=number,
                    station=plan.station,
                    commune_id=plan.commune_id,
                    households=len(households),
                    doors=sum(h.doors for h in households),
                    route_metres=plan.route_metres,
                    **meeting,
                )
            )
            stops_of.append(households)
            number += 1
        Turf.objects.bulk_create(turfs)
        stops = [
            TurfStop(
                turf=turf,
                campaign=campaign,
                address_id=h.address_id,
                position=position,
                doors=h.doors,
            )
            for turf, households in zip(turfs, stops_of, strict=True)
            for position, h in enumerate(households)
        ]
        TurfStop.objects.bulk_create(stops, batch_size=2000)
    return CutResult(queued=False, turfs=len(turfs), households=len(stops), kept=len(worked))


# --- hand adjustments -----------------------------------------------------------------------
def _editable_turfs(scope: Scope, campaign: FieldCampaign, pks: Iterable[Any]) -> list[Turf]:
    """These turfs of the campaign in the scope (404 otherwise), refused (ValidationError)
    while a session is planned or under way on one of them: the volunteer's list would
    change under their feet."""
    require_manager(scope)
    wanted = {int(pk) for pk in pks}
    turfs = list(
        scope.turfs()
        .filter(campaign=campaign, pk__in=wanted)
        .select_related("station", "commune")
        .select_for_update(of=("self",))
    )
    if len(turfs) != len(wanted):
        raise Http404("No such turf.")
    busy = Session.objects.filter(turf__in=turfs, status__in=Session.OPEN_STATUSES)
    if busy.exists():
        raise ValidationError(
            _("Un secteur qui a une session prévue ou en cours ne peut pas être modifié.")
        )
    return turfs


def _refresh_station(turf: Turf) -> None:
    stations = set(turf.stops.values_list("address__station_id", flat=True))
    station_id = stations.pop() if len(stations) == 1 else None
    if station_id != turf.station_id:
        turf.station_id = station_id
        turf.save(update_fields=["station"])


def move_stops(
    *, scope: Scope, campaign: FieldCampaign, address_ids: Iterable[int], target: Any
) -> Turf:
    """Move these addresses (from any turfs of the campaign) to the ``target`` turf."""
    require_manager(scope)
    ids = {int(pk) for pk in address_ids}
    if not ids:
        raise ValidationError(_("Choisissez d'abord des adresses sur la carte."))
    with transaction.atomic():
        sources = set(
            TurfStop.objects.filter(campaign=campaign, address_id__in=ids).values_list(
                "turf_id", flat=True
            )
        )
        if TurfStop.objects.filter(campaign=campaign, address_id__in=ids).count() != len(ids):
            raise Http404("No such address in this campaign.")
        turfs = {t.pk: t for t in _editable_turfs(scope, campaign, {*sources, target})}
        destination = turfs[int(target)]
        if any(turfs[pk].commune_id != destination.commune_id for pk in sources):
            raise ValidationError(
                _("Un secteur reste dans une commune : ces adresses sont dans une autre.")
            )
        last = destination.stops.aggregate(top=Max("position"))["top"] or 0
        TurfStop.objects.filter(campaign=campaign, address_id__in=ids).update(
            turf=destination, position=last + 1
        )
        for turf in turfs.values():
            _refresh_station(turf)
            reorder_turf(turf)
    return destination


def split_turf(*, scope: Scope, turf: Turf) -> Turf:
    """Cut a turf in two along its walk (the second half of the route becomes a new
    turf, so both stay compact); returns the new turf."""
    with transaction.atomic():
        (turf,) = _editable_turfs(scope, turf.campaign, [turf.pk])
        stops = list(turf.stops.order_by("position", "id"))
        if len(stops) < 2:
            raise ValidationError(_("Un secteur d'une seule adresse ne se divise pas."))
        half, running, cut = sum(s.doors for s in stops) / 2, 0, 1
        for index, stop in enumerate(stops[:-1], start=1):
            running += stop.doors
            cut = index
            if running >= half:
                break
        number = (turf.campaign.turfs.aggregate(top=Max("number"))["top"] or 0) + 1
        second = Turf.objects.create(
            campaign=turf.campaign,
            number=number,
            station=turf.station,
            commune=turf.commune,
            meeting_label=turf.meeting_label,
            meeting_latitude=turf.meeting_latitude,
            meeting_longitude=turf.meeting_longitude,
        )
        TurfStop.objects.filter(pk__in=[s.pk for s in stops[cut:]]).update(turf=second)
        reorder_turf(turf)
        reorder_turf(second)
    return second


def merge_turfs(*, scope: Scope, turf: Turf, other: Any) -> Turf:
    """Move every stop of ``other`` into ``turf`` and delete ``other`` (which must have
    no sessions nor recorded doors)."""
    with transaction.atomic():
        turfs = {t.pk: t for t in _editable_turfs(scope, turf.campaign, [turf.pk, other])}
        if len(turfs) != 2:
            raise ValidationError(_("Choisissez deux secteurs différents."))
        kept, gone = turfs[turf.pk], turfs[int(other)]
        if kept.commune_id != gone.commune_id:
            raise ValidationError(_("Deux secteurs de communes différentes ne fusionnent pas."))
        if _worked_turfs(turf.campaign).filter(pk=gone.pk).exists():
            raise ValidationError(
                _("Le secteur %(turf)s a déjà des sessions ou des portes : il reste tel quel.")
                % {"turf": gone}
            )
        gone.stops.update(turf=kept)
        gone.delete()
        _refresh_station(kept)
        reorder_turf(kept)
    return kept


# --- sessions and claims --------------------------------------------------------------------
def assignable_volunteers(scope: Scope, turf: Turf) -> QuerySet[User]:
    """Who an organizer may send on this turf: active accounts attached to its commune,
    département or région, and members of the teams of its commune."""
    users = User.objects.filter(is_active=True)
    if scope.is_hq:
        return users
    commune = turf.commune
    return users.filter(
        Q(communes=commune)
        | Q(departements=commune.departement_id)
        | Q(regions__departements=commune.departement_id)
        | Q(canvass_teams__commune=commune)
    ).distinct()


def _sync_turf_status(turf: Turf) -> None:
    """Turf status follows its sessions: assigned while one is open, done once one ended
    done, open otherwise."""
    sessions = Session.objects.filter(turf=turf)
    if sessions.filter(status__in=Session.OPEN_STATUSES).exists():
        status = Turf.Status.ASSIGNED
    elif sessions.filter(status=Session.Status.DONE).exists():
        status = Turf.Status.DONE
    else:
        status = Turf.Status.OPEN
    Turf.objects.filter(pk=turf.pk).exclude(status=status).update(status=status)
    turf.status = status


def _turf_taken() -> ValidationError:
    return ValidationError(
        _("Ce secteur vient d'être attribué à quelqu'un d'autre : choisissez-en un autre.")
    )


def create_session(
    *,
    scope: Scope,
    turf: Turf,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    volunteer: User | None = None,
    team: Team | None = None,
    meeting_label: str = "",
    meeting_latitude: float | None = None,
    meeting_longitude: float | None = None,
) -> Session:
    """Assign a turf (loaded with ``turf_for_write``) to a volunteer or a team."""
    require_manager(scope)
    errors: dict[str, str] = {}
    if (volunteer is None) == (team is None):
        errors["volunteer"] = _("Choisissez un militant ou une équipe (pas les deux).")
    if (
        volunteer is not None
        and not assignable_volunteers(scope, turf).filter(pk=volunteer.pk).exists()
    ):
        errors["volunteer"] = _("Ce militant n'est pas rattaché au territoire du secteur.")
    if team is not None and not teams_in_scope(scope).filter(pk=team.pk).exists():
        errors["team"] = _("Cette équipe n'est pas dans votre territoire.")
    if ends_at <= starts_at:
        errors["ends_at"] = _("La fin doit suivre le début.")
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            session = Session.objects.create(
                campaign_id=turf.campaign_id,
                turf=turf,
                volunteer=volunteer,
                team=team,
                starts_at=starts_at,
                ends_at=ends_at,
                meeting_label=meeting_label or turf.meeting_label,
                meeting_latitude=meeting_latitude
                if meeting_latitude is not None
                else turf.meeting_latitude,
                meeting_longitude=meeting_longitude
                if meeting_longitude is not None
                else turf.meeting_longitude,
                created_by=scope.user,
            )
            _sync_turf_status(turf)
    except IntegrityError:
        # The database's one_open_session_per_turf decides between simultaneous requests.
        raise ValidationError(
            _("Ce secteur a déjà une session prévue ou en cours : annulez-la d'abord.")
        ) from None
    return session


def claim_turf(*, scope: Scope, turf_id: Any, starts_at: dt.datetime | None = None) -> Session:
    """A volunteer takes an open turf of their territory (when its campaign allows it).

    The turf must be claimable (404 otherwise); see ``take_turf`` for the race."""
    try:
        turf = scope.claimable_turfs().get(pk=turf_id)
    except (ValueError, TypeError, Turf.DoesNotExist):
        raise Http404("No such turf.") from None
    return take_turf(scope=scope, turf=turf, starts_at=starts_at)


def take_turf(*, scope: Scope, turf: Turf, starts_at: dt.datetime | None = None) -> Session:
    """The write of a claim, for a turf read from ``scope.claimable_turfs()``.

    Two volunteers who both read the turf as open race here: the conditional update of
    its status lets one through (the other updates no row), and the
    ``one_open_session_per_turf`` constraint backs it up; the loser gets a
    ValidationError saying the turf was just taken.
    """
    start = starts_at or timezone.now()
    try:
        with transaction.atomic():
            taken = Turf.objects.filter(pk=turf.pk, status=Turf.Status.OPEN).update(
                status=Turf.Status.ASSIGNED
            )
            if not taken:
                raise _turf_taken()
            session = Session.objects.create(
                campaign_id=turf.campaign_id,
                turf=turf,
                volunteer=scope.user,
                starts_at=start,
                ends_at=start + dt.timedelta(hours=DEFAULT_SESSION_HOURS),
                meeting_label=turf.meeting_label,
                meeting_latitude=turf.meeting_latitude,
                meeting_longitude=turf.meeting_longitude,
                claimed=True,
                created_by=scope.user,
            )
    except IntegrityError:
        raise _turf_taken() from None
    return session


def session_for_write(scope: Scope, pk: Any) -> Session:
    if not scope.can_read_field:
        raise Http404("No such session.")
    try:
        session = scope.sessions().select_related("turf").get(pk=pk)
    except (ValueError, TypeError, Session.DoesNotExist):
        raise Http404("No such session.") from None
    require_manager(scope)
    return session


def set_session_status(*, scope: Scope, session: Session, status: str) -> Session:
    """Cancel a session or mark it done; the turf's status follows."""
    require_manager(scope)
    if status not in (Session.Status.CANCELLED, Session.Status.DONE):
        raise ValidationError(_("État de session inconnu."))
    with transaction.atomic():
        Session.objects.filter(pk=session.pk).update(status=status)
        session.status = status
        _sync_turf_status(session.turf)
    return session


def my_sessions(scope: Scope) -> QuerySet[Session]:
    """A volunteer's sessions (their own and their teams'), the open ones first."""
    return scope.sessions().select_related("turf", "campaign", "team").order_by("-starts_at", "-id")
