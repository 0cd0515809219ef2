"""People actions: timeline, consents, erasure with suppression, retention purge."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from campagne.accounts.scopes import scope_for
from campagne.audit.models import AuditEntry
from campagne.people import actions
from campagne.people.models import (
    Consent,
    EventKind,
    Person,
    Suppression,
    TimelineEvent,
    suppression_digest,
)
from tests.factories import PersonFactory, commune


def test_create_person_requires_an_origin(organizer_04):
    with pytest.raises(ValidationError) as error:
        actions.create_person(scope=scope_for(organizer_04), origin=" ", last_name="Durand")
    assert "origin" in error.value.message_dict
    assert Person.objects.count() == 0


def test_create_person_logs_who_created_it(organizer_04):
    person = actions.create_person(
        scope=scope_for(organizer_04),
        origin="salon du 12 mars",
        first_name="Anne",
        last_name="Durand",
        email=" Anne.Durand@Example.TEST ",
        commune=commune("04070"),
        tags=["tractage"],
    )
    assert person.email == "anne.durand@example.test"
    kinds = list(person.events.order_by("id").values_list("kind", "actor_label"))
    assert kinds == [
        (EventKind.CREATED, "orga04@test.campagne"),
        (EventKind.TAGGED, "orga04@test.campagne"),
    ]


def test_organizer_cannot_create_a_person_outside_their_territory(organizer_04):
    with pytest.raises(PermissionDenied):
        actions.create_person(
            scope=scope_for(organizer_04), origin="x", last_name="Hors", commune=commune("05061")
        )
    assert Person.objects.count() == 0


def test_update_logs_old_and_new_values(organizer_04, person_digne):
    diff = actions.update_person(
        scope=scope_for(organizer_04),
        person=person_digne,
        last_name="Martin-Roux",
        status="militant",
    )
    assert diff == {"last_name": ["Martin", "Martin-Roux"], "status": ["contact", "militant"]}
    event = person_digne.events.get(kind=EventKind.EDITED)
    assert event.data == {"changes": diff}
    person_digne.refresh_from_db()
    assert person_digne.search_name == "martin roux jeanne"


def test_organizer_cannot_move_a_person_out_of_their_territory(organizer_04, person_digne):
    with pytest.raises(PermissionDenied):
        actions.update_person(
            scope=scope_for(organizer_04), person=person_digne, commune=commune("05061", "Gap")
        )
    person_digne.refresh_from_db()
    assert person_digne.commune_id == "04070"
    assert not person_digne.events.filter(kind=EventKind.EDITED).exists()


def test_read_only_staff_cannot_update(hq_staff, person_digne):
    with pytest.raises(PermissionDenied):
        actions.update_person(scope=scope_for(hq_staff), person=person_digne, last_name="X")
    person_digne.refresh_from_db()
    assert person_digne.last_name == "Martin"
    assert person_digne.events.count() == 0


def test_consent_withdrawal_is_recorded_never_overwritten_silently(organizer_04, person_digne):
    scope = scope_for(organizer_04)
    actions.set_consent(
        scope=scope,
        person=person_digne,
        channel="email",
        granted=True,
        source="formulaire site",
        proof="case cochée, IP 192.0.2.1",
    )
    actions.set_consent(
        scope=scope,
        person=person_digne,
        channel="email",
        granted=False,
        source="lien de désinscription",
        proof="clic du 3 mai",
    )
    consent = Consent.objects.get(person=person_digne, channel="email")
    assert (consent.granted, consent.source) == (False, "lien de désinscription")
    events = list(person_digne.events.filter(kind=EventKind.CONSENT).order_by("id"))
    assert [e.data["granted"] for e in events] == [True, False]
    assert events[1].data["previous"]["granted"] is True
    assert events[1].data["previous"]["source"] == "formulaire site"


def test_timeline_events_are_append_only(organizer_04, person_digne):
    event = actions.log_event(person=person_digne, kind=EventKind.NOTE, text="appelé")
    event.data = {"text": "falsifié"}
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    assert TimelineEvent.objects.get(pk=event.pk).data == {"text": "appelé"}


def test_erasure_deletes_the_person_and_keeps_only_keyed_hashes(hq_admin, person_digne):
    email, phone, pk = person_digne.email, person_digne.phone, person_digne.pk
    actions.erase_person(scope=scope_for(hq_admin), person=person_digne)
    assert not Person.objects.filter(pk=pk).exists()
    assert not TimelineEvent.objects.filter(person_id=pk).exists()
    digests = set(Suppression.objects.values_list("digest", flat=True))
    assert digests == {suppression_digest("email", email), suppression_digest("phone", phone)}
    assert email not in str(list(Suppression.objects.values()))
    entry = AuditEntry.objects.get(action=AuditEntry.Action.ERASE)
    assert (entry.actor, entry.subject) == (hq_admin, f"person:{pk}")


def test_an_erased_address_cannot_come_back(hq_admin, person_digne):
    email = person_digne.email
    actions.erase_person(scope=scope_for(hq_admin), person=person_digne)
    with pytest.raises(ValidationError):
        actions.create_person(
            scope=scope_for(hq_admin), origin="formulaire site", email=email.upper()
        )
    assert Person.objects.count() == 0


def test_organizer_cannot_erase(organizer_04, person_digne):
    with pytest.raises(PermissionDenied):
        actions.erase_person(scope=scope_for(organizer_04), person=person_digne)
    assert Person.objects.filter(pk=person_digne.pk).exists()
    assert Suppression.objects.count() == 0


def test_gdpr_export_holds_everything_and_is_audited(organizer_04, person_digne):
    scope = scope_for(organizer_04)
    actions.add_tag(scope=scope, person=person_digne, name="santé")
    data = actions.export_person_data(scope=scope, person=person_digne)
    assert data["email"] == person_digne.email
    assert data["tags"] == ["santé"]
    assert [e["kind"] for e in data["timeline"]] == ["tagged"]
    assert AuditEntry.objects.filter(action=AuditEntry.Action.DATA_EXPORT).count() == 1
    assert person_digne.events.filter(kind=EventKind.EXPORTED).count() == 1


def test_purge_deletes_silent_prospects_only(db, capsys):
    old = timezone.now() - timedelta(days=120)
    silent = PersonFactory(created_at=old)
    consented = PersonFactory(created_at=old)
    Consent.objects.create(person=consented, channel="email", granted=True, source="site")
    member = PersonFactory(created_at=old, status="adherent")
    recent = PersonFactory()
    touched = PersonFactory(created_at=old, last_contact_at=timezone.now() - timedelta(days=10))

    call_command("purge", "--dry-run")
    assert '"candidates": 1' in capsys.readouterr().out
    assert Person.objects.count() == 5

    call_command("purge")
    report = capsys.readouterr().out
    assert '"deleted": 1' in report
    remaining = set(Person.objects.values_list("pk", flat=True))
    assert remaining == {consented.pk, member.pk, recent.pk, touched.pk}
    assert silent.pk not in remaining
    assert Suppression.objects.filter(reason="purge").count() == 2  # e-mail and phone
    assert AuditEntry.objects.get(action=AuditEntry.Action.PURGE).row_count == 1
