"""The demo's mailings: sent ones in the loaded campaign, and the inbox of its SMTP sink."""

import re
import smtplib
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from campagne.accounts.scopes import scope_for
from campagne.demo.mailings import fill_demo_inbox
from campagne.demo.models import DemoMessage
from campagne.demo.sink import DemoSink
from campagne.mailing import actions, sending
from campagne.mailing.models import Mailing, Recipient, Sender
from campagne.people.models import Channel, Consent
from tests.factories import PersonFactory
from tests.mailing.conftest import consent, make_mailing


def run_demo(**options: object) -> str:
    out = StringIO()
    call_command("demo", stdout=out, **options)
    return out.getvalue()


@pytest.mark.usefixtures("communes_04", "gap")
def test_the_demo_has_sent_mailings_with_figures_and_reset_removes_them():
    run_demo(people=300)

    mailings = list(Mailing.objects.order_by("started_at"))
    assert [m.status for m in mailings] == [Mailing.Status.SENT] * 3
    assert all(m.recipients.exists() for m in mailings)
    now = timezone.now()
    assert [(now - m.started_at).days for m in mailings] == [12, 5, 2]
    # Recipients are sent, with consent, over the minutes of each send.
    first = mailings[0]
    assert set(first.recipients.values_list("status", flat=True)) == {Recipient.Status.SENT}
    granted = Consent.objects.filter(channel=Channel.EMAIL, granted=True).values("person")
    assert not first.recipients.exclude(person__in=granted).exists()
    times = sorted(first.recipients.values_list("sent_at", flat=True))
    assert times[0] >= first.started_at and (times[-1] - times[0]).total_seconds() > 600
    # The Digne organizer's mailing went to Digne only, and she sees it.
    digne = mailings[2]
    assert set(digne.recipients.values_list("person__commune_id", flat=True)) == {"04070"}
    assert list(Mailing.objects.visible_to(scope_for(digne.created_by))) == [digne]
    from campagne.tracking.models import Hit

    assert Hit.objects.filter(mailing=first, kind="click").exists()

    run_demo(reset=True, people=50)
    assert Mailing.objects.count() == 3
    assert Recipient.objects.filter(person__isnull=True).count() == 0
    assert Sender.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_sent_messages_land_in_the_demo_inbox_and_can_unsubscribe(client, hq_admin):
    person = consent(PersonFactory(first_name="Lina"))
    sender = Sender.objects.create(name="Équipe", address="equipe@demo.test", validated=True)
    mailing = make_mailing(sender, created_by=hq_admin)
    with DemoSink() as sink:
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST=sink.host,
            EMAIL_PORT=sink.port,
            EMAIL_USE_TLS=False,
            EMAIL_USE_SSL=False,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
            MAILING_SMTP_CONNECTIONS=1,
            CAMPAGNE_BASE_URL="http://testserver",
            CAMPAGNE_DEMO=True,
        ):
            actions.start_sending(scope=scope_for(hq_admin), mailing=mailing)
            sending.send_mailing(mailing.pk)
            # And a plain smtplib client, as Django's backend speaks it.
            with smtplib.SMTP(sink.host, sink.port) as smtp:
                smtp.sendmail("a@demo.test", ["b@demo.test"], b"Subject: Coucou\r\n\r\n.point")

            stored = DemoMessage.objects.get(rcpt_to=person.email)
            assert stored.subject == "Samedi à Digne-les-Bains"
            assert DemoMessage.objects.get(rcpt_to="b@demo.test").parts() == ("", ".point\r\n")
            client.force_login(hq_admin)
            inbox = client.get("/demo/boite/").content.decode()
            assert person.email in inbox and f'href="/demo/boite/{stored.pk}/"' in inbox
            page = client.get(f"/demo/boite/{stored.pk}/").content.decode()

    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in page
    assert "&lt;base target=&quot;_blank&quot;&gt;" in page
    assert "Bonjour Lina !" in page
    html, _text = stored.parts()
    unsubscribe = re.search(r'href="http://testserver(/m/u/[^"]+/)"', html).group(1)
    assert client.post(unsubscribe).status_code == 200
    assert not Consent.objects.get(person=person, channel=Channel.EMAIL).granted


@pytest.mark.usefixtures("communes_04", "gap")
def test_first_launch_inbox_holds_the_latest_demo_mailing_with_working_links(client, settings):
    settings.CAMPAGNE_BASE_URL = "http://testserver"
    run_demo(people=300)
    latest = Mailing.objects.order_by("-started_at").first()

    assert fill_demo_inbox() == 3
    assert fill_demo_inbox() == 0, "a second launch adds nothing to a non-empty inbox"

    stored = list(DemoMessage.objects.order_by("pk"))
    rows = list(latest.recipients.order_by("pk")[:3])
    assert [m.rcpt_to for m in stored] == [r.email for r in rows]
    html, _text = stored[0].parts()
    assert f"{rows[0].merge['prenom']}" in html
    unsubscribe = re.search(r'href="http://testserver(/m/u/[^"]+/)"', html).group(1)
    person = rows[0].person
    assert Consent.objects.get(person=person, channel=Channel.EMAIL).granted
    assert client.post(unsubscribe).status_code == 200
    assert not Consent.objects.get(person=person, channel=Channel.EMAIL).granted


def test_the_inbox_is_for_hq_in_the_demo_only(client, settings, hq_staff, organizer_04):
    message = DemoMessage.objects.create(
        mail_from="a@demo.test", rcpt_to="b@demo.test", subject="Coucou", raw=b"Subject: x\r\n\r\n"
    )
    settings.CAMPAGNE_DEMO = True
    assert client.get("/demo/boite/").status_code == 302  # to the login page
    client.force_login(organizer_04)
    assert client.get("/demo/boite/").status_code == 403
    assert client.get(f"/demo/boite/{message.pk}/").status_code == 403
    client.force_login(hq_staff)
    assert "Coucou" in client.get("/demo/boite/").content.decode()
    settings.CAMPAGNE_DEMO = False
    assert client.get("/demo/boite/").status_code == 404
    assert client.get(f"/demo/boite/{message.pk}/").status_code == 404
