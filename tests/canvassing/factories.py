"""Factories for field work: stations with addresses, campaigns, turfs, sessions, doors.

``turf_with_stops(n)`` builds a real little street: ``n`` addresses of one polling station
in a commune, in walking order, so tests of every part of canvassing start from the same
shape the turf cutter produces.
"""

from __future__ import annotations

import datetime as dt
import uuid

import factory
from django.utils import timezone

from campagne.canvassing.models import (
    Canvass,
    Channel,
    FieldCampaign,
    Outcome,
    Session,
    Turf,
    TurfStop,
)
from campagne.elections.models import Address, AddressSource, PollingStation
from tests.factories import UserFactory, commune, departement

# Digne-les-Bains, around the town hall.
DIGNE = (44.0925, 6.2356)


def station(code: str = "04070_0001", commune_code: str = "04070") -> PollingStation:
    """A polling station (``<INSEE>_<4 digits>``) located in its commune."""
    town = commune(commune_code)
    return PollingStation.objects.get_or_create(
        id=code,
        defaults={
            "commune": town,
            "departement_id": town.departement_id,
            "number": code.rsplit("_", 1)[1].lstrip("0") or "0",
            "name": f"Bureau {code}",
            "latitude": DIGNE[0],
            "longitude": DIGNE[1],
        },
    )[0]


def addresses(
    n: int, *, at: PollingStation | None = None, street: str = "Rue de l'Hubac"
) -> list[Address]:
    """``n`` BAN addresses along one street (even numbers on one side, odd on the other)."""
    place = at or station()
    lat0, lon0 = place.latitude or DIGNE[0], place.longitude or DIGNE[1]
    start = Address.objects.filter(source_id__startswith="test_").count()
    rows = []
    for i in range(n):
        number = i + 1
        rows.append(
            Address(
                source=AddressSource.BAN,
                source_id=f"test_{start + i}",
                number=number,
                street=street,
                postal_code="04000",
                commune_id=place.commune_id,
                latitude=lat0 + 0.00009 * (i // 2),
                longitude=lon0 + (0.00004 if number % 2 else -0.00004),
                station=place,
                match_key=f"{number}||{street.lower()}|{place.commune_id}",
            )
        )
    return Address.objects.bulk_create(rows)


class FieldCampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FieldCampaign
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Porte-à-porte {n}")
    channel = Channel.DOOR
    departement = factory.LazyFunction(departement)
    script = "Bonjour, je suis militant·e de la campagne…"
    questionnaire = factory.LazyFunction(
        lambda: [
            {
                "key": "sujets",
                "label": "Les sujets qui comptent",
                "kind": "multi",
                "choices": ["Emploi", "Santé", "Logement", "Sécurité", "Écologie"],
            }
        ]
    )
    goal_doors = 1000
    goal_conversations = 300


class TurfFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Turf

    campaign = factory.SubFactory(FieldCampaignFactory)
    number = factory.Sequence(lambda n: n + 1)
    station = factory.LazyFunction(station)
    commune = factory.LazyAttribute(lambda turf: turf.station.commune)
    meeting_label = "Devant la mairie"
    meeting_latitude = DIGNE[0]
    meeting_longitude = DIGNE[1]


def turf_with_stops(n: int = 10, **kwargs: object) -> Turf:
    """A turf of ``n`` households of one street, in walking order, its sums up to date."""
    turf = TurfFactory(**kwargs)
    stops = [
        TurfStop(turf=turf, campaign=turf.campaign, address=address, position=i, doors=1)
        for i, address in enumerate(addresses(n, at=turf.station))
    ]
    TurfStop.objects.bulk_create(stops)
    turf.households = turf.doors = n
    turf.save(update_fields=["households", "doors"])
    return turf


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Session

    turf = factory.SubFactory(TurfFactory)
    campaign = factory.LazyAttribute(lambda session: session.turf.campaign)
    volunteer = factory.SubFactory(UserFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(minutes=30))
    ends_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(hours=2))
    meeting_label = "Devant la mairie"


class CanvassFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Canvass

    client_uuid = factory.LazyFunction(uuid.uuid4)
    session = factory.SubFactory(SessionFactory)
    turf = factory.LazyAttribute(lambda canvass: canvass.session.turf)
    campaign = factory.LazyAttribute(lambda canvass: canvass.session.campaign)
    volunteer = factory.LazyAttribute(lambda canvass: canvass.session.volunteer)
    commune = factory.LazyAttribute(lambda canvass: canvass.turf.commune)
    outcome = Outcome.NOT_HOME
    recorded_at = factory.LazyFunction(timezone.now)
