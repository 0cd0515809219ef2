"""Merging two people into one, and undoing it exactly.

``merge_people`` keeps the *survivor* and deletes the *merged* person after moving
everything to the survivor: the fields the user chose (the survivor's by default, the
merged person's where the survivor has nothing), every e-mail and phone (the ones not
kept as primary become other addresses), tags (union), consents (a withdrawal on either
side wins: someone who said no once said no), the timeline and any other row pointing
to the merged person. It writes a ``Merge`` row holding a full snapshot of the merged
person and the survivor's values before and after, an ``edited`` event on the
survivor's timeline and an audit entry.

``undo_merge`` brings the merged person back under the same id with the same fields,
consents, tags, addresses, duplicate candidates and timeline events, and puts back the
survivor's previous values — only where nobody changed them since the merge: a later
edit (or a later withdrawal of consent) is kept, and reported.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campagne.accounts.scopes import Scope
from campagne.audit import actions as audit
from campagne.audit.models import AuditEntry
from campagne.imports.models import DuplicateCandidate, Merge
from campagne.people.actions import log_event
from campagne.people.models import (
    Consent,
    EventKind,
    Person,
    PersonEmail,
    PersonPhone,
    Status,
    TimelineEvent,
)

AUDIT_MERGE = AuditEntry.Action.MERGE
AUDIT_MERGE_UNDO = AuditEntry.Action.MERGE_UNDO
# Fields the reviewer chooses one by one; the address is chosen as one block.
CHOICE_FIELDS = (
    "civility",
    "first_name",
    "last_name",
    "email",
    "phone",
    "address",
    "birth_year",
    "status",
    "origin",
)
ADDRESS_FIELDS = ("address_line", "address_extra", "postal_code", "commune_id")
SURVIVOR, MERGED = "survivor", "merged"
# Person fields written by a merge (and restored by its undo).
WRITTEN = (
    "civility",
    "first_name",
    "last_name",
    "email",
    "phone",
    *ADDRESS_FIELDS,
    "birth_year",
    "status",
    "origin",
    "last_contact_at",
)
_HANDLED_RELATIONS = {"consents", "other_emails", "other_phones", "events"}
_STATUS_RANK = {status: rank for rank, status in enumerate(Status.values)}


# --- snapshots ------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _fields(person: Person) -> dict[str, Any]:
    return {f.attname: _plain(getattr(person, f.attname)) for f in Person._meta.concrete_fields}


def _consents(person: Person) -> dict[str, dict[str, Any]]:
    return {
        consent.channel: {
            "id": consent.pk,
            "granted": consent.granted,
            "at": consent.at.isoformat(),
            "source": consent.source,
            "proof": consent.proof,
        }
        for consent in Consent.objects.filter(person=person)
    }


def snapshot(person: Person) -> dict[str, Any]:
    """Everything a merge changes on ``person``, JSON-ready."""
    return {
        "fields": _fields(person),
        "consents": _consents(person),
        "tags": sorted(person.tags.values_list("pk", flat=True)),
        "other_emails": [[e.pk, e.address] for e in PersonEmail.objects.filter(person=person)],
        "other_phones": [[p.pk, p.number] for p in PersonPhone.objects.filter(person=person)],
    }


def _value(field: str, raw: Any) -> Any:
    if raw is not None and isinstance(Person._meta.get_field(field), models.DateTimeField):
        return datetime.fromisoformat(raw)
    return raw


# --- choices --------------------------------------------------------------------------


def _empty(value: Any) -> bool:
    return value in (None, "")


def default_choices(survivor: Person, merged: Person) -> dict[str, str]:
    """The survivor's value unless it has none and the merged person has one; the higher
    status; the survivor's address unless it has no address at all."""
    choices: dict[str, str] = {}
    for field in CHOICE_FIELDS:
        if field == "address":
            mine = any(not _empty(getattr(survivor, name)) for name in ADDRESS_FIELDS)
            theirs = any(not _empty(getattr(merged, name)) for name in ADDRESS_FIELDS)
            choices[field] = MERGED if theirs and not mine else SURVIVOR
        elif field == "status":
            higher = _STATUS_RANK[merged.status] > _STATUS_RANK[survivor.status]
            choices[field] = MERGED if higher else SURVIVOR
        else:
            pick = _empty(getattr(survivor, field)) and not _empty(getattr(merged, field))
            choices[field] = MERGED if pick else SURVIVOR
    return choices


def _check_choices(choices: dict[str, str]) -> None:
    for field, side in choices.items():
        if field not in CHOICE_FIELDS or side not in (SURVIVOR, MERGED):
            raise ValidationError(_("Choix de fusion invalide : %(field)s") % {"field": field})


# --- merge ----------------------------------------------------------------------------


def _load_pair(scope: Scope, survivor_id: Any, merged_id: Any) -> tuple[Person, Person]:
    scope.require(scope.can_write_people, _("Votre rôle ne permet pas de fusionner des fiches."))
    survivor = scope.person_for_write(survivor_id)
    merged = scope.person_for_write(merged_id)
    if survivor.pk == merged.pk:
        raise ValidationError(_("Une fiche ne peut pas être fusionnée avec elle-même."))
    locked = {
        p.pk: p for p in Person.objects.select_for_update().filter(pk__in=[survivor.pk, merged.pk])
    }
    return locked[survivor.pk], locked[merged.pk]


def _combine_addresses(
    survivor: Person,
    merged: Person,
    model: type[models.Model],
    field: str,
    primary: str,
    previous: str,
) -> tuple[str, list[int]]:
    """Every address of both people: one primary, the rest other addresses of the survivor.

    ``previous`` is the survivor's primary before the merge (the chosen one may be the
    merged person's). Returns the primary and the ids of the other-address rows created.
    """
    survivor_values = [previous]
    survivor_values += list(model.objects.filter(person=survivor).values_list(field, flat=True))
    merged_values = [getattr(merged, primary)]
    merged_values += list(model.objects.filter(person=merged).values_list(field, flat=True))
    chosen = getattr(survivor, primary)
    others = [v for v in dict.fromkeys(survivor_values + merged_values) if v and v != chosen]
    existing = set(model.objects.filter(person=survivor).values_list(field, flat=True))
    created = [
        model.objects.create(person=survivor, **{field: value}).pk
        for value in others
        if value not in existing
    ]
    return chosen, created


def _merge_consents(scope: Scope, survivor: Person, merged: Person) -> list[str]:
    """Bring the merged person's consents over; a withdrawal on either side wins."""
    changed = []
    mine = {c.channel: c for c in Consent.objects.filter(person=survivor)}
    for theirs in Consent.objects.filter(person=merged):
        current = mine.get(theirs.channel)
        if current is not None and (current.granted is False or theirs.granted is True):
            continue  # Ours is a withdrawal, or theirs adds nothing.
        values = {
            "granted": theirs.granted,
            "at": theirs.at,
            "source": theirs.source,
            "proof": theirs.proof,
        }
        previous = None
        if current is None:
            Consent.objects.create(person=survivor, channel=theirs.channel, **values)
        else:
            previous = {
                "granted": current.granted,
                "at": current.at.isoformat(),
                "source": current.source,
            }
            Consent.objects.filter(pk=current.pk).update(**values)
        log_event(
            person=survivor,
            kind=EventKind.CONSENT,
            actor=scope.user,
            channel=theirs.channel,
            granted=theirs.granted,
            source=theirs.source,
            proof=theirs.proof,
            previous=previous,
        )
        changed.append(theirs.channel)
    return changed


def _move_related(survivor: Person, merged: Person) -> dict[str, list[int]]:
    """Point every other row that refers to the merged person at the survivor."""
    moved: dict[str, list[int]] = {}
    events = list(TimelineEvent.objects.filter(person=merged).values_list("pk", flat=True))
    TimelineEvent.objects.filter(pk__in=events).update(person=survivor)
    moved["people.timelineevent:person"] = events
    for relation in Person._meta.related_objects:
        if relation.get_accessor_name() in _HANDLED_RELATIONS or relation.many_to_many:
            continue
        model, field = relation.related_model, relation.field.name
        if model in (DuplicateCandidate, Merge):
            continue
        rows = model._default_manager.filter(**{field: merged})
        ids = list(rows.values_list("pk", flat=True))
        if ids:
            model._default_manager.filter(pk__in=ids).update(**{field: survivor})
            moved[f"{model._meta.label_lower}:{field}"] = ids
    return moved


def _inherit_candidates(survivor: Person, merged: Person) -> tuple[list[dict[str, Any]], list[int]]:
    """Snapshot the merged person's pairs; open ones with a third person pass to the
    survivor (the suspicion still stands)."""
    pairs = DuplicateCandidate.objects.filter(models.Q(person_a=merged) | models.Q(person_b=merged))
    saved = [
        {
            "id": c.pk,
            "person_a": c.person_a_id,
            "person_b": c.person_b_id,
            "score": c.score,
            "reasons": c.reasons,
            "batch": c.batch_id,
            "status": c.status,
            "created_at": c.created_at.isoformat(),
            "decided_at": c.decided_at.isoformat() if c.decided_at else None,
            "decided_by": c.decided_by_id,
        }
        for c in pairs
    ]
    created = []
    for pair in saved:
        other = pair["person_b"] if pair["person_a"] == merged.pk else pair["person_a"]
        if other == survivor.pk or pair["status"] != DuplicateCandidate.Status.OPEN:
            continue
        a, b = sorted((survivor.pk, other))
        candidate, made = DuplicateCandidate.objects.get_or_create(
            person_a_id=a,
            person_b_id=b,
            defaults={
                "score": pair["score"],
                "reasons": pair["reasons"],
                "batch_id": pair["batch"],
            },
        )
        if made:
            created.append(candidate.pk)
    return saved, created


def _take_chosen(
    scope: Scope, keeper: Person, gone: Person, chosen: dict[str, str]
) -> dict[str, list[Any]]:
    """Copy the merged person's values the reviewer chose onto the survivor."""
    changes: dict[str, list[Any]] = {}
    for field in CHOICE_FIELDS:
        if chosen[field] != MERGED:
            continue
        for name in ADDRESS_FIELDS if field == "address" else (field,):
            old, new = getattr(keeper, name), getattr(gone, name)
            if old != new:
                setattr(keeper, name, new)
                changes[name] = [_plain(old), _plain(new)]
    if chosen["address"] == MERGED and not scope.covers_commune(gone.commune):
        raise PermissionDenied(_("Cette commune est hors de votre périmètre."))
    latest = gone.last_contact_at
    if latest and (not keeper.last_contact_at or latest > keeper.last_contact_at):
        keeper.last_contact_at = latest
    return changes


@transaction.atomic
def merge_people(
    *,
    scope: Scope,
    survivor: Person | int,
    merged: Person | int,
    choices: dict[str, str] | None = None,
) -> Merge:
    """Merge ``merged`` into ``survivor`` (both in the actor's scope, for write)."""
    survivor_id = getattr(survivor, "pk", survivor)
    merged_id = getattr(merged, "pk", merged)
    keeper, gone = _load_pair(scope, survivor_id, merged_id)
    chosen = {**default_choices(keeper, gone), **(choices or {})}
    _check_choices(chosen)
    before = snapshot(keeper)
    gone_snapshot = snapshot(gone)
    changes = _take_chosen(scope, keeper, gone, chosen)
    keeper.email, added_emails = _combine_addresses(
        keeper, gone, PersonEmail, "address", "email", before["fields"]["email"]
    )
    keeper.phone, added_phones = _combine_addresses(
        keeper, gone, PersonPhone, "number", "phone", before["fields"]["phone"]
    )
    keeper.save()
    consents = _merge_consents(scope, keeper, gone)
    tags = list(gone.tags.exclude(pk__in=keeper.tags.values("pk")).values_list("pk", flat=True))
    keeper.tags.add(*tags)
    moved = _move_related(keeper, gone)
    candidates, inherited = _inherit_candidates(keeper, gone)
    gone.delete()
    keeper.refresh_from_db()
    merge = Merge.objects.create(
        survivor=keeper,
        merged_id=merged_id,
        snapshot={
            **gone_snapshot,
            "moved": moved,
            "candidates": candidates,
            "inherited_candidates": inherited,
            "added": {
                "other_emails": added_emails,
                "other_phones": added_phones,
                "tags": tags,
                "consents": consents,
            },
        },
        survivor_before=before,
        survivor_after=snapshot(keeper),
        actor=scope.user if getattr(scope.user, "pk", None) else None,
        actor_label=getattr(scope.user, "email", "") or "system",
    )
    log_event(
        person=keeper,
        kind=EventKind.EDITED,
        actor=scope.user,
        changes=changes,
        merge=merge.pk,
        merged_person=merged_id,
    )
    audit.record(
        actor=scope.user,
        action=AUDIT_MERGE,
        subject=f"person:{keeper.pk}",
        row_count=1,
        details={"merge": merge.pk, "merged_person": merged_id},
    )
    return merge


# --- undo -----------------------------------------------------------------------------


def _restore_survivor(survivor: Person, merge: Merge) -> tuple[dict[str, list[Any]], list[str]]:
    """Put back the survivor's values the merge changed and nobody changed since."""
    before, after = merge.survivor_before, merge.survivor_after
    now = _fields(survivor)
    restored: dict[str, list[Any]] = {}
    kept: list[str] = []
    for field in WRITTEN:
        if before["fields"][field] == after["fields"][field]:
            continue
        if now[field] != after["fields"][field]:
            kept.append(field)
            continue
        setattr(survivor, field, _value(field, before["fields"][field]))
        restored[field] = [now[field], before["fields"][field]]
    survivor.save()
    added = merge.snapshot["added"]
    PersonEmail.objects.filter(pk__in=added["other_emails"], person=survivor).delete()
    PersonPhone.objects.filter(pk__in=added["other_phones"], person=survivor).delete()
    survivor.tags.remove(*added["tags"])
    current = _consents(survivor)
    for channel in added["consents"]:
        then, now_consent = after["consents"].get(channel), current.get(channel)
        if now_consent != then:
            kept.append(f"consent:{channel}")  # Changed since (a later withdrawal stays).
            continue
        previous = before["consents"].get(channel)
        if previous is None:
            Consent.objects.filter(pk=then["id"]).delete()
        else:
            Consent.objects.filter(pk=then["id"]).update(
                granted=previous["granted"],
                at=datetime.fromisoformat(previous["at"]),
                source=previous["source"],
                proof=previous["proof"],
            )
        restored[f"consent:{channel}"] = [then["granted"], previous and previous["granted"]]
    return restored, kept


def _recreate(merge: Merge) -> Person:
    data = merge.snapshot
    fields = {name: _value(name, value) for name, value in data["fields"].items()}
    person = Person(**fields)
    person.save(force_insert=True)
    # save() stamps updated_at and refreshes derived keys: put the recorded values back.
    Person.objects.filter(pk=person.pk).update(
        updated_at=fields["updated_at"],
        search_name=fields["search_name"],
        search_name_rev=fields["search_name_rev"],
    )
    for channel, consent in data["consents"].items():
        Consent.objects.create(
            pk=consent["id"],
            person=person,
            channel=channel,
            granted=consent["granted"],
            at=datetime.fromisoformat(consent["at"]),
            source=consent["source"],
            proof=consent["proof"],
        )
    PersonEmail.objects.bulk_create(
        [PersonEmail(pk=pk, person=person, address=address) for pk, address in data["other_emails"]]
    )
    PersonPhone.objects.bulk_create(
        [PersonPhone(pk=pk, person=person, number=number) for pk, number in data["other_phones"]]
    )
    person.tags.add(*data["tags"])
    return person


@transaction.atomic
def undo_merge(*, scope: Scope, merge: Merge | int) -> dict[str, Any]:
    """Bring the merged person back; return what was restored and what was kept."""
    scope.require(scope.can_write_people, _("Votre rôle ne permet pas d'annuler une fusion."))
    merge_id = getattr(merge, "pk", merge)
    locked = Merge.objects.select_for_update().filter(pk=merge_id).first()
    if locked is None:
        raise ValidationError(_("Fusion introuvable."))
    survivor = scope.person_for_write(locked.survivor_id)
    if locked.undone_at is not None:
        raise ValidationError(_("Cette fusion a déjà été annulée."))
    if Person.objects.filter(pk=locked.merged_id).exists():
        raise ValidationError(_("Une fiche porte déjà ce numéro."))
    commune = locked.snapshot["fields"].get("commune_id")
    if not scope.is_hq and not scope.communes().filter(pk=commune).exists():
        raise PermissionDenied(_("Cette commune est hors de votre périmètre."))
    survivor = Person.objects.select_for_update().get(pk=survivor.pk)
    restored, kept = _restore_survivor(survivor, locked)
    person = _recreate(locked)
    for key, ids in locked.snapshot["moved"].items():
        label, field = key.split(":")
        model = apps.get_model(label)
        model._default_manager.filter(pk__in=ids, **{field: survivor}).update(**{field: person})
    DuplicateCandidate.objects.filter(pk__in=locked.snapshot["inherited_candidates"]).delete()
    pairs = locked.snapshot["candidates"]
    involved = {c["person_a"] for c in pairs} | {c["person_b"] for c in pairs}
    existing = set(Person.objects.filter(pk__in=involved).values_list("pk", flat=True))
    DuplicateCandidate.objects.bulk_create(
        [
            DuplicateCandidate(
                pk=c["id"],
                person_a_id=c["person_a"],
                person_b_id=c["person_b"],
                score=c["score"],
                reasons=c["reasons"],
                batch_id=c["batch"],
                status=c["status"],
                created_at=datetime.fromisoformat(c["created_at"]),
                decided_at=datetime.fromisoformat(c["decided_at"]) if c["decided_at"] else None,
                decided_by_id=c["decided_by"],
            )
            for c in locked.snapshot["candidates"]
            if c["person_a"] in existing and c["person_b"] in existing
        ],
        ignore_conflicts=True,
    )
    Merge.objects.filter(pk=locked.pk).update(
        undone_at=timezone.now(),
        undone_by=scope.user if getattr(scope.user, "pk", None) else None,
    )
    log_event(
        person=survivor,
        kind=EventKind.EDITED,
        actor=scope.user,
        changes=restored,
        merge_undone=locked.pk,
        restored_person=person.pk,
        kept=kept,
    )
    audit.record(
        actor=scope.user,
        action=AUDIT_MERGE_UNDO,
        subject=f"person:{person.pk}",
        row_count=1,
        details={"merge": locked.pk, "survivor": survivor.pk},
    )
    return {"person": person, "restored": restored, "kept": kept}
