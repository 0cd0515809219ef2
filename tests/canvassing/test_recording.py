"""Recording door records: scope, idempotency, consent for opinions, the same door twice,
contacts into the CRM, and a pinned query count for a batch."""

import datetime as dt
import uuid

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campagne.accounts.scopes import scope_for
from campagne.canvassing import recording
from campagne.canvassing.models import Canvass, Outcome, Session, TurfStop
from campagne.canvassing.recording import Contact, DoorRecord
from campagne.people.models import Channel, Consent, EventKind, Person
from tests.canvassing.factories import SessionFactory, turf_with_stops
from tests.factories import PersonFactory


@pytest.fixture
def session(volunteer):
    return SessionFactory(turf=turf_with_stops(10), volunteer=volunteer)


def stops(session: Session) -> list[int]:
    return list(
        TurfStop.objects.filter(turf=session.turf)
        .order_by("position")
        .values_list("address_id", flat=True)
    )


def door(session: Session, address_id: int, **fields) -> DoorRecord:
    values = {
        "client_uuid": uuid.uuid4(),
        "outcome": Outcome.NOT_HOME,
        "recorded_at": timezone.now(),
        "session_id": session.pk,
        "address_id": address_id,
    }
    values.update(fields)
    return DoorRecord(**values)


def test_a_batch_is_stored_once_and_resending_answers_duplicate(volunteer, session):
    base = timezone.now() - dt.timedelta(minutes=30)
    records = [
        door(session, address, recorded_at=base + dt.timedelta(minutes=2 * i))
        for i, address in enumerate(stops(session))
    ]
    first = recording.record_canvasses(scope=scope_for(volunteer), records=records)
    assert [r.status for r in first] == ["stored"] * 10
    again = recording.record_canvasses(scope=scope_for(volunteer), records=records)
    assert [r.status for r in again] == ["duplicate"] * 10
    assert Canvass.objects.count() == 10
    stored = Canvass.objects.get(client_uuid=records[0].client_uuid)
    assert (stored.volunteer, stored.turf, stored.campaign, stored.commune_id) == (
        volunteer,
        session.turf,
        session.campaign,
        session.turf.commune_id,
    )
    assert stored.review == Canvass.Review.OK and not stored.superseded


def test_the_same_uuid_twice_in_one_batch_is_stored_once(volunteer, session):
    record = door(session, stops(session)[0])
    results = recording.record_canvasses(scope=scope_for(volunteer), records=[record, record])
    assert [r.status for r in results] == ["stored", "duplicate"]
    assert Canvass.objects.filter(client_uuid=record.client_uuid).count() == 1


def test_opinions_without_consent_are_dropped(volunteer, session):
    first, second = stops(session)[:2]
    without = door(
        session, first, outcome=Outcome.POSITIVE, support=5, issues=["Santé"], answers={"a": 1}
    )
    with_consent = door(
        session,
        second,
        outcome=Outcome.POSITIVE,
        opinion_consent=True,
        support=4,
        issues=["Emploi"],
    )
    results = recording.record_canvasses(
        scope=scope_for(volunteer), records=[without, with_consent]
    )
    assert [r.opinions_dropped for r in results] == [True, False]
    dropped = Canvass.objects.get(client_uuid=without.client_uuid)
    assert (dropped.support, dropped.issues, dropped.answers) == (None, [], {})
    assert dropped.outcome == Outcome.POSITIVE
    kept = Canvass.objects.get(client_uuid=with_consent.client_uuid)
    assert (kept.support, kept.issues) == (4, ["Emploi"])


def test_out_of_scope_session_refuses_the_whole_batch(volunteer, session):
    other = SessionFactory(turf=turf_with_stops(3))
    records = [door(session, stops(session)[0]), door(other, stops(other)[0])]
    with pytest.raises(Http404):
        recording.record_canvasses(scope=scope_for(volunteer), records=records)
    assert Canvass.objects.count() == 0


def test_hq_staff_may_not_record(hq_staff, session):
    with pytest.raises(PermissionDenied):
        recording.record_canvasses(
            scope=scope_for(hq_staff), records=[door(session, stops(session)[0])]
        )
    assert Canvass.objects.count() == 0


def test_an_address_outside_the_turf_is_rejected_and_the_rest_kept(volunteer, session):
    other = turf_with_stops(2)
    foreign = TurfStop.objects.filter(turf=other).first().address_id
    good = door(session, stops(session)[0])
    results = recording.record_canvasses(
        scope=scope_for(volunteer), records=[good, door(session, foreign)]
    )
    assert [r.status for r in results] == ["stored", "rejected"]
    assert results[1].error == "Cette adresse n'est pas dans le secteur."
    assert list(Canvass.objects.values_list("client_uuid", flat=True)) == [good.client_uuid]


def test_the_latest_record_of_a_door_counts(volunteer, organizer_04, session):
    address = stops(session)[0]
    now = timezone.now()
    late = door(session, address, outcome=Outcome.POSITIVE, recorded_at=now)
    early = door(
        session, address, outcome=Outcome.NOT_HOME, recorded_at=now - dt.timedelta(hours=1)
    )
    other_flat = door(session, address, door="2e gauche", recorded_at=now - dt.timedelta(hours=2))
    # Sent out of order: the earlier one arrives last and is still the superseded one.
    recording.record_canvasses(scope=scope_for(volunteer), records=[late])
    recording.record_canvasses(scope=scope_for(volunteer), records=[early, other_flat])
    state = dict(Canvass.objects.values_list("client_uuid", "superseded"))
    assert state == {
        late.client_uuid: False,
        early.client_uuid: True,
        other_flat.client_uuid: False,
    }
    counted = recording.counted(Canvass.objects.all())
    assert set(counted.values_list("client_uuid", flat=True)) == {
        late.client_uuid,
        other_flat.client_uuid,
    }

    # Rejecting the latest makes the earlier one count again.
    latest = Canvass.objects.get(client_uuid=late.client_uuid)
    Canvass.objects.filter(pk=latest.pk).update(review=Canvass.Review.FLAGGED)
    assert (
        recording.review_canvasses(scope=scope_for(organizer_04), ids=[latest.pk], accept=False)
        == 1
    )
    state = dict(Canvass.objects.values_list("client_uuid", "superseded"))
    assert state[early.client_uuid] is False
    assert Canvass.objects.get(pk=latest.pk).review == Canvass.Review.REJECTED


def test_a_batch_takes_a_handful_of_queries(volunteer, session):
    base = timezone.now() - dt.timedelta(hours=1)
    records = [
        door(session, address, recorded_at=base + dt.timedelta(minutes=3 * i))
        for i, address in enumerate(stops(session))
    ]
    scope = scope_for(volunteer)
    with CaptureQueriesContext(connection) as queries:
        recording.record_canvasses(scope=scope, records=records)
    # session, stops, savepoint/insert, same doors, rate check (+ transaction markers).
    assert len(queries) <= 8, [q["sql"][:80] for q in queries]
    assert Canvass.objects.count() == 10


def test_a_contact_who_agrees_becomes_a_person_with_consent(volunteer, session):
    record = door(
        session,
        stops(session)[0],
        outcome=Outcome.POSITIVE,
        wants_contact=True,
        contact=Contact(
            first_name="Amélie",
            last_name="Roux",
            email="Amelie.Roux@Exemple.fr",
            phone="06 12 34 56 78",
            consent_text="J'accepte d'être recontactée par la campagne.",
        ),
    )
    [result] = recording.record_canvasses(scope=scope_for(volunteer), records=[record])
    person = Person.objects.get(email="amelie.roux@exemple.fr")
    assert result.person_id == person.pk
    assert person.phone == "+33612345678"
    assert person.origin == f"porte-à-porte {session.campaign.name}"
    assert person.commune_id == session.turf.commune_id
    assert person.address_line == "1 Rue de l'Hubac"
    consents = {c.channel: c for c in Consent.objects.filter(person=person)}
    assert set(consents) == {Channel.EMAIL, Channel.PHONE}
    assert consents[Channel.EMAIL].granted
    assert "J'accepte d'être recontactée" in consents[Channel.EMAIL].proof
    assert volunteer.email in consents[Channel.EMAIL].proof
    assert person.events.filter(kind=EventKind.DOOR_KNOCKED, actor=volunteer).count() == 1
    assert Canvass.objects.get(pk=result.id).person == person


def test_a_known_contact_is_updated_not_doubled(volunteer, session):
    known = PersonFactory(first_name="Marc", last_name="", email="marc@exemple.fr", phone="")
    record = door(
        session,
        stops(session)[1],
        wants_contact=True,
        contact=Contact(
            first_name="Marc",
            last_name="Durand",
            email="MARC@exemple.fr",
            phone="0612345679",
            consent_text="D'accord pour être recontacté.",
        ),
    )
    recording.record_canvasses(scope=scope_for(volunteer), records=[record])
    assert Person.objects.filter(email="marc@exemple.fr").count() == 1
    known.refresh_from_db()
    # Empty fields filled, filled ones kept (the import's rule).
    assert (known.last_name, known.phone) == ("Durand", "+33612345679")
    assert known.consents.get(channel=Channel.EMAIL).granted


def test_a_contact_without_consent_text_creates_nobody(volunteer, session):
    record = door(
        session,
        stops(session)[2],
        wants_contact=True,
        contact=Contact(first_name="Zoé", email="zoe@exemple.fr"),
    )
    [result] = recording.record_canvasses(scope=scope_for(volunteer), records=[record])
    assert result.status == "stored" and result.person_id is None
    assert not Person.objects.filter(email="zoe@exemple.fr").exists()
