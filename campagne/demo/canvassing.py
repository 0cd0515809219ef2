"""The demo's field work: a door-to-door campaign on the top priority stations of the demo
targeting profile, and a phone campaign, with a few days of results.

Made with the same verbs as the pages where they exist (``canvassing.actions`` creates the
campaign and cuts its turfs; ``canvassing.calling`` fills the call queue), so the demo
shows what the code does. The door and call records themselves are written in bulk (what
the field app and ``calling.record_call`` would leave behind): one ``bulk_create`` for a
few hundred doors rather than one request per door.

Outcomes are drawn (seeded) to the ratios of the 2012 campaign: about 4 doors in 10
open, and one positive contact per 14 doors opened.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from campagne.accounts.scopes import scope_for
from campagne.canvassing import actions as field_actions
from campagne.canvassing import calling
from campagne.canvassing.models import (
    CallTarget,
    Canvass,
    Channel,
    FieldCampaign,
    Outcome,
    Session,
    SessionReport,
    Team,
    Turf,
    TurfStop,
)
from campagne.elections.models import PollingStation
from campagne.segments.models import Segment
from campagne.territory.models import Departement

DOOR_CAMPAIGN = "Porte-à-porte des bureaux prioritaires (démo)"
PHONE_CAMPAIGN = "Phoning des sympathisants (démo)"
PHONE_SEGMENT = "À appeler : contacts joignables du 04 (démo)"
DEPARTEMENT = "04"
# The best-ranked stations taken, and the households that are enough for the demo.
MAX_STATIONS = 4
ENOUGH_HOUSEHOLDS = 250
TURF_DOORS = 40
# Days of results before today, and minutes a door takes.
DAYS = 3
MINUTES_PER_DOOR = 2
CALLS_PER_DAY = 6

SCRIPT = (
    "Bonjour, je m'appelle … et je suis militant·e de la campagne. Nous passons dans le "
    "quartier pour écouter ce qui compte pour vous.\n"
    "— Qu'est-ce qui devrait changer en priorité ici ?\n"
    "— Comptez-vous aller voter ? Savez-vous où se trouve votre bureau de vote ?\n"
    "Merci ! Voici notre tract ; vous pouvez nous rejoindre quand vous voulez."
)
ISSUES = ["Emploi", "Santé", "Logement", "Transports", "Écologie", "Services publics"]
QUESTIONNAIRE = [
    {"key": "sujets", "label": "Les sujets qui comptent", "kind": "multi", "choices": ISSUES},
    {
        "key": "vote",
        "label": "Ira voter ?",
        "kind": "choice",
        "choices": ["Oui", "Peut-être", "Non", "Pas inscrit"],
    },
]
REPORTS = [
    (
        "Beaucoup de questions sur l'hôpital et les déserts médicaux.",
        "Deux digicodes inconnus rue des Écoles.",
        "Plus de tracts « santé ».",
    ),
    (
        "Bon accueil en général, les gens parlent surtout des transports.",
        "",
        "Un plan imprimé plus grand.",
    ),
    (
        "Plusieurs personnes ne savent pas où est leur bureau de vote.",
        "Pluie en fin de tournée.",
        "",
    ),
]

# Of 100 doors knocked: not opened, then opened (the 2012 ratios: ~1 positive / 14 opened).
NOT_OPENED = [
    (Outcome.NOT_HOME, 52),
    (Outcome.COME_BACK, 3),
    (Outcome.MOVED, 2),
    (Outcome.INACCESSIBLE, 1),
]
OPENED_SHARE = 0.42
OPENED = [
    (Outcome.POSITIVE, 1 / 14),
    (Outcome.REFUSED, 0.30),
    (Outcome.NEGATIVE, 0.28),
    (Outcome.UNDECIDED, 1 - 1 / 14 - 0.30 - 0.28),
]


@dataclass(frozen=True)
class DemoCanvassingReport:
    turfs: int
    sessions: int
    doors: int
    calls: int


def _paris() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _counts(total: int, shares: list[tuple[str, float]]) -> list[str]:
    """``total`` outcomes in these shares exactly (largest remainders), not drawn one by one:
    the demo's "1 in 14" is 14 whatever the seed."""
    weight = sum(share for _outcome, share in shares)
    raw = [(outcome, total * share / weight) for outcome, share in shares]
    counts = {outcome: int(value) for outcome, value in raw}
    rest = total - sum(counts.values())
    for outcome, _value in sorted(raw, key=lambda item: item[1] - int(item[1]), reverse=True)[
        :rest
    ]:
        counts[outcome] += 1
    return [outcome for outcome, _share in shares for _ in range(counts[outcome])]


def _outcomes(doors: int, rng: random.Random) -> list[str]:
    opened = round(doors * OPENED_SHARE)
    outcomes = _counts(opened, OPENED) + _counts(doors - opened, NOT_OPENED)
    rng.shuffle(outcomes)
    return outcomes


def _stations(profile: Any) -> list[PollingStation]:
    """The best-ranked stations of the profile that have addresses to knock."""
    from campagne.targeting.models import StationScore

    scores = (
        StationScore.objects.filter(profile=profile, station__departement_id=DEPARTEMENT)
        .annotate(addresses=Count("station__addresses"))
        .filter(addresses__gt=0)
        .select_related("station")
        .order_by("rank")[:MAX_STATIONS]
    )
    chosen, households = [], 0
    for score in scores:
        chosen.append(score.station)
        households += score.addresses
        if households >= ENOUGH_HOUSEHOLDS:
            break
    return chosen


def load_demo_canvassing(*, users: dict[str, Any], seed: int) -> DemoCanvassingReport:
    """The demo's door and phone campaigns, with ``DAYS`` days of results up to now."""
    from campagne.demo.elections import PROFILE_NAME
    from campagne.targeting.models import TargetingProfile

    rng = random.Random(seed)
    profile = TargetingProfile.objects.filter(name=PROFILE_NAME, owner=users["admin"]).first()
    organizer, volunteer = users["organizer"], users["volunteer"]
    scope = scope_for(organizer)
    stations = _stations(profile) if profile is not None else []
    today = timezone.localdate()
    campaign = field_actions.create_campaign(
        scope=scope,
        name=DOOR_CAMPAIGN,
        channel=Channel.DOOR,
        starts_on=today - dt.timedelta(days=DAYS),
        ends_on=today + dt.timedelta(days=30),
        departement=Departement.objects.get(pk=DEPARTEMENT),
        targeting_profile=profile,
        script=SCRIPT,
        questionnaire=QUESTIONNAIRE,
        goal_doors=2000,
        goal_conversations=500,
        target_turf_doors=TURF_DOORS,
        stations=stations,
    )
    if stations:
        field_actions.cut_campaign(scope=scope, campaign=campaign)
    turfs = list(campaign.turfs.select_related("commune").order_by("number"))
    sessions, doors = _walk_turfs(campaign, turfs, organizer, volunteer, today, rng)
    calls = _phone_campaign(organizer, volunteer, today, rng)
    return DemoCanvassingReport(turfs=len(turfs), sessions=sessions, doors=doors, calls=calls)


def _walk_turfs(
    campaign: FieldCampaign,
    turfs: list[Turf],
    organizer: Any,
    volunteer: Any,
    today: dt.date,
    rng: random.Random,
) -> tuple[int, int]:
    """Past sessions on the first turfs (done, with their doors and reports), then one
    planned for the volunteer tomorrow on the next open turf."""
    if not turfs:
        return 0, 0
    paris = _paris()
    team = Team.objects.create(name="Équipe des bureaux prioritaires", commune=turfs[0].commune)
    team.members.add(volunteer)
    campaign.teams.add(team)
    stops: dict[int, list[tuple[int, int, float | None, float | None]]] = {}
    for turf_id, address_id, doors, lat, lon in (
        TurfStop.objects.filter(turf__in=turfs)
        .order_by("turf", "position")
        .values_list("turf_id", "address_id", "doors", "address__latitude", "address__longitude")
    ):
        stops.setdefault(turf_id, []).append((address_id, doors, lat, lon))
    # Two walks a day: the volunteer in the afternoon, the volunteer's team on Saturday
    # mornings, the organizer now and then.
    plan = []
    walkers = [(volunteer, None), (organizer, None), (None, team)]
    # The last turf stays free for the volunteer's next session.
    walked = turfs[: min(2 * DAYS, max(1, len(turfs) - 1))]
    for index, turf in enumerate(walked):
        day = today - dt.timedelta(days=DAYS - index // 2)
        walker, walking_team = walkers[index % len(walkers)]
        start = dt.datetime.combine(day, dt.time(10 if index % 2 == 0 else 15), tzinfo=paris)
        plan.append((turf, walker, walking_team, start))
    sessions, records, reports = [], [], []
    for turf, walker, walking_team, start in plan:
        turf_stops = stops.get(turf.pk, [])
        minutes = max(60, MINUTES_PER_DOOR * sum(d for _a, d, _la, _lo in turf_stops))
        session = Session(
            campaign=campaign,
            turf=turf,
            volunteer=walker,
            team=walking_team,
            starts_at=start,
            ends_at=start + dt.timedelta(minutes=minutes + 15),
            meeting_label=turf.meeting_label,
            meeting_latitude=turf.meeting_latitude,
            meeting_longitude=turf.meeting_longitude,
            status=Session.Status.DONE,
            created_by=campaign.created_by,
            created_at=start - dt.timedelta(days=2),
        )
        sessions.append(session)
    Session.objects.bulk_create(sessions)
    walks = []
    for session in sessions:
        walks.append(
            [
                (address_id, f"porte {n + 1}" if count > 1 else "", lat, lon)
                for address_id, count, lat, lon in stops.get(session.turf_id, [])
                for n in range(count)
            ]
        )
    # Drawn over all the doors at once, so the ratios hold however small the turfs are.
    outcomes = iter(_outcomes(sum(len(doors) for doors in walks), rng))
    for session, doors in zip(sessions, walks, strict=True):
        walker = session.volunteer or volunteer
        for position, (address_id, door, lat, lon) in enumerate(doors):
            at = session.starts_at + dt.timedelta(
                minutes=10 + MINUTES_PER_DOOR * position, seconds=rng.randint(0, 90)
            )
            records.append(
                _door(session, walker, address_id, door, lat, lon, next(outcomes), at, rng)
            )
        heard, problems, material = REPORTS[len(reports) % len(REPORTS)]
        reports.append(
            SessionReport(
                session=session,
                author=walker,
                heard=heard,
                problems=problems,
                material=material,
                created_at=session.ends_at,
            )
        )
    Canvass.objects.bulk_create(records, batch_size=1000)
    SessionReport.objects.bulk_create(reports)
    Turf.objects.filter(pk__in=[s.turf_id for s in sessions]).update(status=Turf.Status.DONE)
    upcoming = turfs[len(sessions)] if len(turfs) > len(sessions) else None
    if upcoming is not None:
        start = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(17), tzinfo=paris)
        Session.objects.create(
            campaign=campaign,
            turf=upcoming,
            volunteer=volunteer,
            starts_at=start,
            ends_at=start + dt.timedelta(hours=2),
            meeting_label=upcoming.meeting_label,
            meeting_latitude=upcoming.meeting_latitude,
            meeting_longitude=upcoming.meeting_longitude,
            created_by=campaign.created_by,
        )
        Turf.objects.filter(pk=upcoming.pk).update(status=Turf.Status.ASSIGNED)
    return len(sessions) + (upcoming is not None), len(records)


def _door(
    session: Session,
    walker: Any,
    address_id: int,
    door: str,
    lat: float | None,
    lon: float | None,
    outcome: str,
    at: dt.datetime,
    rng: random.Random,
) -> Canvass:
    talked = outcome in (Outcome.POSITIVE, Outcome.NEGATIVE, Outcome.UNDECIDED)
    consent = talked and rng.random() < 0.6
    support = {Outcome.POSITIVE: rng.choice([4, 5]), Outcome.UNDECIDED: 3}.get(
        outcome, rng.choice([1, 2])
    )
    issues = sorted(rng.sample(ISSUES, rng.randint(1, 2))) if consent else []
    return Canvass(
        client_uuid=uuid.UUID(int=rng.getrandbits(128), version=4),
        channel=Channel.DOOR,
        campaign_id=session.campaign_id,
        turf_id=session.turf_id,
        session=session,
        address_id=address_id,
        door=door,
        commune_id=session.turf.commune_id,
        volunteer=walker,
        outcome=outcome,
        opinion_consent=consent,
        support=support if consent else None,
        issues=issues,
        answers={"sujets": issues} if consent else {},
        wants_to_volunteer=outcome == Outcome.POSITIVE and rng.random() < 0.3,
        wants_contact=outcome == Outcome.POSITIVE and rng.random() < 0.5,
        latitude=lat,
        longitude=lon,
        accuracy_metres=round(rng.uniform(5, 25), 1) if lat is not None else None,
        recorded_at=at,
        received_at=at + dt.timedelta(seconds=rng.randint(1, 600)),
    )


def _phone_campaign(organizer: Any, volunteer: Any, today: dt.date, rng: random.Random) -> int:
    """A phone campaign on the reachable contacts of 04, its queue, and a few calls made
    by the volunteer on the afternoons of the last days (never a Sunday)."""
    segment = Segment.objects.create(
        name=PHONE_SEGMENT,
        owner=organizer,
        description="Les contacts du 04 qui ont un téléphone et ont accepté d'être appelés.",
        definition={"has_phone": True, "consents": ["phone"]},
    )
    team = Team.objects.create(name="Phoning du 04", commune_id="04070")
    team.members.add(volunteer)
    campaign = FieldCampaign.objects.create(
        name=PHONE_CAMPAIGN,
        channel=Channel.PHONE,
        departement_id=DEPARTEMENT,
        segment=segment,
        script=SCRIPT.replace("Nous passons dans le quartier", "Je vous appelle"),
        questionnaire=QUESTIONNAIRE,
        goal_doors=500,
        goal_conversations=150,
        starts_on=today - dt.timedelta(days=DAYS),
        created_by=organizer,
    )
    campaign.teams.add(team)
    calling.fill_call_queue(campaign)
    # The calls in bulk, as the doors: what ``calling.record_call`` would leave behind.
    paris = _paris()
    days = [today - dt.timedelta(days=n) for n in range(DAYS, 0, -1)]
    days = [day for day in days if day.weekday() != 6]
    targets = list(
        CallTarget.objects.filter(campaign=campaign)
        .select_related("person")
        .order_by("pk")[: CALLS_PER_DAY * len(days)]
    )
    records = []
    for index, target in enumerate(targets):
        at = dt.datetime.combine(
            days[index // CALLS_PER_DAY], dt.time(14), tzinfo=paris
        ) + dt.timedelta(minutes=7 * (index % CALLS_PER_DAY))
        outcome = rng.choice(
            [Outcome.NOT_HOME] * 5
            + [Outcome.POSITIVE, Outcome.NEGATIVE, Outcome.UNDECIDED, Outcome.REFUSED]
        )
        closes = outcome in calling.CLOSING_OUTCOMES
        target.status = CallTarget.Status.DONE if closes else CallTarget.Status.WAITING
        target.attempts = 1
        target.next_call_after = (
            None if closes else at + dt.timedelta(hours=campaign.call_cooldown_hours)
        )
        records.append(
            Canvass(
                client_uuid=uuid.UUID(int=rng.getrandbits(128), version=4),
                channel=Channel.PHONE,
                campaign=campaign,
                commune_id=target.person.commune_id or target.commune_id,
                person=target.person,
                volunteer=volunteer,
                outcome=outcome,
                recorded_at=at,
                received_at=at,
            )
        )
    Canvass.objects.bulk_create(records)
    CallTarget.objects.bulk_update(targets, ["status", "attempts", "next_call_after"])
    return len(records)


def reset_demo_canvassing(owners: Any) -> None:
    """Remove the field campaigns, teams and segments the demo accounts made."""
    campaigns = FieldCampaign.objects.filter(created_by__in=owners)
    team_ids = list(campaigns.values_list("teams", flat=True))
    segment_ids = list(campaigns.exclude(segment=None).values_list("segment_id", flat=True))
    campaigns.delete()
    Team.objects.filter(pk__in=[pk for pk in team_ids if pk]).delete()
    Segment.objects.filter(pk__in=segment_ids, owner__in=owners).delete()
