"""Phone banking: the queue from a segment, the next call claimed atomically, cooldown,
quiet hours, outcomes recorded as phone canvasses."""

import datetime as dt
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from campagne.accounts.scopes import scope_for
from campagne.canvassing import calling
from campagne.canvassing.models import CallTarget, Canvass, Channel, Outcome, Team
from campagne.people.models import Channel as ConsentChannel
from campagne.people.models import Consent, Person
from campagne.segments.models import Segment
from tests.canvassing.factories import FieldCampaignFactory
from tests.factories import PersonFactory, commune

PARIS = dt.timezone(dt.timedelta(hours=1))
# A Tuesday in November, 14:00 in Paris: calls allowed.
TUESDAY = dt.datetime(2026, 11, 24, 14, 0, tzinfo=PARIS)


def callable_person(**kwargs):
    person = PersonFactory(**kwargs)
    Consent.objects.create(
        person=person, channel=ConsentChannel.PHONE, granted=True, source="tests"
    )
    return person


def phone_campaign(owner, **kwargs):
    segment = Segment.objects.create(name="Tout le monde", owner=owner, definition={})
    return FieldCampaignFactory(
        name="Appels", channel=Channel.PHONE, segment=segment, created_by=owner, **kwargs
    )


@pytest.fixture
def people_04(db):
    """Three people who may be called in 04, and three who may not."""
    callable_ = [callable_person(commune=commune("04070")) for _ in range(2)]
    callable_.append(callable_person(commune=commune("04112", "Manosque")))
    no_phone = callable_person(phone="")
    refused = PersonFactory()
    Consent.objects.create(
        person=refused, channel=ConsentChannel.PHONE, granted=False, source="tests"
    )
    no_consent = PersonFactory()
    return callable_, [no_phone, refused, no_consent]


@pytest.mark.django_db
def test_fill_queues_the_segment_members_with_phone_and_consent(organizer_04, people_04):
    callable_, _others = people_04
    callable_person(commune=commune("05061", "Gap"))  # outside the creator's scope
    campaign = phone_campaign(organizer_04)

    assert calling.fill_call_queue(campaign) == 3
    queued = set(CallTarget.objects.filter(campaign=campaign).values_list("person_id", flat=True))
    assert queued == {p.pk for p in callable_}
    # Filling again adds only newcomers.
    newcomer = callable_person()
    assert calling.fill_call_queue(campaign) == 1
    assert CallTarget.objects.filter(campaign=campaign, person=newcomer).exists()
    assert calling.fill_call_queue(campaign) == 0


@pytest.mark.django_db
def test_fill_refuses_a_door_campaign(organizer_04):
    with pytest.raises(ValidationError):
        calling.fill_call_queue(FieldCampaignFactory(created_by=organizer_04))


@pytest.mark.django_db
def test_next_call_claims_one_person_per_caller(organizer_04, hq_admin, people_04):
    campaign = phone_campaign(organizer_04)
    calling.fill_call_queue(campaign)

    first = calling.next_call(scope_for(organizer_04), campaign, now=TUESDAY)
    again = calling.next_call(scope_for(organizer_04), campaign, now=TUESDAY)
    other = calling.next_call(scope_for(hq_admin), campaign, now=TUESDAY)

    assert again == first  # the unfinished call comes back, no second claim
    assert other.person_id != first.person_id
    first.refresh_from_db()
    assert (first.status, first.caller, first.claimed_at) == ("calling", organizer_04, TUESDAY)


@pytest.mark.django_db
def test_outcome_is_a_phone_canvass_and_cooldown_applies(organizer_04, people_04):
    campaign = phone_campaign(organizer_04, call_cooldown_hours=48)
    calling.fill_call_queue(campaign)
    scope = scope_for(organizer_04)
    target = calling.next_call(scope, campaign, now=TUESDAY)

    canvass = calling.record_call(
        scope=scope,
        target=target,
        outcome=Outcome.NOT_HOME,
        support=4,  # no consent: dropped
        answers={"sujets": ["Santé"]},
        now=TUESDAY,
    )

    assert (canvass.channel, canvass.outcome, canvass.person_id) == (
        Channel.PHONE,
        Outcome.NOT_HOME,
        target.person_id,
    )
    assert (canvass.support, canvass.answers, canvass.volunteer) == (None, {}, organizer_04)
    target.refresh_from_db()
    assert (target.status, target.attempts, target.caller) == ("waiting", 1, None)
    assert target.next_call_after == TUESDAY + dt.timedelta(hours=48)
    # The two others come first; then nobody until the cooldown has passed.
    later = TUESDAY + dt.timedelta(hours=1)
    seen = set()
    for _ in range(2):
        call = calling.next_call(scope, campaign, now=later)
        seen.add(call.person_id)
        calling.record_call(scope=scope, target=call, outcome=Outcome.POSITIVE, now=later)
    assert target.person_id not in seen
    assert calling.next_call(scope, campaign, now=later) is None
    after = TUESDAY + dt.timedelta(hours=49)
    assert calling.next_call(scope, campaign, now=after).person_id == target.person_id


@pytest.mark.django_db
def test_answers_kept_with_consent_and_target_closed(organizer_04, people_04):
    campaign = phone_campaign(organizer_04)
    calling.fill_call_queue(campaign)
    scope = scope_for(organizer_04)
    target = calling.next_call(scope, campaign, now=TUESDAY)

    canvass = calling.record_call(
        scope=scope,
        target=target,
        outcome=Outcome.POSITIVE,
        opinion_consent=True,
        support=5,
        issues=["Santé"],
        answers={"sujets": ["Santé"]},
        now=TUESDAY,
    )

    assert (canvass.support, canvass.issues, canvass.answers) == (
        5,
        ["Santé"],
        {"sujets": ["Santé"]},
    )
    target.refresh_from_db()
    assert target.status == "done"
    assert Person.objects.get(pk=target.person_id).last_contact_at == TUESDAY
    # The claim is spent: recording twice is refused and stores nothing more.
    with pytest.raises(ValidationError):
        calling.record_call(scope=scope, target=target, outcome=Outcome.POSITIVE, now=TUESDAY)
    assert Canvass.objects.filter(campaign=campaign).count() == 1


@pytest.mark.django_db
def test_third_unanswered_call_closes(organizer_04):
    callable_person()
    campaign = phone_campaign(organizer_04, call_cooldown_hours=1)
    calling.fill_call_queue(campaign)
    scope = scope_for(organizer_04)
    for attempt in range(3):
        now = TUESDAY + dt.timedelta(hours=2 * attempt)
        target = calling.next_call(scope, campaign, now=now)
        calling.record_call(scope=scope, target=target, outcome=Outcome.NOT_HOME, now=now)
    target.refresh_from_db()
    assert (target.status, target.attempts) == ("done", 3)


@pytest.mark.django_db
def test_stale_claim_is_released(organizer_04, hq_admin):
    callable_person()
    campaign = phone_campaign(organizer_04)
    calling.fill_call_queue(campaign)
    gone = calling.next_call(scope_for(hq_admin), campaign, now=TUESDAY)

    assert calling.next_call(scope_for(organizer_04), campaign, now=TUESDAY) is None
    later = TUESDAY + dt.timedelta(minutes=calling.STALE_CLAIM_MINUTES + 1)
    taken = calling.next_call(scope_for(organizer_04), campaign, now=later)
    assert taken.pk == gone.pk and taken.caller == organizer_04
    # The first caller comes back too late: their outcome is refused.
    with pytest.raises(ValidationError):
        calling.record_call(scope=scope_for(hq_admin), target=gone, outcome=Outcome.POSITIVE)
    assert not Canvass.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        (dt.datetime(2026, 11, 24, 8, 59), True),
        (dt.datetime(2026, 11, 24, 9, 0), False),
        (dt.datetime(2026, 11, 24, 19, 59), False),
        (dt.datetime(2026, 11, 24, 20, 0), True),
        (dt.datetime(2026, 11, 24, 23, 30), True),
        (dt.datetime(2026, 11, 29, 11, 0), True),  # Sunday
        (dt.datetime(2026, 7, 7, 19, 30), False),  # summer time (UTC+2)
    ],
)
def test_quiet_hours_in_paris_time(organizer_04, local, quiet):
    import zoneinfo

    campaign = phone_campaign(organizer_04)
    at = local.replace(tzinfo=zoneinfo.ZoneInfo("Europe/Paris")).astimezone(dt.UTC)
    assert calling.is_quiet(campaign, at) is quiet


@pytest.mark.django_db
def test_quiet_hours_are_configurable(organizer_04):
    callable_person()
    campaign = phone_campaign(
        organizer_04, quiet_start=dt.time(18), quiet_end=dt.time(10), no_calls_on_sunday=False
    )
    calling.fill_call_queue(campaign)
    sunday_noon = dt.datetime(2026, 11, 29, 12, 0, tzinfo=PARIS)
    assert calling.next_call(scope_for(organizer_04), campaign, now=sunday_noon) is not None
    evening = dt.datetime(2026, 11, 24, 18, 30, tzinfo=PARIS)
    with pytest.raises(calling.NotNow):
        calling.next_call(scope_for(organizer_04), campaign, now=evening)


@pytest.mark.django_db
def test_who_may_call(organizer_04, hq_staff, volunteer, organizer_digne):
    callable_person(commune=commune("04112", "Manosque"))
    campaign = phone_campaign(organizer_04)
    calling.fill_call_queue(campaign)

    with pytest.raises(PermissionDenied):
        calling.next_call(scope_for(hq_staff), campaign, now=TUESDAY)
    with pytest.raises(PermissionDenied):
        calling.next_call(scope_for(volunteer), campaign, now=TUESDAY)
    # An organizer of Digne calls only people of Digne: the Manosque person stays queued.
    assert calling.next_call(scope_for(organizer_digne), campaign, now=TUESDAY) is None
    assert CallTarget.objects.get().status == "waiting"
    # A volunteer of the campaign's team calls.
    team = Team.objects.create(name="Phoning Digne", commune=commune("04070"))
    team.members.add(volunteer)
    campaign.teams.add(team)
    assert calling.next_call(scope_for(volunteer), campaign, now=TUESDAY) is not None


@pytest.mark.django_db(transaction=True)
def test_concurrent_callers_never_get_the_same_person(organizer_04, hq_admin):
    from tests.factories import UserFactory

    people = [callable_person() for _ in range(12)]
    campaign = phone_campaign(organizer_04)
    calling.fill_call_queue(campaign)
    callers = [UserFactory(role="hq_admin") for _ in range(8)] + [organizer_04]
    results: dict[int, list[int]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(callers))

    def work(user):
        got = []
        try:
            barrier.wait()
            scope = scope_for(user)
            # Each caller takes people until the queue is empty, recording each call.
            while (target := calling.next_call(scope, campaign, now=TUESDAY)) is not None:
                got.append(target.person_id)
                calling.record_call(
                    scope=scope, target=target, outcome=Outcome.POSITIVE, now=TUESDAY
                )
        except BaseException as exc:  # noqa: BLE001 — reported by the main thread
            errors.append(exc)
        finally:
            results[user.pk] = got
            connection.close()

    threads = [threading.Thread(target=work, args=(user,)) for user in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    called = [pk for got in results.values() for pk in got]
    assert sorted(called) == sorted(p.pk for p in people)  # each exactly once
    assert Canvass.objects.filter(campaign=campaign).count() == 12
    assert set(CallTarget.objects.values_list("status", flat=True)) == {"done"}
