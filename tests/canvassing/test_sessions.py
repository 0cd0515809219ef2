"""Sessions: organizers assign turfs, volunteers see theirs and claim open turfs; never
two open sessions on one turf, even when two volunteers claim it at the same instant."""

import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from campagne.accounts.models import Role
from campagne.accounts.scopes import scope_for
from campagne.canvassing import actions
from campagne.canvassing.models import Session, Turf
from tests.canvassing.factories import FieldCampaignFactory, SessionFactory, turf_with_stops
from tests.factories import UserFactory


def slot(hours_from_now: int = 24) -> dict[str, str]:
    start = timezone.localtime() + dt.timedelta(hours=hours_from_now)
    end = start + dt.timedelta(hours=2)
    return {
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": end.strftime("%Y-%m-%dT%H:%M"),
    }


@pytest.fixture
def digne_volunteer(db):
    return UserFactory(email="militant.digne@test.campagne", communes=["04070"])


@pytest.fixture
def other_digne_volunteer(db):
    return UserFactory(email="autre.digne@test.campagne", communes=["04070"])


@pytest.fixture
def turf(db):
    return turf_with_stops(8, campaign=FieldCampaignFactory(allow_claim=True))


# --- organizers assign ----------------------------------------------------------------------
@pytest.mark.django_db
def test_organizer_assigns_a_turf(client, organizer_04, digne_volunteer, turf):
    client.force_login(organizer_04)
    url = reverse("canvassing:session_create", args=[turf.pk])
    assert client.get(url).status_code == 200

    response = client.post(
        url, {"volunteer": digne_volunteer.pk, "meeting_label": "Place du marché", **slot()}
    )

    assert response.status_code == 302
    session = Session.objects.get()
    assert (session.turf, session.volunteer, session.created_by) == (
        turf,
        digne_volunteer,
        organizer_04,
    )
    assert session.meeting_label == "Place du marché"
    assert session.claimed is False
    turf.refresh_from_db()
    assert turf.status == Turf.Status.ASSIGNED


@pytest.mark.django_db
def test_a_second_open_session_on_a_turf_is_refused(
    client, organizer_04, digne_volunteer, other_digne_volunteer, turf
):
    client.force_login(organizer_04)
    url = reverse("canvassing:session_create", args=[turf.pk])
    client.post(url, {"volunteer": digne_volunteer.pk, **slot()})

    response = client.post(url, {"volunteer": other_digne_volunteer.pk, **slot(48)})

    assert response.status_code == 400
    assert "déjà une session" in response.content.decode()
    assert list(Session.objects.values_list("volunteer", flat=True)) == [digne_volunteer.pk]


@pytest.mark.django_db
def test_volunteer_outside_the_turf_territory_is_refused(client, organizer_04, turf):
    stranger = UserFactory(communes=["05061"])
    client.force_login(organizer_04)
    response = client.post(
        reverse("canvassing:session_create", args=[turf.pk]), {"volunteer": stranger.pk, **slot()}
    )
    assert response.status_code == 400
    assert not Session.objects.exists()


@pytest.mark.django_db
def test_session_creation_refused_outside_scope(
    client, organizer_05, hq_staff, volunteer, digne_volunteer, turf
):
    url = reverse("canvassing:session_create", args=[turf.pk])
    for user, status in ((organizer_05, 404), (volunteer, 404), (hq_staff, 403)):
        client.force_login(user)
        assert client.post(url, {"volunteer": digne_volunteer.pk, **slot()}).status_code == status
    assert not Session.objects.exists()
    turf.refresh_from_db()
    assert turf.status == Turf.Status.OPEN


@pytest.mark.django_db
def test_turf_status_follows_its_sessions(client, organizer_04, digne_volunteer, turf):
    scope = scope_for(organizer_04)
    start = timezone.now()
    session = actions.create_session(
        scope=scope,
        turf=turf,
        volunteer=digne_volunteer,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
    )
    client.force_login(organizer_04)
    url = reverse("canvassing:session_status", args=[session.pk])

    client.post(url, {"status": "cancelled"})
    turf.refresh_from_db()
    assert turf.status == Turf.Status.OPEN

    again = actions.create_session(
        scope=scope,
        turf=turf,
        volunteer=digne_volunteer,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
    )
    client.post(reverse("canvassing:session_status", args=[again.pk]), {"status": "done"})
    turf.refresh_from_db()
    assert turf.status == Turf.Status.DONE
    assert list(Session.objects.order_by("pk").values_list("status", flat=True)) == [
        "cancelled",
        "done",
    ]


# --- volunteers see theirs, claim open turfs ------------------------------------------------
@pytest.mark.django_db
def test_volunteer_sees_only_their_sessions(client, digne_volunteer, turf):
    mine = SessionFactory(turf=turf, volunteer=digne_volunteer)
    theirs = SessionFactory(turf=turf_with_stops(2, campaign=turf.campaign))
    client.force_login(digne_volunteer)

    text = client.get(reverse("canvassing:my_sessions")).content.decode()

    assert str(mine.turf) in text
    assert f"{theirs.turf} ·" not in text


@pytest.mark.django_db
def test_volunteer_claims_an_open_turf(client, digne_volunteer, turf):
    client.force_login(digne_volunteer)
    page = client.get(reverse("canvassing:my_sessions")).content.decode()
    assert reverse("canvassing:turf_claim", args=[turf.pk]) in page

    response = client.post(reverse("canvassing:turf_claim", args=[turf.pk]), follow=True)

    assert response.status_code == 200
    session = Session.objects.get()
    assert (session.volunteer, session.claimed, session.status) == (
        digne_volunteer,
        True,
        "planned",
    )
    turf.refresh_from_db()
    assert turf.status == Turf.Status.ASSIGNED


@pytest.mark.django_db
def test_claims_refused_when_not_allowed(client, digne_volunteer, volunteer, organizer_04, turf):
    url = reverse("canvassing:turf_claim", args=[turf.pk])
    # A volunteer with no territory, an organizer: not claimable for them.
    for user in (volunteer, organizer_04):
        client.force_login(user)
        assert client.post(url).status_code == 404
    # The campaign does not let volunteers choose.
    turf.campaign.allow_claim = False
    turf.campaign.save()
    client.force_login(digne_volunteer)
    assert client.post(url).status_code == 404
    assert not Session.objects.exists()


@pytest.mark.django_db
def test_a_taken_turf_is_no_longer_claimable(digne_volunteer, other_digne_volunteer, turf):
    actions.claim_turf(scope=scope_for(digne_volunteer), turf_id=turf.pk)
    with pytest.raises(Exception) as refused:
        actions.claim_turf(scope=scope_for(other_digne_volunteer), turf_id=turf.pk)
    assert refused.type.__name__ == "Http404"
    assert Session.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_volunteers_claiming_at_once_one_wins():
    """Both pass the "is it claimable?" read, then race for the write: exactly one gets
    the turf, the other a clear message. Run on SQLite and, with --postgres, PostgreSQL."""
    first = UserFactory(email="a@test.campagne", role=Role.VOLUNTEER, communes=["04070"])
    second = UserFactory(email="b@test.campagne", role=Role.VOLUNTEER, communes=["04070"])
    turf = turf_with_stops(5, campaign=FieldCampaignFactory(allow_claim=True))
    scopes = [scope_for(first), scope_for(second)]
    for scope in scopes:
        assert scope.home_territories  # read before the race
    barrier = threading.Barrier(2)
    outcomes: dict[int, object] = {}

    def claim(index: int) -> None:
        try:
            # What claim_turf does, with both reads done before either write.
            seen = scopes[index].claimable_turfs().get(pk=turf.pk)
            barrier.wait(timeout=10)
            outcomes[index] = actions.take_turf(scope=scopes[index], turf=seen)
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    sessions = [o for o in outcomes.values() if isinstance(o, Session)]
    refusals = [o for o in outcomes.values() if isinstance(o, ValidationError)]
    assert (len(sessions), len(refusals)) == (1, 1), outcomes
    assert "vient d'être attribué" in refusals[0].messages[0]
    assert Session.objects.filter(turf=turf).count() == 1
    assert Turf.objects.get(pk=turf.pk).status == Turf.Status.ASSIGNED


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_a_second_open_session_whatever_the_code():
    """The constraint itself: two organizers' requests interleaved past every check."""
    turf = turf_with_stops(3)
    start = timezone.now()
    barrier = threading.Barrier(2)
    outcomes: list[object] = []
    organizer = UserFactory(role=Role.ORGANIZER, departements=["04"])
    volunteers = [UserFactory(communes=["04070"]) for _ in range(2)]
    scope = scope_for(organizer)
    assert scope.territories

    def assign(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(
                actions.create_session(
                    scope=scope,
                    turf=Turf.objects.get(pk=turf.pk),
                    volunteer=volunteers[index],
                    starts_at=start,
                    ends_at=start + dt.timedelta(hours=2),
                )
            )
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=assign, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(type(o).__name__ for o in outcomes) == ["Session", "ValidationError"]
    assert Session.objects.filter(turf=turf).count() == 1
