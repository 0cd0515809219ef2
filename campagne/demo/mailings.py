"""The demo campaign's mailings: three already sent, with their recipients and clicks.

Written in bulk like the rest of the demo: recipient rows in the ``sent`` state, their
``sent_at`` spread over the days of each send, and human opens and clicks (tracking hits)
so that the mailing pages and reports show real-looking figures.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from campagne.accounts.models import User
from campagne.mailing.models import Mailing, Recipient, Sender
from campagne.mailing.rendering import compile_mailing
from campagne.people.models import Channel, Consent, Person
from campagne.segments.models import Segment

SENDER_ADDRESS = "equipe@demo.campagne.test"
SEGMENT_NAME = "Contacts e-mail (démo)"
BATCH = 2000


@dataclass(frozen=True)
class DemoMailing:
    author: str  # key of the demo account
    days_ago: int
    subject: str
    body: str
    share: float  # of the reachable people (a segment would select them)
    open_rate: float
    click_rate: float
    communes: tuple[str, ...] = ()


MAILINGS = (
    DemoMailing(
        "admin",
        12,
        'Bienvenue dans la campagne, {{ prenom | "ami·e" }} !',
        "# Merci de nous rejoindre, {{ prenom }} !\n\nLa campagne commence dans les "
        "Alpes-de-Haute-Provence. [Découvrez le programme](https://campagne.test/programme)"
        "\n\nÀ très vite,\n\nL'équipe",
        0.35,
        0.42,
        0.09,
    ),
    DemoMailing(
        "admin",
        5,
        "Réunion publique à {{ commune }} : on compte sur vous",
        "Bonjour {{ prenom }},\n\nRetrouvons-nous **samedi à 18 h** pour une réunion "
        "publique. [Je viens](https://campagne.test/evenements/reunion)\n\n"
        "[Proposer un covoiturage](https://campagne.test/covoiturage)",
        0.2,
        0.38,
        0.06,
    ),
    DemoMailing(
        "organizer_digne",
        2,
        "Digne : porte-à-porte ce week-end",
        'Bonjour {{ prenom | "à vous" }},\n\nNous frappons aux portes de Digne-les-Bains '
        "ce week-end. [Je m'inscris](https://campagne.test/porte-a-porte)",
        1.0,
        0.45,
        0.12,
        communes=("04070",),
    ),
)


def load_demo_mailings(users: dict[str, User], seed: int) -> int:
    """Create the sent mailings; returns the number of recipient rows."""
    rng = random.Random(seed)  # noqa: S311 - made-up figures, not security
    sender, _created = Sender.objects.get_or_create(
        address=SENDER_ADDRESS,
        defaults={"name": "Équipe de campagne (démo)", "validated": True},
    )
    segment = Segment.objects.create(name=SEGMENT_NAME, definition={}, owner=users["admin"])
    reachable = list(
        Person.objects.filter(demo_marker__isnull=False)
        .exclude(email="")
        .filter(pk__in=Consent.objects.filter(channel=Channel.EMAIL, granted=True).values("person"))
        .order_by("pk")
        .values_list("pk", "email", "first_name", "last_name", "commune_id", "commune__name")
    )
    now = timezone.now()
    total = 0
    for spec in MAILINGS:
        started = now - timedelta(days=spec.days_ago, hours=rng.randint(1, 6))
        mailing = Mailing.objects.create(
            sender=sender,
            subject=spec.subject,
            preheader="",
            body=spec.body,
            status=Mailing.Status.SENT,
            started_at=started,
            finished_at=started + timedelta(minutes=40),
            created_by=users[spec.author],
            created_at=started - timedelta(days=1),
        )
        mailing.segments.set([segment])
        people = [p for p in reachable if not spec.communes or p[4] in spec.communes]
        people = [p for p in people if rng.random() < spec.share]
        total += _write_recipients(mailing, people, started, spec, rng)
    return total


def _write_recipients(
    mailing: Mailing,
    people: list[tuple[Any, ...]],
    started: datetime,
    spec: DemoMailing,
    rng: random.Random,
) -> int:
    from campagne.tracking.links import register_links
    from campagne.tracking.models import Hit

    register_links(mailing.pk, compile_mailing(mailing).links)
    recipients = []
    for pk, email, first, last, _commune, commune_name in people:
        merge = {"prenom": first, "nom": last, "commune": commune_name or "", "origine": "démo"}
        at = started + timedelta(seconds=rng.uniform(0, 2400))
        recipients.append(
            Recipient(
                mailing=mailing,
                person_id=pk,
                email=email.lower(),
                merge=merge,
                status=Recipient.Status.SENT,
                sent_at=at,
                attempts=1,
            )
        )
    _insert_objects(Recipient, recipients)
    sent = Recipient.objects.filter(mailing=mailing).values_list("id", "sent_at")
    hits = []
    for recipient_id, delivered in sent:
        if rng.random() >= spec.open_rate:
            continue
        opened = delivered + timedelta(minutes=rng.expovariate(1 / 30))
        hits.append(_hit(Hit.Kind.OPEN, mailing, recipient_id, 0, opened))
        if rng.random() < spec.click_rate / spec.open_rate:
            clicked = opened + timedelta(seconds=rng.uniform(10, 300))
            hits.append(_hit(Hit.Kind.CLICK, mailing, recipient_id, 1, clicked))
    _insert_objects(Hit, hits)
    return len(recipients)


def _hit(kind: str, mailing: Mailing, recipient_id: int, link: int, at: datetime) -> Any:
    from campagne.tracking.models import Hit

    return Hit(
        id=uuid.uuid4(),
        kind=kind,
        mailing=mailing,
        recipient_id=recipient_id,
        link_number=link,
        at=at,
    )


def _insert_objects(model: Any, objects: list[Any]) -> None:
    """Plain ``executemany`` INSERTs of unsaved model instances: ``bulk_create`` spends
    most of its time preparing each value; here only dates and JSON need it. Every
    concrete column is written (an auto id only when set), so new fields with Python
    defaults are filled too."""
    if not objects:
        return
    fields = [
        field
        for field in model._meta.concrete_fields
        if not (field.primary_key and getattr(objects[0], field.attname) is None)
    ]
    adapt = {
        field.attname: field.get_db_prep_save
        for field in fields
        if field.get_internal_type() in ("DateTimeField", "JSONField", "UUIDField")
    }
    rows = []
    for obj in objects:
        row = []
        for field in fields:
            value = getattr(obj, field.attname)
            prepare = adapt.get(field.attname)
            row.append(prepare(value, connection) if prepare is not None else value)
        rows.append(tuple(row))
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    # Names come from the model; values travel as parameters.
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            cursor.executemany(sql, rows[start : start + BATCH])


def reset_demo_mailings(users: Any) -> None:
    """Delete the demo accounts' mailings (their recipients and hits go with them)."""
    from campagne.tracking.models import Hit

    mailings = Mailing.objects.filter(created_by__in=users)
    Hit.objects.filter(mailing__in=mailings).delete()
    Recipient.objects.filter(mailing__in=mailings).delete()
    mailings.delete()
    Sender.objects.filter(address=SENDER_ADDRESS, mailings__isnull=True).delete()
    Segment.objects.filter(name=SEGMENT_NAME, owner__in=users).delete()


def fill_demo_inbox(count: int = 3) -> int:
    """Put a few messages of the demo's latest mailing in the demo inbox, when it is empty.

    The demo's mailings were "sent" before the inbox existed: without this, a newcomer's
    inbox is empty until they send something. The messages are built by the sender's own
    builder for real recipient rows, so their tracked links count clicks and their
    unsubscribe link withdraws that demo person's consent. Call it once the links' base
    URL (``CAMPAGNE_BASE_URL``) points at the running demo. Returns the messages stored.
    """
    from campagne.demo.models import DemoMessage
    from campagne.demo.sink import store
    from campagne.mailing.message import Skeleton

    if DemoMessage.objects.exists():
        return 0
    mailing = (
        Mailing.objects.filter(sender__address=SENDER_ADDRESS, status=Mailing.Status.SENT)
        .select_related("sender")
        .order_by("-started_at")
        .first()
    )
    if mailing is None:
        return 0
    skeleton = Skeleton(mailing)
    rows = Recipient.objects.filter(mailing=mailing).order_by("pk")[:count]
    for row in rows:
        _message_id, message = skeleton.build(
            recipient_id=row.pk, email=row.email, merge=row.merge, origin="démo"
        )
        store(mailing.sender.address, [row.email], message)
    return len(rows)
