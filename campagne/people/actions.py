"""Writes on people. Views, API, commands and tasks all call these verbs.

Each verb runs in one transaction and appends to the person's timeline; the scope check
(may this actor touch this person?) is made by the caller through ``accounts.scopes`` and
repeated here where a write could move a person out of the actor's reach.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from campagne.accounts.scopes import Scope
from campagne.audit import actions as audit
from campagne.audit.models import AuditEntry
from campagne.people import validation
from campagne.people.models import (
    Channel,
    Consent,
    EventKind,
    Person,
    PersonEmail,
    PersonPhone,
    Suppression,
    Tag,
    TimelineEvent,
    suppression_digest,
)

# Fields a user may edit on a person, in the order the timeline shows them.
EDITABLE_FIELDS = (
    "civility",
    "first_name",
    "last_name",
    "email",
    "phone",
    "address_line",
    "address_extra",
    "postal_code",
    "commune",
    "birth_year",
    "status",
    "origin",
)


def _actor_label(actor: Any) -> str:
    return getattr(actor, "email", "") or "system"


def log_event(*, person: Person, kind: str, actor: Any = None, **data: Any) -> TimelineEvent:
    return TimelineEvent.objects.create(
        person=person,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=_actor_label(actor),
        data=data,
    )


def _plain(value: Any) -> Any:
    """A JSON-safe rendering of a field value for the timeline."""
    if hasattr(value, "pk"):
        return str(value.pk)
    return value


def _check_not_suppressed(email: str, phone: str) -> None:
    if email and Suppression.objects.contains_email(email):
        raise ValidationError(
            {"email": _("Cette adresse a été effacée à la demande de la personne.")}
        )
    if phone and Suppression.objects.contains_phone(phone):
        raise ValidationError({"phone": _("Ce numéro a été effacé à la demande de la personne.")})


def _check_commune_in_scope(scope: Scope, commune: Any) -> None:
    if not scope.covers_commune(commune):
        raise PermissionDenied(_("Cette commune est hors de votre périmètre."))


@transaction.atomic
def create_person(
    *,
    scope: Scope,
    origin: str,
    tags: list[str] | None = None,
    event_kind: str = EventKind.CREATED,
    **fields: Any,
) -> Person:
    """Create a person in the actor's scope, refusing anyone on the suppression list."""
    scope.require(scope.can_write_people, _("Votre rôle ne permet pas de créer une fiche."))
    if not origin.strip():
        raise ValidationError({"origin": _("L'origine des données est obligatoire (CNIL).")})
    _check_commune_in_scope(scope, fields.get("commune"))
    # The same rules as the person form and the API, for commands and tasks too.
    validation.require_identifier(fields)
    validation.check_birth_year(fields.get("birth_year"))
    person = Person(origin=origin.strip(), **fields)
    person.email = person.email.strip().lower()
    _check_not_suppressed(person.email, person.phone)
    person.full_clean(exclude=["tags"])
    person.save()
    log_event(
        person=person,
        kind=event_kind,
        actor=scope.user,
        origin=person.origin,
        fields={name: _plain(getattr(person, name)) for name in EDITABLE_FIELDS},
    )
    for name in tags or []:
        add_tag(scope=scope, person=person, name=name)
    return person


@transaction.atomic
def update_person(*, scope: Scope, person: Person, **changes: Any) -> dict[str, list[Any]]:
    """Apply ``changes``; return and log them as ``{field: [old, new]}``."""
    scope.require(scope.can_write_people, _("Votre rôle ne permet pas de modifier une fiche."))
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    if "commune" in changes and changes["commune"] != person.commune:
        _check_commune_in_scope(scope, changes["commune"])
    diff: dict[str, list[Any]] = {}
    for name, new in changes.items():
        old = getattr(person, name)
        if name == "email":
            new = (new or "").strip().lower()
        if old != new:
            diff[name] = [_plain(old), _plain(new)]
            setattr(person, name, new)
    if not diff:
        return diff
    _check_not_suppressed(
        person.email if "email" in diff else "", person.phone if "phone" in diff else ""
    )
    person.full_clean(exclude=["tags"])
    person.save()
    log_event(person=person, kind=EventKind.EDITED, actor=scope.user, changes=diff)
    return diff


def _tag_named(name: str) -> Tag:
    clean = " ".join(name.split())[:60]
    if not clean:
        raise ValidationError({"tag": _("Une étiquette ne peut pas être vide.")})
    existing = Tag.objects.filter(name__iexact=clean).first()
    return existing or Tag.objects.get_or_create(name=clean)[0]


@transaction.atomic
def add_tag(*, scope: Scope, person: Person, name: str) -> Tag:
    scope.require(scope.can_write_people, _("Votre rôle ne permet pas d'étiqueter."))
    tag = _tag_named(name)
    if not person.tags.filter(pk=tag.pk).exists():
        person.tags.add(tag)
        log_event(person=person, kind=EventKind.TAGGED, actor=scope.user, tag=tag.name)
    return tag


@transaction.atomic
def remove_tag(*, scope: Scope, person: Person, name: str) -> bool:
    scope.require(scope.can_write_people, _("Votre rôle ne permet pas d'étiqueter."))
    tag = Tag.objects.filter(name__iexact=name.strip()).first()
    if tag is None or not person.tags.filter(pk=tag.pk).exists():
        return False
    person.tags.remove(tag)
    log_event(person=person, kind=EventKind.UNTAGGED, actor=scope.user, tag=tag.name)
    return True


@transaction.atomic
def set_consent(
    *,
    scope: Scope,
    person: Person,
    channel: str,
    granted: bool,
    source: str,
    proof: str = "",
    at: Any = None,
) -> Consent:
    """Record a consent given or withdrawn; the previous state goes to the timeline."""
    scope.require(
        scope.can_write_people, _("Votre rôle ne permet pas de modifier un consentement.")
    )
    if channel not in Channel.values:
        raise ValidationError({"channel": _("Canal inconnu.")})
    if not source.strip():
        raise ValidationError({"source": _("Indiquez la source du consentement.")})
    at = at or timezone.now()
    consent = Consent.objects.select_for_update().filter(person=person, channel=channel).first()
    previous = None
    if consent is not None:
        previous = {
            "granted": consent.granted,
            "at": consent.at.isoformat(),
            "source": consent.source,
        }
        consent.granted, consent.at, consent.source, consent.proof = granted, at, source, proof
        consent.save()
    else:
        consent = Consent.objects.create(
            person=person, channel=channel, granted=granted, at=at, source=source, proof=proof
        )
    if granted:
        Person.objects.filter(pk=person.pk).update(last_contact_at=at)
    log_event(
        person=person,
        kind=EventKind.CONSENT,
        actor=scope.user,
        channel=channel,
        granted=granted,
        source=source,
        proof=proof,
        previous=previous,
    )
    return consent


def person_data(person: Person) -> dict[str, Any]:
    """Everything the campaign holds on one person (RGPD right of access, art. 15)."""
    return {
        "id": person.pk,
        "civility": person.civility,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "other_emails": [e.address for e in person.other_emails.all()],
        "phone": person.phone,
        "other_phones": [p.number for p in person.other_phones.all()],
        "address_line": person.address_line,
        "address_extra": person.address_extra,
        "postal_code": person.postal_code,
        "commune": person.commune_id,
        "commune_name": person.commune.name if person.commune else "",
        "birth_year": person.birth_year,
        "status": person.status,
        "tags": sorted(t.name for t in person.tags.all()),
        "origin": person.origin,
        "created_at": person.created_at.isoformat(),
        "updated_at": person.updated_at.isoformat(),
        "consents": [
            {
                "channel": c.channel,
                "granted": c.granted,
                "at": c.at.isoformat(),
                "source": c.source,
                "proof": c.proof,
            }
            for c in person.consents.order_by("channel")
        ],
        "timeline": [
            {"kind": e.kind, "at": e.at.isoformat(), "actor": e.actor_label, "data": e.data}
            for e in person.events.order_by("at", "id")
        ],
    }


@transaction.atomic
def export_person_data(*, scope: Scope, person: Person) -> dict[str, Any]:
    scope.require(scope.can_export_people, _("Votre rôle ne permet pas d'exporter."))
    data = person_data(person)
    log_event(person=person, kind=EventKind.EXPORTED, actor=scope.user, what="rgpd")
    audit.record(
        actor=scope.user,
        action=AuditEntry.Action.DATA_EXPORT,
        subject=f"person:{person.pk}",
        row_count=1,
    )
    return data


def _suppress(person: Person, reason: str) -> int:
    values = [("email", person.email), ("phone", person.phone)]
    values += [("email", e.address) for e in person.other_emails.all()]
    values += [("phone", p.number) for p in person.other_phones.all()]
    digests = {
        suppression_digest(kind, value): kind for kind, value in values if value and value.strip()
    }
    existing = set(Suppression.objects.filter(digest__in=digests).values_list("digest", flat=True))
    Suppression.objects.bulk_create(
        [
            Suppression(kind=kind, digest=digest, reason=reason)
            for digest, kind in digests.items()
            if digest not in existing
        ]
    )
    return len(digests)


@transaction.atomic
def erase_person(*, scope: Scope, person: Person) -> None:
    """Delete a person for real (RGPD art. 17); keep only keyed hashes of their addresses."""
    scope.require(scope.can_erase_people, _("Votre rôle ne permet pas d'effacer une fiche."))
    suppressed = _suppress(person, Suppression.Reason.ERASURE)
    person_id = person.pk
    person.delete()
    audit.record(
        actor=scope.user,
        action=AuditEntry.Action.ERASE,
        subject=f"person:{person_id}",
        row_count=1,
        details={"suppressed_values": suppressed},
    )


def purgeable_people(*, months: int | None = None, now: Any = None) -> Any:
    """People kept only for prospecting who have not been in touch for ``months``.

    The CNIL's rule for political prospecting: a contact who never answered, gave no
    consent and did not join is deleted after the retention period.
    """
    months = settings.CAMPAGNE_PROSPECT_RETENTION_MONTHS if months is None else months
    cutoff = (now or timezone.now()) - timedelta(days=30 * months)
    any_consent = Consent.objects.filter(person=OuterRef("pk"), granted=True)
    return (
        Person.objects.filter(status="contact", created_at__lt=cutoff)
        .filter(Q(last_contact_at__isnull=True) | Q(last_contact_at__lt=cutoff))
        .exclude(Exists(any_consent))
    )


def purge(*, scope: Scope, months: int | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Apply the retention rule in batches; return what was (or would be) deleted."""
    scope.require(scope.can_purge, _("Seul un administrateur QG peut purger."))
    queryset = purgeable_people(months=months)
    ids = list(queryset.values_list("pk", flat=True))
    report: dict[str, Any] = {"candidates": len(ids), "deleted": 0, "dry_run": dry_run}
    if dry_run or not ids:
        return report
    for start in range(0, len(ids), 500):
        with transaction.atomic():
            batch = Person.objects.filter(pk__in=ids[start : start + 500]).prefetch_related(
                "other_emails", "other_phones"
            )
            for person in batch:
                _suppress(person, Suppression.Reason.PURGE)
            deleted, _detail = Person.objects.filter(pk__in=[p.pk for p in batch]).delete()
            report["deleted"] += len(batch)
    audit.record(
        actor=scope.user,
        action=AuditEntry.Action.PURGE,
        subject="people",
        row_count=report["deleted"],
        details={"months": months or settings.CAMPAGNE_PROSPECT_RETENTION_MONTHS},
    )
    return report


def add_other_email(*, scope: Scope, person: Person, address: str) -> PersonEmail:
    scope.require(scope.can_write_people)
    address = address.strip().lower()
    _check_not_suppressed(address, "")
    with transaction.atomic():
        item, created = PersonEmail.objects.get_or_create(person=person, address=address)
        if created:
            log_event(
                person=person,
                kind=EventKind.EDITED,
                actor=scope.user,
                changes={"other_emails": [None, address]},
            )
    return item


def add_other_phone(*, scope: Scope, person: Person, number: str) -> PersonPhone:
    scope.require(scope.can_write_people)
    _check_not_suppressed("", number)
    with transaction.atomic():
        item, created = PersonPhone.objects.get_or_create(person=person, number=number)
        if created:
            log_event(
                person=person,
                kind=EventKind.EDITED,
                actor=scope.user,
                changes={"other_phones": [None, number]},
            )
    return item
