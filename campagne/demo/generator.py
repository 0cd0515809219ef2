"""Made-up people for the demo campaign, set in Alpes-de-Haute-Provence (04).

One seeded ``random.Random`` and a Faker seeded alike draw everything, so a seed always
gives the same people (their dates move with "now"). Nothing here touches the database:
``DemoGenerator.people`` returns unsaved rows that ``campagne.demo.actions`` writes in bulk,
with the timeline events the people actions would have logged.

E-mails use the reserved ``.example`` top-level domain (RFC 2606), which no mail ever
reaches. Phones are random valid French mobile numbers: libphonenumber rejects ARCEP's
fiction block (06 39 98…), so these may be someone's real number and a demo database must
never be wired to a real SMS gateway.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone
from faker import Faker

from campagne.lib.phones import to_e164
from campagne.lib.text import fold
from campagne.people.actions import EDITABLE_FIELDS
from campagne.people.models import Channel, EventKind, Person, Status

DIGNE = "04070"
MANOSQUE = "04112"

# Origins of the data (CNIL): where each person was met.
IMPORT = "import fichier primaire"
FORM = "formulaire site"
DOOR = "porte-à-porte"
FAIR = "salon du 12 mars"
MEETING = "réunion publique Manosque"

ORIGIN_WEIGHTS = {IMPORT: 30, FORM: 28, DOOR: 20, FAIR: 12, MEETING: 10}
# Most people at the Manosque public meeting live in Manosque.
ORIGIN_WEIGHTS_MANOSQUE = {IMPORT: 25, FORM: 22, DOOR: 15, FAIR: 8, MEETING: 30}

LADDER = (Status.CONTACT, Status.SYMPATHISANT, Status.MILITANT, Status.ADHERENT)
STATUS_WEIGHTS = {
    IMPORT: (55, 30, 10, 5),
    FORM: (60, 25, 10, 5),
    DOOR: (85, 11, 3, 1),
    FAIR: (65, 22, 9, 4),
    MEETING: (50, 30, 14, 6),
}
EMAIL_SHARE = {IMPORT: 0.9, FORM: 1.0, DOOR: 0.35, FAIR: 0.85, MEETING: 0.8}
PHONE_SHARE = {IMPORT: 0.7, FORM: 0.45, DOOR: 0.5, FAIR: 0.6, MEETING: 0.55}
ADDRESS_SHARE = {IMPORT: 0.95, FORM: 0.5, DOOR: 1.0, FAIR: 0.6, MEETING: 0.5}

# Chance that a consent was collected on each channel, by origin.
CONSENT_RATES = {
    IMPORT: {Channel.EMAIL: 0.55, Channel.SMS: 0.2},
    FORM: {Channel.EMAIL: 0.92, Channel.SMS: 0.35},
    DOOR: {Channel.DOOR: 0.6, Channel.EMAIL: 0.3, Channel.PHONE: 0.2, Channel.SMS: 0.15},
    FAIR: {Channel.EMAIL: 0.75, Channel.SMS: 0.25, Channel.PHONE: 0.15},
    MEETING: {Channel.EMAIL: 0.7, Channel.SMS: 0.3},
}
CONSENT_WORDS = {
    Channel.EMAIL: "recevoir les e-mails de la campagne",
    Channel.SMS: "recevoir les SMS de la campagne",
    Channel.PHONE: "être appelé·e par l'équipe",
    Channel.DOOR: "qu'un·e bénévole repasse me voir",
}
WITHDRAWAL_RATE = {Channel.EMAIL: 0.05, Channel.SMS: 0.07}

ORIGIN_TAGS = {DOOR: ("porte-à-porte", 0.8), FAIR: ("salon du 12 mars", 0.9)}
ORIGIN_TAGS[MEETING] = ("réunion publique", 0.85)
ACTIVITY_TAGS = {"tractage": 0.55, "porte-à-porte": 0.35}
THEMES = {
    "santé": 14,
    "services publics": 12,
    "écologie": 14,
    "éducation": 10,
    "transports": 10,
    "logement": 8,
    "agriculture": 8,
    "commerçants": 7,
    "sécurité": 6,
    "tourisme": 5,
}
DEMO_TAGS = (
    *THEMES,
    "porte-à-porte",
    "tractage",
    "réunion publique",
    "salon du 12 mars",
    "jeunes",
    "retraités",
)

EMAIL_DOMAINS = {
    "orange.example": 24,
    "gmail.example": 22,
    "free.example": 14,
    "laposte.example": 10,
    "sfr.example": 8,
    "wanadoo.example": 8,
    "hotmail.example": 8,
    "yahoo.example": 6,
}
ADDRESS_EXTRAS = (
    "Appartement {n}",
    "Bâtiment {letter}",
    "Résidence Les Oliviers",
    "Lieu-dit Les Granges",
    "Le Village",
)

_NOT_SLUG = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class Place:
    """A commune people are spread over, weighted by its population."""

    code: str
    population: int
    postcodes: tuple[str, ...]


@dataclass
class EventDraft:
    kind: str
    at: datetime
    actor: str | None  # a key of campagne.demo.actions.ACCOUNTS; None: the website
    data: dict[str, Any]


@dataclass
class ConsentDraft:
    channel: str
    granted: bool
    at: datetime
    source: str
    proof: str


@dataclass
class Draft:
    """One made-up person and everything to write with them."""

    person: Person
    tags: list[str] = field(default_factory=list)
    consents: list[ConsentDraft] = field(default_factory=list)
    other_emails: list[str] = field(default_factory=list)
    events: list[EventDraft] = field(default_factory=list)


def _slug(text: str) -> str:
    return _NOT_SLUG.sub("", fold(text).replace(" ", "-")).strip("-")


class DemoGenerator:
    """Draws demo people for ``places`` from ``seed``; dates lie in the 18 months to ``now``."""

    def __init__(self, *, places: list[Place], seed: int, now: datetime) -> None:
        if not places:
            raise ValueError("The demo needs at least one commune.")
        self.rng = random.Random(seed)
        self.fake = Faker("fr_FR")
        # Faker's own Mersenne Twister: seeded from ours, not with the same seed, so that
        # the two streams are not the same numbers (names would follow the dice rolls).
        self.fake.seed_instance(self.rng.getrandbits(64))
        self.places = places
        self.cum_weights = list(itertools.accumulate(max(p.population, 1) for p in places))
        self.now = now
        self.tz = timezone.get_current_timezone()
        self.today = timezone.localtime(now).date()
        self.emails: set[str] = set()
        self.phones: set[str] = set()
        self.counters: dict[str, int] = dict.fromkeys(ORIGIN_WEIGHTS, 0)
        self.volunteers = [
            f"{self.fake.first_name()} {self.fake.last_name()[0]}." for _ in range(12)
        ]
        self._campaign_dates()

    # --- calendar -----------------------------------------------------------------------
    def _campaign_dates(self) -> None:
        self.import_at = self._at(self.today - timedelta(days=500), 10 * 60)
        fair_year = self.today.year
        if date(fair_year, 3, 12) > self.today - timedelta(days=14):
            fair_year -= 1
        self.fair_day = date(fair_year, 3, 12)
        self.meeting_at = self._at(self.today - timedelta(days=96), 19 * 60)

    def _at(self, day: date, minutes: float) -> datetime:
        moment = datetime.combine(day, time(0), tzinfo=self.tz) + timedelta(minutes=minutes)
        while moment > self.now - timedelta(hours=2):  # today, but not yet: a day earlier
            moment -= timedelta(days=1)
        return moment

    def _later(self, start: datetime, max_days: float, min_days: float = 0.01) -> datetime:
        """A moment after ``start`` and before now, in the daytime when there is room."""
        rng = self.rng
        room = (self.now - start).total_seconds() / 86400
        days = rng.uniform(min(min_days, room), max(min(max_days, room), 0))
        local = timezone.localtime(start + timedelta(days=days), self.tz)
        moment = local.replace(hour=rng.randint(8, 20), minute=rng.randrange(60))
        if not start < moment < self.now:
            moment = start + (self.now - start) * rng.uniform(0.05, 0.95)
        return moment

    def _created_at(self, origin: str) -> datetime:
        rng = self.rng
        if origin == IMPORT:
            return self.import_at + timedelta(seconds=rng.uniform(0, 1800))
        if origin == FAIR:
            return self._at(self.fair_day, rng.uniform(9.5 * 60, 18.5 * 60))
        if origin == MEETING:
            return self.meeting_at + timedelta(minutes=rng.uniform(0, 150))
        if origin == DOOR:
            # Door-knocking on Saturdays, more of it as the election nears.
            day = self.today - timedelta(days=int(365 * rng.random() ** 1.3) + 1)
            day -= timedelta(days=(day.weekday() - 5) % 7)
            return self._at(day, rng.uniform(10 * 60, 19 * 60))
        day = self.today - timedelta(days=int(545 * rng.random() ** 1.5))
        return self._at(day, rng.uniform(7 * 60, 23.5 * 60))

    # --- one person ---------------------------------------------------------------------
    def people(self, count: int) -> list[Draft]:
        places = self.rng.choices(self.places, cum_weights=self.cum_weights, k=count)
        return [self._draft(place) for place in places]

    def _pick(self, weights: dict[str, int]) -> str:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def _draft(self, place: Place) -> Draft:
        rng, fake = self.rng, self.fake
        origin = self._pick(ORIGIN_WEIGHTS_MANOSQUE if place.code == MANOSQUE else ORIGIN_WEIGHTS)
        female = rng.random() < 0.52
        first = fake.first_name_female() if female else fake.first_name_male()
        last = fake.last_name()
        has_address = rng.random() < ADDRESS_SHARE[origin]
        person = Person(
            civility=("mme" if female else "m") if rng.random() < 0.93 else "",
            first_name=first,
            last_name=last,
            email=self._email(first, last) if rng.random() < EMAIL_SHARE[origin] else "",
            phone=self._phone() if rng.random() < PHONE_SHARE[origin] else "",
            address_line=fake.street_address() if has_address else "",
            address_extra=self._address_extra() if has_address and rng.random() < 0.07 else "",
            postal_code=rng.choice(place.postcodes) if place.postcodes else "",
            commune_id=place.code,
            birth_year=self._birth_year(),
            status=LADDER[rng.choices(range(4), weights=STATUS_WEIGHTS[origin])[0]],
            origin=origin,
            created_at=self._created_at(origin),
        )
        person.refresh_search_keys()
        draft = Draft(person=person)
        creator = self._creator(origin, place)
        edits = self._edits(draft, place)
        draft.events.append(self._creation_event(person, creator, edits))
        draft.events += self._tags(draft, place, creator, edits)
        draft.events += self._consents(draft, creator)
        draft.events += edits
        draft.events.sort(key=lambda event: event.at)
        self._last_contact(draft, edits)
        return draft

    def _email(self, first: str, last: str) -> str:
        rng = self.rng
        f, lst = _slug(first) or "contact", _slug(last) or "demo"
        local = rng.choice(
            (
                f"{f}.{lst}",
                f"{f[0]}{lst}",
                f"{f}{lst}{rng.randrange(1, 99)}",
                f"{lst}.{f}",
                f"{f}.{lst}{rng.randrange(50, 100)}",
            )
        )
        domain = self._pick(EMAIL_DOMAINS)
        address = f"{local}@{domain}"
        while address in self.emails:
            local += str(rng.randrange(10))
            address = f"{local}@{domain}"
        self.emails.add(address)
        return address

    def _phone(self) -> str:
        rng = self.rng
        while True:
            number = f"+33{'6' if rng.random() < 0.62 else '7'}{rng.randrange(10**8):08d}"
            if number not in self.phones and to_e164(number) == number:
                self.phones.add(number)
                return number

    def _address_extra(self) -> str:
        template = self.rng.choice(ADDRESS_EXTRAS)
        return template.format(n=self.rng.randrange(1, 40), letter=self.rng.choice("ABCDE"))

    def _birth_year(self) -> int | None:
        if self.rng.random() < 0.15:
            return None
        while True:
            year = round(self.rng.gauss(1968, 17))
            if 1932 <= year <= self.today.year - 18:
                return year

    def _creator(self, origin: str, place: Place) -> str | None:
        if origin == IMPORT:
            return "admin"
        if origin == FORM:
            return None
        return "organizer_digne" if place.code == DIGNE else "organizer"

    def _editor(self, place: Place) -> str:
        if place.code == DIGNE:
            return "organizer_digne"
        return "organizer" if self.rng.random() < 0.8 else "admin"

    # --- timeline -----------------------------------------------------------------------
    def _creation_event(
        self, person: Person, creator: str | None, edits: list[EventDraft]
    ) -> EventDraft:
        """What ``create_person`` logs, with the values the person had before ``edits``."""
        # ``commune_id``, not ``commune``: reading the relation would query the database.
        fields: dict[str, Any] = {
            name: person.commune_id if name == "commune" else getattr(person, name)
            for name in EDITABLE_FIELDS
        }
        fields["status"] = str(person.status)
        for edit in sorted(edits, key=lambda event: event.at, reverse=True):
            for name, (old, _new) in edit.data["changes"].items():
                if name in fields:
                    fields[name] = old
        kind = EventKind.IMPORTED if person.origin == IMPORT else EventKind.CREATED
        data = {"origin": person.origin, "fields": fields}
        return EventDraft(kind=kind, at=person.created_at, actor=creator, data=data)

    def _edits(self, draft: Draft, place: Place) -> list[EventDraft]:
        """Later changes: a move up the ladder, a new phone or address, a second e-mail."""
        rng, person = self.rng, draft.person
        changes: list[dict[str, list[Any]]] = []
        rung = LADDER.index(person.status)
        if rung and rng.random() < 0.7:
            changes.append({"status": [LADDER[rung - 1].value, person.status.value]})
        if person.phone and rng.random() < 0.04:
            changes.append({"phone": [self._phone(), person.phone]})
        if person.address_line and rng.random() < 0.03:
            changes.append({"address_line": [self.fake.street_address(), person.address_line]})
        if person.email and rng.random() < 0.03:
            other = self._email(person.first_name, person.last_name)
            draft.other_emails.append(other)
            changes.append({"other_emails": [None, other]})
        return [
            EventDraft(
                kind=EventKind.EDITED,
                at=self._later(person.created_at, 120, min_days=1),
                actor=self._editor(place),
                data={"changes": change},
            )
            for change in changes
        ]

    def _tags(
        self, draft: Draft, place: Place, creator: str | None, edits: list[EventDraft]
    ) -> list[EventDraft]:
        """What ``add_tag`` logs: the event's tag when entered, the others later."""
        rng, person = self.rng, draft.person
        promoted = max(
            (edit.at for edit in edits if "status" in edit.data["changes"]),
            default=person.created_at,
        )
        planned: dict[str, tuple[datetime, str | None]] = {}
        origin_tag = ORIGIN_TAGS.get(person.origin)
        if origin_tag and rng.random() < origin_tag[1]:
            planned[origin_tag[0]] = (
                person.created_at + timedelta(minutes=rng.uniform(1, 30)),
                creator,
            )
        for name in self._later_tags(person, place):
            # Activists hand out leaflets once they have become activists.
            start = promoted if name in ACTIVITY_TAGS else person.created_at
            planned.setdefault(name, (self._later(start, 60), self._editor(place)))
        draft.tags = list(planned)
        return [
            EventDraft(kind=EventKind.TAGGED, at=at, actor=actor, data={"tag": name})
            for name, (at, actor) in planned.items()
        ]

    def _later_tags(self, person: Person, place: Place) -> list[str]:
        rng = self.rng
        names = []
        if person.status in (Status.MILITANT, Status.ADHERENT):
            names += [name for name, share in ACTIVITY_TAGS.items() if rng.random() < share]
        count = rng.choices(range(4), weights=(45, 35, 15, 5))[0]
        names += rng.choices(list(THEMES), weights=list(THEMES.values()), k=count)
        if place.population < 2000 and rng.random() < 0.1:
            names.append("agriculture")
        if person.birth_year and person.birth_year <= 1960 and rng.random() < 0.45:
            names.append("retraités")
        if person.birth_year and person.birth_year >= self.today.year - 28 and rng.random() < 0.55:
            names.append("jeunes")
        return names

    def _consents(self, draft: Draft, creator: str | None) -> list[EventDraft]:
        """Consents collected where the person was met, a few refused or later withdrawn."""
        rng, person = self.rng, draft.person
        boost = 0.25 if person.status in (Status.MILITANT, Status.ADHERENT) else 0.0
        reachable = {
            Channel.EMAIL: person.email,
            Channel.SMS: person.phone,
            Channel.PHONE: person.phone,
            Channel.DOOR: person.address_line,
        }
        events = []
        for channel, rate in CONSENT_RATES[person.origin].items():
            roll = rng.random()
            if not reachable[channel]:
                continue
            if roll < rate + boost:
                granted = True
            elif channel == Channel.DOOR and roll < rate + 0.1:
                granted = False  # a refusal noted at the door is kept too
            else:
                continue
            at = person.created_at + timedelta(minutes=1)
            proof = (
                self._proof(person.origin, channel, at)
                if granted
                else self._door_proof(at, refused=True)
            )
            consent = ConsentDraft(channel, granted, at, person.origin, proof)
            draft.consents.append(consent)
            events.append(self._consent_event(consent, creator, previous=None))
            if granted and rng.random() < WITHDRAWAL_RATE.get(channel, 0):
                events.append(self._withdraw(consent))
        return events

    def _withdraw(self, consent: ConsentDraft) -> EventDraft:
        previous = {"granted": True, "at": consent.at.isoformat(), "source": consent.source}
        at = self._later(consent.at, 200, min_days=3)
        day = timezone.localtime(at, self.tz).strftime("%d/%m/%Y")
        if consent.channel == Channel.SMS:
            source, proof = "réponse STOP", f"SMS « STOP » reçu le {day}."
        else:
            source = "lien de désinscription"
            proof = f"Clic sur le lien de désinscription de la lettre d'information du {day}."
        consent.granted, consent.at, consent.source, consent.proof = False, at, source, proof
        return self._consent_event(consent, None, previous=previous)

    def _consent_event(
        self, consent: ConsentDraft, actor: str | None, *, previous: dict[str, Any] | None
    ) -> EventDraft:
        """What ``set_consent`` logs (a copy: ``consent`` may be withdrawn afterwards)."""
        data = {
            "channel": str(consent.channel),
            "granted": consent.granted,
            "source": consent.source,
            "proof": consent.proof,
            "previous": previous,
        }
        return EventDraft(kind=EventKind.CONSENT, at=consent.at, actor=actor, data=data)

    def _proof(self, origin: str, channel: str, at: datetime) -> str:
        self.counters[origin] += 1
        n = self.counters[origin]
        words = CONSENT_WORDS[channel]
        day = timezone.localtime(at, self.tz).strftime("%d/%m/%Y")
        if origin == FORM:
            return (
                f"Case « J'accepte de {words} » cochée sur le formulaire « Rejoindre la "
                f"campagne » le {day}, depuis l'adresse IP 203.0.113.{n % 254 + 1}."
            )
        if origin == FAIR:
            return f"Bulletin papier n° {n} signé au stand du salon du 12 mars : « {words} »."
        if origin == MEETING:
            return (
                f"Feuille d'émargement de la réunion publique de Manosque du {day}, "
                f"ligne {n}, case « {words} » cochée."
            )
        if origin == IMPORT:
            return (
                f"Case « {words} » cochée à l'inscription à la primaire ; fichier "
                f"primaire.csv importé le {day}, ligne {n}."
            )
        return self._door_proof(at, refused=False, words=words)

    def _door_proof(self, at: datetime, *, refused: bool, words: str = "") -> str:
        volunteer = self.rng.choice(self.volunteers)
        day = timezone.localtime(at, self.tz).strftime("%d/%m/%Y")
        if refused:
            return f"Refus noté par {volunteer} sur la fiche de porte-à-porte du {day}."
        return f"Accord oral ({words}) noté par {volunteer} sur la fiche de porte-à-porte du {day}."

    def _last_contact(self, draft: Draft, edits: list[EventDraft]) -> None:
        """When the person was last in touch: the retention rules count from it."""
        person = draft.person
        moments = [c.at for c in draft.consents if c.granted]
        moments += [e.at for e in edits if "status" in e.data["changes"]]
        if person.status in (Status.MILITANT, Status.ADHERENT):
            moments.append(
                max(person.created_at, self.now - timedelta(days=self.rng.uniform(1, 45)))
            )
        person.last_contact_at = max(moments) if moments else None
