"""/api/v1/mailings: reading counts and starting a send, per persona."""

import pytest

from campagne.mailing.models import Mailing, Recipient
from tests.api.conftest import Api
from tests.mailing.conftest import consent, make_mailing


@pytest.fixture
def people(person_digne, person_manosque, person_gap):
    return [consent(person) for person in (person_digne, person_manosque, person_gap)]


def test_hq_admin_starts_a_send_and_reads_the_counts(smtp_server, hq_admin, sender, people):
    mailing = make_mailing(sender, created_by=hq_admin)
    api = Api(hq_admin)

    response = api.post(f"/mailings/{mailing.pk}/send")

    assert response.status_code == 200
    assert response.json() == {"recipients": 3, "suppressed": 0}
    body = api.get(f"/mailings/{mailing.pk}").json()
    assert (body["status"], body["counts"]["queued"]) == ("sending", 3)
    assert body["sender"] == "Équipe Campagne <equipe@campagne.test>"


def test_hq_staff_may_read_but_not_send_and_nothing_changes(
    smtp_server, hq_admin, hq_staff, sender, people
):
    mailing = make_mailing(sender, created_by=hq_admin)
    api = Api(hq_staff)

    assert api.get(f"/mailings/{mailing.pk}").status_code == 200
    response = api.post(f"/mailings/{mailing.pk}/send")

    assert response.status_code == 403
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DRAFT
    assert not Recipient.objects.exists()


def test_an_organizer_sends_their_own_mailing_to_their_territory(
    smtp_server, organizer_04, sender, people, person_gap
):
    mailing = make_mailing(sender, created_by=organizer_04)

    response = Api(organizer_04).post(f"/mailings/{mailing.pk}/send")

    assert response.json() == {"recipients": 2, "suppressed": 0}
    assert not mailing.recipients.filter(email=person_gap.email).exists()


def test_another_organizers_mailing_does_not_exist_for_them(
    smtp_server, organizer_04, organizer_05, sender, people
):
    mailing = make_mailing(sender, created_by=organizer_04)
    api = Api(organizer_05)

    assert api.get(f"/mailings/{mailing.pk}").status_code == 404
    assert api.post(f"/mailings/{mailing.pk}/send").status_code == 404
    mailing.refresh_from_db()
    assert (mailing.status, Recipient.objects.count()) == (Mailing.Status.DRAFT, 0)


@pytest.mark.parametrize("persona", ["volunteer", None])
def test_volunteers_and_anonymous_callers_get_nothing(
    request, smtp_server, hq_admin, sender, people, persona
):
    mailing = make_mailing(sender, created_by=hq_admin)
    user = request.getfixturevalue(persona) if persona else None
    api = Api(user)

    assert api.get(f"/mailings/{mailing.pk}").status_code == (404 if user else 401)
    assert api.post(f"/mailings/{mailing.pk}/send").status_code == (404 if user else 401)
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DRAFT
