"""Freezing the audience: consent, suppression, one row per address, scope."""

import pytest
from django.core.exceptions import PermissionDenied

from campagne.accounts.scopes import scope_for
from campagne.mailing import actions
from campagne.mailing.models import Mailing, Recipient
from campagne.people.models import Person, Suppression, suppression_digest
from campagne.segments.models import Segment
from tests.factories import PersonFactory
from tests.mailing.conftest import consent, make_mailing

pytestmark = pytest.mark.usefixtures("smtp_server")


def frozen(mailing: Mailing) -> list[str]:
    return sorted(mailing.recipients.values_list("email", flat=True))


def test_only_people_with_email_consent_granted_are_frozen(hq_admin, sender):
    consent(PersonFactory(email="oui@example.test"))
    consent(PersonFactory(email="retire@example.test"), granted=False)
    PersonFactory(email="jamais@example.test")
    PersonFactory(email="")  # no address at all
    mailing = make_mailing(sender, created_by=hq_admin)

    result = actions.start_sending(scope=scope_for(hq_admin), mailing=mailing)

    assert result == {"recipients": 1, "suppressed": 0}
    assert frozen(mailing) == ["oui@example.test"]
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENDING
    assert mailing.counts() == {
        "queued": 1,
        "claimed": 0,
        "sending": 0,
        "sent": 0,
        "failed": 0,
        "bounced": 0,
        "held": 0,
    }


def test_suppressed_addresses_are_left_out(hq_admin, sender):
    consent(PersonFactory(email="ok@example.test"))
    consent(PersonFactory(email="rebond@example.test"))
    consent(PersonFactory(email="plainte@example.test"))
    Suppression.objects.create(
        kind="email", digest=suppression_digest("email", "REBOND@example.test"), reason="bounce"
    )
    Suppression.objects.create(
        kind="email", digest=suppression_digest("email", "plainte@example.test"), reason="complaint"
    )
    mailing = make_mailing(sender, created_by=hq_admin)

    result = actions.start_sending(scope=scope_for(hq_admin), mailing=mailing)

    assert result == {"recipients": 1, "suppressed": 2}
    assert frozen(mailing) == ["ok@example.test"]


def test_one_row_per_distinct_lower_cased_address_first_person_wins(hq_admin, sender):
    first = consent(PersonFactory(email="double@example.test", first_name="Premier"))
    second = consent(PersonFactory(email="autre@example.test", first_name="Second"))
    # Imports write in bulk, past Person.save's lower-casing: the freeze lower-cases too.
    Person.objects.filter(pk=second.pk).update(email="Double@Example.test")
    mailing = make_mailing(sender, created_by=hq_admin)

    actions.start_sending(scope=scope_for(hq_admin), mailing=mailing)

    rows = list(mailing.recipients.values_list("email", "person_id", "merge"))
    assert len(rows) == 1
    email, person_id, merge = rows[0]
    assert (email, person_id) == ("double@example.test", first.pk)
    assert merge["prenom"] == "Premier"


def test_merge_data_is_frozen_with_the_rows(hq_admin, sender, person_manosque):
    consent(person_manosque)
    mailing = make_mailing(sender, created_by=hq_admin)

    actions.start_sending(scope=scope_for(hq_admin), mailing=mailing)

    assert mailing.recipients.get().merge == {
        "prenom": "Paul",
        "nom": "Bernard",
        "civilite": "",
        "commune": "Manosque",
        "code_postal": "04100",
        "origine": "tests",
    }


def test_excluded_segments_are_subtracted(hq_admin, sender, person_digne, person_gap):
    consent(person_digne)
    consent(person_gap)
    gap = Segment.objects.create(name="Gap", definition={"territory": {"departements": ["05"]}})
    mailing = make_mailing(sender, created_by=hq_admin)
    mailing.excluded_segments.set([gap])

    actions.start_sending(scope=scope_for(hq_admin), mailing=mailing)

    assert frozen(mailing) == [person_digne.email]


def test_an_organizer_sends_only_to_people_of_their_territory(
    organizer_04, sender, person_digne, person_manosque, person_gap
):
    for person in (person_digne, person_manosque, person_gap):
        consent(person)
    mailing = make_mailing(sender, created_by=organizer_04)

    actions.start_sending(scope=scope_for(organizer_04), mailing=mailing)

    assert frozen(mailing) == sorted([person_digne.email, person_manosque.email])


def test_hq_staff_may_not_send_and_nothing_changes(hq_staff, sender, person_digne):
    consent(person_digne)
    mailing = make_mailing(sender, created_by=hq_staff)

    with pytest.raises(PermissionDenied):
        actions.start_sending(scope=scope_for(hq_staff), mailing=mailing)

    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DRAFT
    assert not Recipient.objects.exists()


def test_an_unvalidated_sender_is_refused(hq_admin, sender, person_digne):
    from django.core.exceptions import ValidationError

    consent(person_digne)
    sender.validated = False
    sender.save()
    mailing = make_mailing(sender, created_by=hq_admin)

    with pytest.raises(ValidationError):
        actions.start_sending(scope=scope_for(hq_admin), mailing=mailing)

    mailing.refresh_from_db()
    assert (mailing.status, Recipient.objects.count()) == (Mailing.Status.DRAFT, 0)


def test_a_mailing_starts_once(hq_admin, sender, person_digne):
    from django.core.exceptions import ValidationError

    consent(person_digne)
    mailing = make_mailing(sender, created_by=hq_admin)
    actions.start_sending(scope=scope_for(hq_admin), mailing=mailing)

    with pytest.raises(ValidationError):
        actions.start_sending(scope=scope_for(hq_admin), mailing=mailing)
    assert mailing.recipients.count() == 1


def test_the_freeze_uses_a_bounded_number_of_queries(
    hq_admin, sender, django_assert_max_num_queries
):
    for n in range(30):
        consent(PersonFactory(email=f"p{n}@example.test"))
    mailing = make_mailing(sender, created_by=hq_admin)

    with django_assert_max_num_queries(12):
        result = actions.start_sending(scope=scope_for(hq_admin), mailing=mailing)

    assert result["recipients"] == 30


def test_erasing_a_person_removes_their_address_from_the_send_log(hq_admin, sender):
    from campagne.people import actions as people_actions

    person = consent(PersonFactory(email="efface@example.test"))
    kept = consent(PersonFactory(email="reste@example.test"))
    mailing = make_mailing(sender, created_by=hq_admin)
    actions.start_sending(scope=scope_for(hq_admin), mailing=mailing)

    people_actions.erase_person(scope=scope_for(hq_admin), person=person)

    assert frozen(mailing) == [kept.email]
    assert not Recipient.objects.filter(email="efface@example.test").exists()
