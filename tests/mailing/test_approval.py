"""HQ approval of organizers' mailings, when the HQ admin turns it on; and the senders."""

import pytest

from campagne.mailing.models import Approval, Mailing, MailingSettings, Recipient, Sender
from tests.api.conftest import Api
from tests.mailing.conftest import consent, make_mailing


@pytest.fixture
def people(person_digne, person_manosque, person_gap):
    return [consent(person) for person in (person_digne, person_manosque, person_gap)]


@pytest.fixture
def approval_on(db):
    MailingSettings.objects.update_or_create(pk=1, defaults={"approval_required": True})


def state(mailing: Mailing) -> tuple[str, str, str]:
    mailing.refresh_from_db()
    return mailing.status, mailing.approval, mailing.approval_comment


def test_an_organizers_mailing_goes_only_once_approved(
    client, smtp_server, approval_on, organizer_04, hq_admin, sender, people
):
    mailing = make_mailing(sender, created_by=organizer_04)
    client.force_login(organizer_04)

    # Not submitted: refused, nothing frozen.
    page = client.post(f"/m/{mailing.pk}/envoyer/", follow=True).content.decode()
    assert "doit être validé par le QG" in page
    assert state(mailing) == ("draft", "", "")
    assert not Recipient.objects.exists()

    client.post(f"/m/{mailing.pk}/soumettre/")
    assert state(mailing) == ("draft", "submitted", "")
    # Submitted is not approved either.
    client.post(f"/m/{mailing.pk}/envoyer/")
    assert not Recipient.objects.exists()

    client.force_login(hq_admin)
    listing = client.get("/m/", {"validation": "submitted"}).content.decode()
    assert f'href="/m/{mailing.pk}/"' in listing
    detail = client.get(f"/m/{mailing.pk}/").content.decode()
    assert "Valider" in detail and "Envoyer maintenant" not in detail
    client.post(f"/m/{mailing.pk}/validation/", {"decision": "approve", "comment": "Parfait"})
    assert state(mailing) == ("draft", "approved", "Parfait")
    assert mailing.reviewed_by == hq_admin
    assert f'href="/m/{mailing.pk}/"' not in client.get("/m/?validation=submitted").content.decode()

    client.force_login(organizer_04)
    client.post(f"/m/{mailing.pk}/envoyer/")
    assert state(mailing)[0] == "sending"
    assert Recipient.objects.filter(mailing=mailing).count() == 2


def test_a_rejection_says_why_and_an_edit_resubmits(
    client, approval_on, organizer_04, hq_admin, sender
):
    mailing = make_mailing(sender, created_by=organizer_04)
    mailing.approval = Approval.SUBMITTED
    mailing.save()
    client.force_login(hq_admin)

    # A rejection without a reason is refused.
    client.post(f"/m/{mailing.pk}/validation/", {"decision": "reject", "comment": " "})
    assert state(mailing) == ("draft", "submitted", "")
    client.post(f"/m/{mailing.pk}/validation/", {"decision": "reject", "comment": "Trop long"})
    assert state(mailing) == ("draft", "rejected", "Trop long")

    client.force_login(organizer_04)
    assert "Trop long" in client.get(f"/m/{mailing.pk}/").content.decode()
    client.post(f"/m/{mailing.pk}/soumettre/")
    assert state(mailing)[1] == "submitted"


def test_editing_an_approved_mailing_withdraws_the_approval(
    client, approval_on, organizer_04, sender
):
    mailing = make_mailing(sender, created_by=organizer_04)
    Mailing.objects.filter(pk=mailing.pk).update(approval=Approval.APPROVED)
    client.force_login(organizer_04)
    data = {
        "sender": sender.pk,
        "subject": "Nouvel objet",
        "preheader": "",
        "body": "Texte modifié",
        "reason": "Vous avez signé.",
        "segments": [s.pk for s in mailing.segments.all()],
        "ab_sample_percent": 20,
        "ab_wait_minutes": 240,
    }

    response = client.post(f"/m/{mailing.pk}/modifier/", data)

    assert response.status_code == 302
    assert state(mailing) == ("draft", "", "")
    assert mailing.subject == "Nouvel objet"


def test_hq_admins_own_mailings_and_everything_when_off_need_no_approval(
    client, smtp_server, approval_on, hq_admin, organizer_04, sender, people
):
    own = make_mailing(sender, created_by=hq_admin)
    client.force_login(hq_admin)
    client.post(f"/m/{own.pk}/envoyer/")
    assert state(own)[0] == "sending"
    assert client.post(f"/m/{own.pk}/soumettre/").status_code == 302
    assert state(own)[1] == ""

    MailingSettings.objects.filter(pk=1).update(approval_required=False)
    theirs = make_mailing(sender, created_by=organizer_04)
    client.force_login(organizer_04)
    client.post(f"/m/{theirs.pk}/envoyer/")
    assert state(theirs)[0] == "sending"


def test_only_an_hq_admin_approves(
    client, approval_on, organizer_04, organizer_05, hq_staff, volunteer, sender
):
    mailing = make_mailing(sender, created_by=organizer_04)
    Mailing.objects.filter(pk=mailing.pk).update(approval=Approval.SUBMITTED)
    approve = {"decision": "approve", "comment": "ok"}

    client.force_login(organizer_04)  # its author
    assert client.post(f"/m/{mailing.pk}/validation/", approve).status_code == 403
    client.force_login(hq_staff)
    assert client.get(f"/m/{mailing.pk}/").status_code == 200
    assert client.post(f"/m/{mailing.pk}/validation/", approve).status_code == 403
    assert client.post(f"/m/{mailing.pk}/soumettre/").status_code == 403
    for outsider in (organizer_05, volunteer):
        client.force_login(outsider)
        assert client.post(f"/m/{mailing.pk}/validation/", approve).status_code == 404
        assert client.get(f"/m/{mailing.pk}/").status_code == 404

    assert state(mailing) == ("draft", "submitted", "")
    assert mailing.reviewed_by is None


def test_the_api_submits_approves_and_refuses_the_others(
    smtp_server, approval_on, organizer_04, hq_admin, hq_staff, volunteer, sender, people
):
    mailing = make_mailing(sender, created_by=organizer_04)
    author = Api(organizer_04)

    assert author.post(f"/mailings/{mailing.pk}/send").status_code == 422
    assert author.post(f"/mailings/{mailing.pk}/submit").json()["approval"] == "submitted"
    assert author.post(f"/mailings/{mailing.pk}/approve", {"comment": "moi"}).status_code == 403
    assert Api(hq_staff).post(f"/mailings/{mailing.pk}/approve", {}).status_code == 403
    assert Api(volunteer).post(f"/mailings/{mailing.pk}/approve", {}).status_code == 404
    assert state(mailing) == ("draft", "submitted", "")

    body = Api(hq_admin).post(f"/mailings/{mailing.pk}/approve", {"comment": "Bon"}).json()
    assert (body["approval"], body["approval_comment"]) == ("approved", "Bon")
    assert author.post(f"/mailings/{mailing.pk}/send").json() == {
        "recipients": 2,
        "suppressed": 0,
    }


def test_api_reject_needs_a_comment(approval_on, organizer_04, hq_admin, sender):
    mailing = make_mailing(sender, created_by=organizer_04)
    Mailing.objects.filter(pk=mailing.pk).update(approval=Approval.SUBMITTED)
    admin = Api(hq_admin)

    assert admin.post(f"/mailings/{mailing.pk}/reject", {"comment": ""}).status_code == 422
    assert state(mailing) == ("draft", "submitted", "")
    body = admin.post(f"/mailings/{mailing.pk}/reject", {"comment": "Non"}).json()
    assert (body["approval"], body["approval_comment"]) == ("rejected", "Non")


def test_the_setting_is_the_hq_admins(client, hq_admin, hq_staff, organizer_04, volunteer):
    client.force_login(hq_admin)
    client.post("/m/reglages/", {"approval_required": "on"})
    assert MailingSettings.current().approval_required is True
    assert MailingSettings.current().updated_by == hq_admin

    client.force_login(hq_staff)
    assert client.get("/m/reglages/").status_code == 200
    assert client.post("/m/reglages/", {}).status_code == 403
    for user in (organizer_04, volunteer):
        client.force_login(user)
        assert client.get("/m/reglages/").status_code == 403
        assert client.post("/m/reglages/", {}).status_code == 403
    assert MailingSettings.current().approval_required is True


def test_hq_admin_adds_and_validates_senders_organizers_pick_only_validated(
    client, hq_admin, hq_staff, organizer_04, sender
):
    client.force_login(hq_admin)
    client.post("/m/expediteurs/", {"name": "Comité 04", "address": "Comite04@Campagne.test"})
    added = Sender.objects.get(name="Comité 04")
    assert (added.address, added.validated) == ("comite04@campagne.test", False)

    client.force_login(organizer_04)
    form = client.get("/m/nouveau/").content.decode()
    assert "Équipe Campagne" in form and "Comité 04" not in form
    assert client.get("/m/expediteurs/").status_code == 403
    assert (
        client.post(f"/m/expediteurs/{added.pk}/validation/", {"validated": "1"}).status_code == 403
    )
    client.force_login(hq_staff)
    assert client.get("/m/expediteurs/").status_code == 200
    assert (
        client.post(f"/m/expediteurs/{added.pk}/validation/", {"validated": "1"}).status_code == 403
    )
    assert (
        client.post("/m/expediteurs/", {"name": "X", "address": "x@campagne.test"}).status_code
        == 403
    )
    added.refresh_from_db()
    assert added.validated is False
    assert Sender.objects.count() == 2

    client.force_login(hq_admin)
    client.post(f"/m/expediteurs/{added.pk}/validation/", {"validated": "1"})
    added.refresh_from_db()
    assert (added.validated, added.validated_by) == (True, hq_admin)
    client.force_login(organizer_04)
    assert "Comité 04" in client.get("/m/nouveau/").content.decode()
