"""Composing, previewing and sending from the pages, per persona."""

import pytest

from campagne.mailing.models import Mailing, Recipient
from campagne.segments.models import Segment
from tests.mailing.conftest import consent, make_mailing


@pytest.fixture
def people(person_digne, person_manosque, person_gap):
    return [consent(person) for person in (person_digne, person_manosque, person_gap)]


def form_data(sender, segment, **changes):
    return {
        "sender": sender.pk,
        "subject": "Bonjour {{ prenom }}",
        "preheader": "",
        "body": 'Salut {{ prenom | "toi" }} !',
        "reason": "Vous avez signé la pétition.",
        "segments": [segment.pk],
        **changes,
    }


def test_an_organizer_composes_previews_and_sends(
    client, smtp_server, organizer_04, sender, people, person_manosque, person_gap
):
    segment = Segment.objects.create(name="Mes contacts", definition={}, owner=organizer_04)
    client.force_login(organizer_04)

    response = client.post("/m/nouveau/", form_data(sender, segment))

    mailing = Mailing.objects.get()
    assert response.url == f"/m/{mailing.pk}/"
    assert (mailing.created_by, mailing.status) == (organizer_04, Mailing.Status.DRAFT)
    preview = client.get(f"/m/{mailing.pk}/", {"person": person_manosque.pk})
    assert preview.status_code == 200
    assert "Bonjour Paul" in preview.content.decode()
    assert "Salut Paul !" in preview.content.decode()
    # A person outside the organizer's territory cannot be previewed.
    assert client.get(f"/m/{mailing.pk}/", {"person": person_gap.pk}).status_code == 404

    response = client.post(f"/m/{mailing.pk}/envoyer/")

    assert response.status_code == 302
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENDING
    assert mailing.recipients.count() == 2
    assert client.get("/m/").content.decode().count(f'href="/m/{mailing.pk}/"') == 1


def test_unknown_merge_fields_are_refused_by_the_form(client, hq_admin, sender):
    segment = Segment.objects.create(name="Tous", definition={})
    client.force_login(hq_admin)

    response = client.post("/m/nouveau/", form_data(sender, segment, body="{{ age }}"))

    assert response.status_code == 200
    assert "Champ de fusion inconnu : age" in response.content.decode()
    assert not Mailing.objects.exists()


def test_an_organizer_cannot_use_anothers_segment(client, organizer_04, organizer_05, sender):
    theirs = Segment.objects.create(name="Les leurs", definition={}, owner=organizer_05)
    client.force_login(organizer_04)

    response = client.post("/m/nouveau/", form_data(sender, theirs))

    assert response.status_code == 200
    assert not Mailing.objects.exists()


def test_hq_staff_can_read_but_not_compose_nor_send(
    client, smtp_server, hq_admin, hq_staff, sender, people
):
    mailing = make_mailing(sender, created_by=hq_admin)
    segment = Segment.objects.create(name="Tous", definition={})
    client.force_login(hq_staff)

    assert client.get(f"/m/{mailing.pk}/").status_code == 200
    assert client.get("/m/nouveau/").status_code == 403
    assert client.post("/m/nouveau/", form_data(sender, segment)).status_code == 403
    assert client.post(f"/m/{mailing.pk}/envoyer/").status_code == 403

    mailing.refresh_from_db()
    assert (Mailing.objects.count(), mailing.status) == (1, Mailing.Status.DRAFT)
    assert not Recipient.objects.exists()


def test_another_organizers_mailing_is_not_found(client, organizer_04, organizer_05, sender):
    mailing = make_mailing(sender, created_by=organizer_04)
    client.force_login(organizer_05)

    assert client.get(f"/m/{mailing.pk}/").status_code == 404
    assert client.post(f"/m/{mailing.pk}/envoyer/").status_code == 404
    assert "Aucun e-mail" in client.get("/m/").content.decode()
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DRAFT


def test_anonymous_visitors_are_sent_to_login(client, hq_admin, sender):
    mailing = make_mailing(sender, created_by=hq_admin)

    for url in ("/m/", "/m/nouveau/", f"/m/{mailing.pk}/"):
        assert client.get(url).status_code == 302
    assert client.post(f"/m/{mailing.pk}/envoyer/").status_code == 302
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DRAFT
