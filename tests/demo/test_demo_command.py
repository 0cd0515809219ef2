"""`campagne demo`: the demo campaign, its people and its five accounts."""

from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from campagne.accounts.models import Role, User
from campagne.accounts.scopes import scope_for
from campagne.demo.actions import ACCOUNTS
from campagne.demo.generator import DEMO_TAGS, ORIGIN_WEIGHTS
from campagne.demo.models import DemoLoad, DemoPerson
from campagne.lib.phones import to_e164
from campagne.lib.text import search_key
from campagne.people.models import (
    Channel,
    Consent,
    EventKind,
    Person,
    PersonEmail,
    Status,
    Tag,
    TimelineEvent,
)
from campagne.territory.models import Commune, PostalCode
from tests.factories import PersonFactory

pytestmark = pytest.mark.usefixtures("communes_04", "gap")


def run_demo(**options: object) -> str:
    out = StringIO()
    call_command("demo", stdout=out, **options)
    return out.getvalue()


def demo_users() -> dict[str, User]:
    return {user.email: user for user in User.objects.filter(email__endswith="@demo.campagne.test")}


def test_loads_people_only_in_the_communes_of_04_weighted_by_population():
    output = run_demo(people=300)

    assert Person.objects.count() == 300
    assert DemoPerson.objects.count() == 300
    assert "Démo chargée : 300 personnes" in output
    communes_04 = set(Commune.objects.filter(departement_id="04").values_list("code", flat=True))
    per_commune = Counter(Person.objects.values_list("commune_id", flat=True))
    assert set(per_commune) <= communes_04
    assert per_commune["05061"] == 0  # Gap, the biggest commune in the database
    assert per_commune["04112"] > per_commune["04107"] + 10  # Manosque vs Majastres (5 people)
    load = DemoLoad.objects.get()
    assert (load.people, load.seed) == (300, 4)


def test_people_look_real_and_cannot_be_reached():
    run_demo(people=300)
    people = list(Person.objects.all())

    emails = [p.email for p in people if p.email]
    assert len(emails) > 200
    assert len(set(emails)) == len(emails)
    assert all(e == e.lower() and e.endswith(".example") for e in emails)
    phones = [p.phone for p in people if p.phone]
    assert len(phones) > 100
    assert len(set(phones)) == len(phones)
    assert all(to_e164(p) == p and p[:4] in {"+336", "+337"} for p in phones)
    assert {p.origin for p in people} == set(ORIGIN_WEIGHTS)
    for person in people:
        assert (
            person.search_name == f"{search_key(person.last_name)} {search_key(person.first_name)}"
        )
        assert person.search_name_rev == (
            f"{search_key(person.first_name)} {search_key(person.last_name)}"
        )
    postcodes = set(PostalCode.objects.values_list("commune_id", "code"))
    assert all((p.commune_id, p.postal_code) in postcodes for p in people)
    statuses = Counter(p.status for p in people)
    assert set(statuses) == set(Status.values)
    assert statuses[Status.CONTACT] > 150
    assert statuses[Status.CONTACT] > statuses[Status.SYMPATHISANT] > statuses[Status.ADHERENT]


def test_consents_have_proof_and_match_the_timeline():
    run_demo(people=300)

    consents = list(Consent.objects.select_related("person"))
    assert len(consents) > 150
    reachable = {
        Channel.EMAIL: lambda p: p.email,
        Channel.SMS: lambda p: p.phone,
        Channel.PHONE: lambda p: p.phone,
        Channel.DOOR: lambda p: p.address_line,
    }
    for consent in consents:
        assert consent.source and consent.proof
        assert reachable[consent.channel](consent.person)
        last_event = (
            TimelineEvent.objects.filter(
                person=consent.person, kind=EventKind.CONSENT, data__channel=consent.channel
            )
            .order_by("-at")
            .first()
        )
        assert last_event.data["granted"] == consent.granted
        assert last_event.data["source"] == consent.source
        assert last_event.at == consent.at
    withdrawn = [c for c in consents if not c.granted and c.source != c.person.origin]
    assert withdrawn, "some consents are withdrawn later"
    for consent in withdrawn:
        event = consent.person.events.filter(kind=EventKind.CONSENT).order_by("-at").first()
        assert event.data["previous"]["granted"] is True


def test_timelines_tell_how_each_person_came_and_changed():
    run_demo(people=300)

    events = Counter(TimelineEvent.objects.values_list("person_id", flat=True))
    assert 2.0 <= sum(events.values()) / 300 <= 4.5
    kinds = Counter(TimelineEvent.objects.values_list("kind", flat=True))
    assert kinds[EventKind.CREATED] + kinds[EventKind.IMPORTED] == 300
    assert (
        kinds[EventKind.IMPORTED] == Person.objects.filter(origin="import fichier primaire").count()
    )
    assert kinds[EventKind.TAGGED] == Person.tags.through.objects.count()
    assert kinds[EventKind.EDITED] > 0
    for person in Person.objects.prefetch_related("tags", "events"):
        timeline = sorted(person.events.all(), key=lambda e: e.at)
        first = timeline[0]
        assert first.kind in (EventKind.CREATED, EventKind.IMPORTED)
        assert first.at == person.created_at
        assert {e.data["tag"] for e in timeline if e.kind == EventKind.TAGGED} == {
            t.name for t in person.tags.all()
        }
        # The creation shows the values before the edits; replaying them gives today's.
        fields = dict(first.data["fields"])
        for event in timeline:
            for name, (old, new) in event.data.get("changes", {}).items():
                if name in fields:
                    assert fields[name] == old
                    fields[name] = new
        assert fields["status"] == person.status
        assert fields["phone"] == person.phone
        assert fields["commune"] == person.commune_id
        assert person.updated_at == max(
            e.at for e in timeline if e.kind in (EventKind.CREATED, EventKind.IMPORTED, "edited")
        )
    other = PersonEmail.objects.select_related("person")
    assert all(e.address != e.person.email and e.address.endswith(".example") for e in other)


def test_tags_are_the_campaigns_themes_and_events():
    run_demo(people=300)

    names = set(Tag.objects.filter(people__isnull=False).values_list("name", flat=True))
    assert {"porte-à-porte", "salon du 12 mars", "réunion publique", "santé"} <= names
    assert names <= set(DEMO_TAGS)


def test_five_accounts_with_their_roles_and_scopes():
    output = run_demo(people=300)

    users = demo_users()
    assert set(users) == {account.email for account in ACCOUNTS}
    assert {email: user.role for email, user in users.items()} == {
        "admin@demo.campagne.test": Role.HQ_ADMIN,
        "staff@demo.campagne.test": Role.HQ_STAFF,
        "organisateur@demo.campagne.test": Role.ORGANIZER,
        "organisateur-digne@demo.campagne.test": Role.ORGANIZER,
        "benevole@demo.campagne.test": Role.VOLUNTEER,
    }
    assert all(user.first_name and user.last_name for user in users.values())
    # Hashed once for all five.
    assert len({user.password for user in users.values()}) == 1
    assert users["admin@demo.campagne.test"].check_password("campagne")
    for email in users:
        assert email in output
    assert "mot de passe : campagne" in output

    organizer = users["organisateur@demo.campagne.test"]
    assert list(organizer.departements.values_list("code", flat=True)) == ["04"]
    assert not organizer.communes.exists()
    digne = users["organisateur-digne@demo.campagne.test"]
    assert list(digne.communes.values_list("code", flat=True)) == ["04070"]
    assert not digne.departements.exists()


def test_each_account_sees_exactly_its_scope():
    run_demo(people=300)
    users = demo_users()
    everyone = set(Person.objects.values_list("pk", flat=True))
    in_digne = set(Person.objects.filter(commune_id="04070").values_list("pk", flat=True))
    assert 0 < len(in_digne) < len(everyone)

    def visible(email: str) -> set[int]:
        return set(scope_for(users[email]).people().values_list("pk", flat=True))

    assert visible("admin@demo.campagne.test") == everyone
    assert visible("staff@demo.campagne.test") == everyone
    assert visible("organisateur@demo.campagne.test") == everyone
    assert visible("organisateur-digne@demo.campagne.test") == in_digne
    assert visible("benevole@demo.campagne.test") == set()
    outsider = Person.objects.exclude(commune_id="04070").first()
    with pytest.raises(Http404):
        scope_for(users["organisateur-digne@demo.campagne.test"]).person(outsider.pk)
    assert not scope_for(users["staff@demo.campagne.test"]).can_write_people


def test_second_run_leaves_the_demo_as_it_is():
    run_demo(people=300)
    people_before = set(Person.objects.values_list("pk", "email"))
    users_before = {u.pk for u in demo_users().values()}

    with CaptureQueriesContext(connection) as queries:
        output = run_demo(people=300)

    assert "Démo déjà chargée : 300 personnes" in output
    assert "admin@demo.campagne.test" in output
    assert set(Person.objects.values_list("pk", "email")) == people_before
    assert {u.pk for u in demo_users().values()} == users_before
    assert DemoLoad.objects.count() == 1
    assert len(queries) <= 6


def test_reset_replaces_the_demo():
    run_demo(people=300)
    old_people = set(Person.objects.values_list("pk", flat=True))
    old_users = {u.pk for u in demo_users().values()}

    output = run_demo(people=120, reset=True)

    assert "Démo chargée : 120 personnes" in output
    assert Person.objects.count() == DemoPerson.objects.count() == 120
    assert not old_people & set(Person.objects.values_list("pk", flat=True))
    assert len(demo_users()) == 5
    assert not old_users & {u.pk for u in demo_users().values()}
    assert DemoLoad.objects.get().people == 120
    assert TimelineEvent.objects.exclude(person__in=Person.objects.all()).count() == 0


def test_same_seed_same_people():
    def identities() -> list[tuple[str, str, str, str, str]]:
        return list(
            Person.objects.order_by("pk").values_list(
                "first_name", "last_name", "email", "phone", "commune_id"
            )
        )

    run_demo(people=100)
    first = identities()
    run_demo(people=100, reset=True)
    assert identities() == first
    run_demo(people=100, reset=True, seed=5)
    assert identities() != first


def test_loads_in_bulk():
    """The number of queries does not grow with the number of people: rows go in bulk."""
    run_demo(people=300)
    with CaptureQueriesContext(connection) as small:
        run_demo(people=300, reset=True)
    rows = Person.objects.count() + TimelineEvent.objects.count() + Consent.objects.count()
    assert rows > 1000
    with CaptureQueriesContext(connection) as large:
        run_demo(people=900, reset=True)

    assert Person.objects.count() == 900
    # Per-row writes would add thousands of queries for the 600 more people.
    assert len(large) - len(small) < 30


def test_refuses_a_database_with_real_people():
    real = PersonFactory(first_name="Jeanne", last_name="Martin")

    with pytest.raises(CommandError, match="1 personne qui ne vient pas de la démo"):
        run_demo(people=50)

    assert list(Person.objects.all()) == [real]
    assert not demo_users()
    assert not DemoLoad.objects.exists()


def test_force_adds_the_demo_and_reset_keeps_real_people():
    real = PersonFactory(first_name="Jeanne", last_name="Martin")

    run_demo(people=50, force=True)
    assert Person.objects.count() == 51
    run_demo(people=40, reset=True, force=True)

    assert Person.objects.count() == 41
    assert Person.objects.filter(pk=real.pk).exists()
    assert not DemoPerson.objects.filter(person=real).exists()


def test_reset_keeps_tags_real_people_use():
    real = PersonFactory(tags=["santé"])
    run_demo(people=50, force=True)

    run_demo(people=10, reset=True, force=True)

    assert list(real.tags.values_list("name", flat=True)) == ["santé"]


def test_needs_the_communes_of_04():
    Commune.objects.filter(departement_id="04").delete()

    with pytest.raises(CommandError, match="ne sont pas chargées"):
        run_demo(people=50)

    assert not Person.objects.exists()
    assert not demo_users()


def test_rejects_a_count_below_one():
    with pytest.raises(CommandError):
        run_demo(people=0)
    assert not demo_users()


def test_help_is_in_french():
    from campagne.demo.management.commands.demo import Command

    text = Command().create_parser("campagne", "demo").format_help()

    assert "Charge la campagne de démonstration" in text
    assert "--reset" in text and "--force" in text and "--people" in text
