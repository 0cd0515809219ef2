"""The caller's page: claim the next person, record the outcome, fill the queue; refusals."""

import datetime as dt

import pytest
from django.test import Client

from campagne.canvassing.models import CallTarget, Canvass, Channel
from campagne.people.models import Channel as ConsentChannel
from campagne.people.models import Consent
from campagne.segments.models import Segment
from tests.canvassing.factories import FieldCampaignFactory
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db

# The pages use the real clock: these hours allow calls at any time (start == end, no
# rule for Sundays); the quiet hours test sets hours that forbid them at any time.
ALWAYS_OPEN = {"quiet_start": dt.time(0), "quiet_end": dt.time(0), "no_calls_on_sunday": False}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def campaign(organizer_04):
    person = PersonFactory(first_name="Jeanne", last_name="Martin", phone="+33612345678")
    Consent.objects.create(person=person, channel=ConsentChannel.PHONE, granted=True, source="t")
    segment = Segment.objects.create(name="Tous", owner=organizer_04, definition={})
    return FieldCampaignFactory(
        name="Appels",
        channel=Channel.PHONE,
        segment=segment,
        created_by=organizer_04,
        **ALWAYS_OPEN,
    )


def test_fill_claim_and_record_a_call(organizer_04, campaign):
    client = client_for(organizer_04)
    base = f"/terrain/appels/{campaign.pk}/"

    assert client.post(base + "remplir/").status_code == 302
    assert CallTarget.objects.filter(campaign=campaign).count() == 1
    assert client.post(base + "suivant/").status_code == 302
    page = client.get(base)
    html = page.content.decode()
    assert 'href="tel:+33612345678"' in html and "Jeanne Martin" in html
    assert "Bonjour, je suis militant·e" in html  # the script
    assert 'name="q_sujets"' in html  # the questionnaire
    target = CallTarget.objects.get()

    response = client.post(
        f"{base}appel/{target.pk}/",
        {"outcome": "positive", "opinion_consent": "on", "support": "4", "q_sujets": ["Santé"]},
    )

    assert response.status_code == 302
    canvass = Canvass.objects.get()
    assert (canvass.channel, canvass.outcome, canvass.support, canvass.issues) == (
        "phone",
        "positive",
        4,
        ["Santé"],
    )
    target.refresh_from_db()
    assert target.status == "done"
    # The same dashboard, for calls.
    board = client.get(f"/terrain/campagnes/{campaign.pk}/tableau/").context["board"]
    assert (board.totals.knocked, board.totals.positive) == (1, 1)
    assert board.coverage.reached == 1 and board.coverage.total == 1


def test_quiet_hours_show_no_call(organizer_04, campaign):
    campaign.quiet_start, campaign.quiet_end = dt.time(0), dt.time(23, 59, 59, 999999)
    campaign.save()
    client = client_for(organizer_04)
    client.post(f"/terrain/appels/{campaign.pk}/remplir/")

    page = client.get(f"/terrain/appels/{campaign.pk}/")
    assert "Pas d&#x27;appel entre 00:00 et 23:59." in page.content.decode()
    client.post(f"/terrain/appels/{campaign.pk}/suivant/")
    assert CallTarget.objects.get().status == "waiting"


def test_hq_staff_may_neither_fill_nor_call(hq_staff, campaign):
    client = client_for(hq_staff)

    assert client.get(f"/terrain/appels/{campaign.pk}/").status_code == 200
    assert client.post(f"/terrain/appels/{campaign.pk}/remplir/").status_code == 403
    assert client.post(f"/terrain/appels/{campaign.pk}/suivant/").status_code == 403
    assert not CallTarget.objects.exists()


def test_outside_scope_is_404(organizer_05, campaign):
    client = client_for(organizer_05)
    assert client.get(f"/terrain/appels/{campaign.pk}/").status_code == 404
    assert client.post(f"/terrain/appels/{campaign.pk}/remplir/").status_code == 404
    assert not CallTarget.objects.exists()


def test_another_callers_target_is_404(organizer_04, hq_admin, campaign):
    client_for(organizer_04).post(f"/terrain/appels/{campaign.pk}/remplir/")
    client_for(organizer_04).post(f"/terrain/appels/{campaign.pk}/suivant/")
    target = CallTarget.objects.get()

    response = client_for(hq_admin).post(
        f"/terrain/appels/{campaign.pk}/appel/{target.pk}/", {"outcome": "positive"}
    )

    assert response.status_code == 404
    assert not Canvass.objects.exists()
    target.refresh_from_db()
    assert (target.status, target.caller) == ("calling", organizer_04)
