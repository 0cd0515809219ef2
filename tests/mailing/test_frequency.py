"""Frequency cap: no more than MAILING_WEEKLY_CAP mailings per person per 7 days."""

from datetime import timedelta

from django.test import override_settings
from django.utils import timezone

from campagne.accounts.scopes import scope_for
from campagne.mailing import actions
from campagne.mailing.models import Mailing, Recipient
from tests.mailing.conftest import consent, make_mailing

S = Recipient.Status


def received(person, sender, *, days_ago: float, status: str = S.SENT) -> None:
    """A past mailing that reached (or not) ``person``."""
    past = make_mailing(sender, status=Mailing.Status.SENT)
    Recipient.objects.create(
        mailing=past,
        person=person,
        email=person.email,
        status=status,
        sent_at=timezone.now() - timedelta(days=days_ago),
    )


@override_settings(MAILING_WEEKLY_CAP=2)
def test_people_at_the_cap_are_left_out(
    smtp_server, hq_admin, sender, person_digne, person_manosque, person_gap
):
    for person in (person_digne, person_manosque, person_gap):
        consent(person)
    received(person_digne, sender, days_ago=1)
    received(person_digne, sender, days_ago=6.9)  # two this week: at the cap
    received(person_manosque, sender, days_ago=2)
    received(person_manosque, sender, days_ago=7.1)  # one this week, one before
    received(person_gap, sender, days_ago=1)
    received(person_gap, sender, days_ago=1, status=S.BOUNCED)  # never reached them
    mailing = make_mailing(sender, created_by=hq_admin)

    result = actions.start_sending(scope=scope_for(hq_admin), mailing=mailing)

    assert result == {"recipients": 2, "suppressed": 0, "capped": 1}
    assert sorted(mailing.recipients.values_list("email", flat=True)) == sorted(
        [person_manosque.email, person_gap.email]
    )


@override_settings(MAILING_WEEKLY_CAP=0)
def test_no_cap_by_default(smtp_server, hq_admin, sender, person_digne):
    consent(person_digne)
    for days in (1, 2, 3):
        received(person_digne, sender, days_ago=days)
    mailing = make_mailing(sender, created_by=hq_admin)

    result = actions.start_sending(scope=scope_for(hq_admin), mailing=mailing)

    assert result == {"recipients": 1, "suppressed": 0}
