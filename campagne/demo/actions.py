"""Loading and removing the demo campaign: made-up people in Alpes-de-Haute-Provence (04).

The load writes, in one transaction and in bulk, the same rows the people actions would
(people with their search keys, tags, consents with proof, timeline events), because
20,000 calls to ``create_person`` would take minutes. The demo never mixes into a real
campaign by accident: it refuses a database that holds other people unless forced, and
its markers (``DemoLoad``, ``DemoPerson``) let ``reset_demo`` remove only what it made.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from campagne.accounts.models import Role, User
from campagne.demo.canvassing import load_demo_canvassing, reset_demo_canvassing
from campagne.demo.elections import load_demo_elections, reset_demo_elections
from campagne.demo.generator import DEMO_TAGS, DIGNE, DemoGenerator, Draft, Place
from campagne.demo.mailings import load_demo_mailings, reset_demo_mailings
from campagne.demo.models import DemoLoad, DemoPerson
from campagne.people.models import (
    Consent,
    EventKind,
    Person,
    PersonEmail,
    PersonPhone,
    Tag,
    TimelineEvent,
)
from campagne.territory.models import Commune, PostalCode

DEPARTEMENT = "04"
DEFAULT_PEOPLE = 20_000
DEFAULT_SEED = 4
# Published in the README: these accounts exist only in a demo database.
PASSWORD = "campagne"  # noqa: S105
BATCH = 2000


@dataclass(frozen=True)
class DemoAccount:
    key: str
    email: str
    first_name: str
    last_name: str
    role: str
    scope: str | Promise = ""
    departements: tuple[str, ...] = ()
    communes: tuple[str, ...] = ()


ACCOUNTS = (
    DemoAccount("admin", "admin@demo.campagne.test", "Camille", "Admin", Role.HQ_ADMIN),
    DemoAccount("staff", "staff@demo.campagne.test", "Dominique", "Équipe", Role.HQ_STAFF),
    DemoAccount(
        "organizer",
        "organisateur@demo.campagne.test",
        "Sacha",
        "Organisateur",
        Role.ORGANIZER,
        scope=gettext_lazy("Alpes-de-Haute-Provence (04)"),
        departements=(DEPARTEMENT,),
    ),
    DemoAccount(
        "organizer_digne",
        "organisateur-digne@demo.campagne.test",
        "Lou",
        "Organisatrice",
        Role.ORGANIZER,
        scope=gettext_lazy("Digne-les-Bains (04070) seulement"),
        communes=(DIGNE,),
    ),
    DemoAccount("volunteer", "benevole@demo.campagne.test", "Jo", "Bénévole", Role.VOLUNTEER),
)


class DemoError(Exception):
    """The demo cannot be loaded into this database; the message says why."""


@dataclass(frozen=True)
class DemoReport:
    loaded: bool  # False when the demo was already there and left as it was
    people: int
    communes: int
    seconds: float


def load_demo(
    *,
    people: int = DEFAULT_PEOPLE,
    seed: int = DEFAULT_SEED,
    reset: bool = False,
    force: bool = False,
) -> DemoReport:
    """Load the demo unless it is there already; ``reset`` first removes the previous one."""
    started = time.perf_counter()
    with transaction.atomic():
        if reset:
            reset_demo()
        elif DemoLoad.objects.exists():
            _ensure_accounts()
            return _report_existing(started)
        others = Person.objects.filter(demo_marker__isnull=True)
        if not force and others.exists():
            count = others.count()
            raise DemoError(
                ngettext(
                    "Cette base contient déjà %(count)d personne qui ne vient pas de la démo : "
                    "la démo refuse de s'y mêler. Ajoutez --force pour la charger quand même.",
                    "Cette base contient déjà %(count)d personnes qui ne viennent pas de la "
                    "démo : la démo refuse de s'y mêler. Ajoutez --force pour la charger quand "
                    "même.",
                    count,
                )
                % {"count": count}
            )
        places = _places()
        users = _ensure_accounts()
        drafts = DemoGenerator(places=places, seed=seed, now=timezone.now()).people(people)
        _write(drafts, users)
        demo_people = Person.objects.filter(demo_marker__isnull=False)
        load_demo_elections(owner=users["admin"], people=demo_people, seed=seed)
        load_demo_mailings(users, seed)
        load_demo_canvassing(users=users, seed=seed)
        seconds = time.perf_counter() - started
        DemoLoad.objects.create(seed=seed, people=len(drafts), seconds=seconds)
    communes = len({draft.person.commune_id for draft in drafts})
    return DemoReport(loaded=True, people=len(drafts), communes=communes, seconds=seconds)


def _report_existing(started: float) -> DemoReport:
    demo_people = Person.objects.filter(demo_marker__isnull=False)
    return DemoReport(
        loaded=False,
        people=demo_people.count(),
        communes=demo_people.values("commune").distinct().count(),
        seconds=time.perf_counter() - started,
    )


@transaction.atomic
def reset_demo() -> int:
    """Delete the demo's people, accounts and unused tags; return how many people went."""
    reset_demo_canvassing(User.objects.filter(email__in=[account.email for account in ACCOUNTS]))
    demo_ids = DemoPerson.objects.values("person_id")
    # The mailings first: their recipient rows would otherwise go one person at a time.
    reset_demo_mailings(User.objects.filter(email__in=[account.email for account in ACCOUNTS]))
    # The big dependent tables first, each in one DELETE … WHERE person_id IN (SELECT …):
    # left to the cascade, Django would send them 999 ids at a time.
    for model in (TimelineEvent, Consent, PersonEmail, PersonPhone, Person.tags.through):
        model.objects.filter(person_id__in=demo_ids).delete()
    demo_people = Person.objects.filter(pk__in=demo_ids)
    count = demo_people.count()
    demo_people.delete()
    reset_demo_elections(User.objects.filter(email__in=[account.email for account in ACCOUNTS]))
    User.objects.filter(email__in=[account.email for account in ACCOUNTS]).delete()
    DemoLoad.objects.all().delete()
    Tag.objects.filter(name__in=DEMO_TAGS, people__isnull=True).delete()
    return count


def _places() -> list[Place]:
    """The communes of the département with their populations and postcodes."""
    communes = list(
        Commune.objects.filter(departement_id=DEPARTEMENT, parent__isnull=True)
        .order_by("code")
        .values_list("code", "population")
    )
    codes = {code for code, _population in communes}
    if not communes or DIGNE not in codes:
        raise DemoError(
            _(
                "Les communes des Alpes-de-Haute-Provence (04) ne sont pas chargées : "
                "lancez d'abord « campagne migrate »."
            )
        )
    postcodes: dict[str, set[str]] = {}
    rows = PostalCode.objects.filter(commune__departement_id=DEPARTEMENT)
    for commune_id, code in rows.values_list("commune_id", "code"):
        postcodes.setdefault(commune_id, set()).add(code)
    return [
        Place(
            code=code, population=population or 0, postcodes=tuple(sorted(postcodes.get(code, ())))
        )
        for code, population in communes
    ]


def _ensure_accounts() -> dict[str, User]:
    """The five demo accounts, created when missing; the password is hashed once."""
    existing = {u.email: u for u in User.objects.filter(email__in=[a.email for a in ACCOUNTS])}
    password_hash = ""
    users = {}
    for account in ACCOUNTS:
        user = existing.get(account.email)
        if user is None:
            password_hash = password_hash or make_password(PASSWORD)
            user = User.objects.create(
                email=account.email,
                password=password_hash,
                first_name=account.first_name,
                last_name=account.last_name,
                role=account.role,
                is_staff=account.role == Role.HQ_ADMIN,
                is_superuser=account.role == Role.HQ_ADMIN,
            )
            if account.departements:
                user.departements.set(account.departements)
            if account.communes:
                user.communes.set(account.communes)
        users[account.key] = user
    return users


def _write(drafts: list[Draft], users: dict[str, User]) -> None:
    persons = [draft.person for draft in drafts]
    # The ORM for people (their new ids are needed), plain INSERTs for the rest: the
    # 75,000 timeline events alone take twice as long through ``bulk_create``.
    Person.objects.bulk_create(persons, batch_size=BATCH)
    _insert(DemoPerson, ("person",), [(p.pk,) for p in persons])
    tag_ids = _tag_ids({name for draft in drafts for name in draft.tags})
    _insert(
        Person.tags.through,
        ("person", "tag"),
        [(draft.person.pk, tag_ids[name]) for draft in drafts for name in draft.tags],
    )
    moment = connection.ops.adapt_datetimefield_value
    _insert(
        Consent,
        ("person", "channel", "granted", "at", "source", "proof"),
        [
            (draft.person.pk, c.channel, c.granted, moment(c.at), c.source, c.proof)
            for draft in drafts
            for c in draft.consents
        ],
    )
    _insert(
        PersonEmail,
        ("person", "address"),
        [(draft.person.pk, address) for draft in drafts for address in draft.other_emails],
    )
    actors: dict[str | None, tuple[int | None, str]] = {
        key: (user.pk, user.email) for key, user in users.items()
    }
    actors[None] = (None, "system")  # the website, labelled as ``log_event`` does
    json = TimelineEvent._meta.get_field("data").get_db_prep_save
    _insert(
        TimelineEvent,
        ("person", "kind", "at", "actor", "actor_label", "data"),
        [
            (draft.person.pk, e.kind, moment(e.at), *actors[e.actor], json(e.data, connection))
            for draft in drafts
            for e in draft.events
        ],
    )
    _stamp_updated_at()


def _insert(model: Any, fields: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """One ``executemany`` INSERT of database-ready values (ids, adapted dates, JSON)."""
    if not rows:
        return
    quote = connection.ops.quote_name
    opts = model._meta
    columns = ", ".join(quote(opts.get_field(name).column) for name in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    # Table and column names come from the models; values travel as parameters.
    sql = f"INSERT INTO {quote(opts.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _tag_ids(names: set[str]) -> dict[str, int]:
    """Reuse a tag whatever its case, as ``people.actions.add_tag`` does."""
    ids = {}
    for name in sorted(names):
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
        ids[name] = tag.pk
    return ids


def _stamp_updated_at() -> None:
    """``updated_at`` is the last creation or edit on the timeline, not the load time.

    ``bulk_create`` fills the ``auto_now`` field with now; a queryset ``update`` leaves
    it alone, so one statement sets the real value.
    """
    last_write = (
        TimelineEvent.objects.filter(
            person=OuterRef("pk"),
            kind__in=[EventKind.CREATED, EventKind.IMPORTED, EventKind.EDITED],
        )
        .order_by("-at")
        .values("at")[:1]
    )
    Person.objects.filter(demo_marker__isnull=False).update(updated_at=Subquery(last_write))
