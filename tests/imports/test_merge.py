"""Merging two people, and undoing the merge exactly."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from campagne.accounts.scopes import scope_for
from campagne.audit.models import AuditEntry
from campagne.imports.merging import MERGED, merge_people, undo_merge
from campagne.imports.models import DuplicateCandidate, Merge
from campagne.people import actions as people_actions
from campagne.people.actions import person_data
from campagne.people.models import (
    Channel,
    EventKind,
    Person,
    PersonEmail,
    PersonPhone,
    TimelineEvent,
)
from tests.factories import PersonFactory, commune
from tests.people.helpers import db_state


@pytest.fixture
def pair(db, hq_admin):
    """The same woman twice: an old file and a recent form, each with its history."""
    scope = scope_for(hq_admin)
    old = PersonFactory(
        first_name="Jeanne",
        last_name="Martin",
        email="jeanne@example.org",
        phone="+33611111111",
        postal_code="04000",
        commune=commune("04070"),
        birth_year=None,
        status="contact",
        tags=["tractage"],
    )
    new = PersonFactory(
        first_name="Jeanne",
        last_name="MARTIN",
        email="j.martin@example.org",
        phone="+33622222222",
        postal_code="04100",
        commune=commune("04112", "Manosque"),
        birth_year=1975,
        status="militant",
        tags=["réunion"],
    )
    PersonEmail.objects.create(person=new, address="jm@work.example.org")
    PersonPhone.objects.create(person=new, number="+33492310000")
    people_actions.set_consent(
        scope=scope, person=old, channel=Channel.EMAIL, granted=True, source="site"
    )
    people_actions.set_consent(
        scope=scope, person=new, channel=Channel.EMAIL, granted=False, source="désinscription"
    )
    people_actions.set_consent(
        scope=scope, person=new, channel=Channel.SMS, granted=True, source="formulaire"
    )
    people_actions.add_tag(scope=scope, person=new, name="porte-à-porte")
    third = PersonFactory(first_name="Jeanne", last_name="Martine", email="x@example.org")
    DuplicateCandidate.objects.create(person_a=old, person_b=new, score=90, reasons=[])
    DuplicateCandidate.objects.create(person_a=new, person_b=third, score=85, reasons=[])
    return old, new


def full_state(person_id: int) -> dict:
    """person_data (fields, consents, tags, addresses, timeline) with event and row ids."""
    person = Person.objects.get(pk=person_id)
    data = person_data(person)
    data["event_ids"] = list(person.events.order_by("pk").values_list("pk", flat=True))
    data["email_ids"] = sorted(person.other_emails.values_list("pk", "address"))
    data["phone_ids"] = sorted(person.other_phones.values_list("pk", "number"))
    data["consent_ids"] = sorted(person.consents.values_list("pk", "channel"))
    return data


def test_merge_combines_everything_and_withdrawals_win(hq_admin, pair):
    old, new = pair
    new_events = set(new.events.values_list("pk", flat=True))
    merge = merge_people(scope=scope_for(hq_admin), survivor=old, merged=new)

    assert not Person.objects.filter(pk=new.pk).exists()
    old.refresh_from_db()
    # The survivor's values, the merged person's where the survivor had none.
    assert (old.first_name, old.last_name, old.birth_year) == ("Jeanne", "Martin", 1975)
    assert (old.commune_id, old.status) == ("04070", "militant")
    assert (old.email, old.phone) == ("jeanne@example.org", "+33611111111")
    assert sorted(old.other_emails.values_list("address", flat=True)) == [
        "j.martin@example.org",
        "jm@work.example.org",
    ]
    assert sorted(old.other_phones.values_list("number", flat=True)) == [
        "+33492310000",
        "+33622222222",
    ]
    assert sorted(old.tags.values_list("name", flat=True)) == [
        "porte-à-porte",
        "réunion",
        "tractage",
    ]
    consents = {c.channel: c.granted for c in old.consents.all()}
    assert consents == {"email": False, "sms": True}  # the withdrawal won
    assert new_events <= set(old.events.values_list("pk", flat=True))
    event = old.events.filter(kind=EventKind.EDITED).latest("pk")
    assert event.data["merge"] == merge.pk and event.data["merged_person"] == new.pk
    assert event.data["changes"]["birth_year"] == [None, 1975]
    entry = AuditEntry.objects.get(action="merge")
    assert (entry.subject, entry.details) == (
        f"person:{old.pk}",
        {"merge": merge.pk, "merged_person": new.pk},
    )
    # The third person's pair with the merged-away one now concerns the survivor.
    assert DuplicateCandidate.objects.filter(person_a=old, person_b__last_name="Martine").exists()


def test_field_by_field_choice(hq_admin, pair):
    old, new = pair
    merge_people(
        scope=scope_for(hq_admin),
        survivor=old,
        merged=new,
        choices={"email": MERGED, "address": MERGED, "last_name": MERGED},
    )
    old.refresh_from_db()
    assert (old.email, old.last_name, old.commune_id, old.postal_code) == (
        "j.martin@example.org",
        "MARTIN",
        "04112",
        "04100",
    )
    assert "jeanne@example.org" in old.other_emails.values_list("address", flat=True)


def test_undo_restores_both_people_exactly(hq_admin, pair):
    old, new = pair
    survivor_before, merged_before = full_state(old.pk), full_state(new.pk)
    candidates_before = sorted(DuplicateCandidate.objects.values_list("pk", "person_a", "person_b"))
    scope = scope_for(hq_admin)
    merge = merge_people(
        scope=scope, survivor=old, merged=new, choices={"email": MERGED, "address": MERGED}
    )

    result = undo_merge(scope=scope, merge=merge)

    assert result["kept"] == []
    assert result["person"].pk == new.pk
    assert full_state(new.pk) == merged_before
    survivor_after = full_state(old.pk)
    for key in ("timeline", "event_ids", "updated_at"):
        survivor_after.pop(key), survivor_before.pop(key)
    assert survivor_after == survivor_before
    assert sorted(DuplicateCandidate.objects.values_list("pk", "person_a", "person_b")) == (
        candidates_before
    )
    merge.refresh_from_db()
    assert merge.undone_at is not None and merge.undone_by == hq_admin
    assert AuditEntry.objects.filter(action="merge_undo").count() == 1
    with pytest.raises(ValidationError):
        undo_merge(scope=scope, merge=merge)


def test_undo_keeps_what_was_changed_after_the_merge(hq_admin, pair):
    old, new = pair
    scope = scope_for(hq_admin)
    merge = merge_people(scope=scope, survivor=old, merged=new)
    people_actions.set_consent(
        scope=scope, person=old, channel=Channel.SMS, granted=False, source="STOP"
    )
    people_actions.update_person(scope=scope, person=Person.objects.get(pk=old.pk), birth_year=1976)

    result = undo_merge(scope=scope, merge=merge)

    assert sorted(result["kept"]) == ["birth_year", "consent:sms"]
    old.refresh_from_db()
    assert old.birth_year == 1976
    assert old.consents.get(channel=Channel.SMS).granted is False  # the later withdrawal stays
    assert Person.objects.filter(pk=new.pk).exists()


def test_timeline_events_go_back_to_the_restored_person(hq_admin, pair):
    old, new = pair
    ids = set(new.events.values_list("pk", flat=True))
    scope = scope_for(hq_admin)
    merge = merge_people(scope=scope, survivor=old, merged=new)
    undo_merge(scope=scope, merge=merge)
    assert set(TimelineEvent.objects.filter(person_id=new.pk).values_list("pk", flat=True)) == ids


def test_an_organizer_cannot_merge_someone_outside_their_territory(
    organizer_04, person_digne, person_gap
):
    before = db_state(person_gap), db_state(person_digne)
    with pytest.raises(Http404):
        merge_people(scope=scope_for(organizer_04), survivor=person_digne, merged=person_gap)
    assert (db_state(person_gap), db_state(person_digne)) == before
    assert not Merge.objects.exists()


@pytest.mark.parametrize("persona", ["hq_staff", "volunteer"])
def test_read_only_roles_cannot_merge_or_undo(request, persona, hq_admin, pair):
    user = request.getfixturevalue(persona)
    old, new = pair
    before = db_state(old), db_state(new)
    with pytest.raises((PermissionDenied, Http404)):
        merge_people(scope=scope_for(user), survivor=old, merged=new)
    assert (db_state(old), db_state(new)) == before
    merge = merge_people(scope=scope_for(hq_admin), survivor=old, merged=new)
    state = db_state(old)
    with pytest.raises(PermissionDenied):
        undo_merge(scope=scope_for(user), merge=merge)
    assert db_state(old) == state
    assert not Person.objects.filter(pk=new.pk).exists()


def test_a_person_cannot_be_merged_with_itself(hq_admin, person_digne):
    with pytest.raises(ValidationError):
        merge_people(scope=scope_for(hq_admin), survivor=person_digne, merged=person_digne)


def test_erasing_the_survivor_erases_the_merge_snapshot(hq_admin, pair):
    old, new = pair
    scope = scope_for(hq_admin)
    merge_people(scope=scope, survivor=old, merged=new)
    people_actions.erase_person(scope=scope, person=Person.objects.get(pk=old.pk))
    assert not Merge.objects.exists()
    # The merged person's addresses were the survivor's other addresses: suppressed too.
    from campagne.people.models import Suppression

    assert Suppression.objects.contains_email("j.martin@example.org")
