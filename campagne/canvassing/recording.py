"""Recording doors: what the field app (and the API) sends, stored once, checked, counted.

``record_canvasses(scope=…, records=[…])`` takes a batch of door records made on the
phone and answers one ``RecordResult`` per record, in order. The rules:

- Only for a session or turf the sender may see (``scope.sessions()``/``scope.turfs()``):
  any record outside it refuses the whole batch with 404 and nothing is written. HQ
  staff (read-only) and anonymous callers get 403.
- The address must be one of the turf's stops, the outcome one of ``Outcome``; a record
  that breaks such a rule is answered ``rejected`` with the reason, the others are kept.
- Idempotent on ``client_uuid``: the insert ignores a uuid already stored, and that record
  is answered ``duplicate`` (already stored, not an error; the phone drops it from its
  queue). Two copies racing in two requests are stored once, the database decides.
- Opinions (``support``, ``issues``, ``answers``) are dropped unless ``opinion_consent``
  is true: they are sensitive data (RGPD art. 9).
- The same door twice (same campaign, address and door): the record with the latest
  ``recorded_at`` counts (ties: the last received); the others are kept with
  ``superseded=True``. A rejected record never counts, so rejecting the latest makes the
  previous one count again.
- A person who wants to be contacted (first name and an e-mail or a phone, with the
  consent text read to them) becomes or updates a person of the CRM: see ``contacts``.
- The plausibility checks of ``campagne.canvassing.plausibility`` run on each batch and
  flag suspicious records (``review = flagged``) for an organizer to accept or reject.

Statistics count ``counted()`` records only: not superseded, and reviewed OK (a flagged
record counts once accepted; a rejected one never does).

A batch is a handful of queries whatever its size and one short write transaction (a
multi-row ``INSERT … ON CONFLICT DO NOTHING RETURNING``, and the contacts), so that a
phone coming back online with a hundred doors syncs in one request; the same-door rule
and the plausibility checks run right after that commit (see ``record_canvasses``).
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from campagne.accounts.models import Role
from campagne.accounts.scopes import Scope
from campagne.canvassing import plausibility
from campagne.canvassing.models import (
    Canvass,
    Channel,
    Outcome,
    Session,
    SessionReport,
    TurfStop,
)

STORED = "stored"
DUPLICATE = "duplicate"
REJECTED = "rejected"

MAX_BATCH = 500
MAX_NOTES = 2000
# Rows per INSERT statement: SQLite allows 32,766 parameters per statement.
_INSERT_ROWS = 500
# Outcome.values rebuilds its list on each access; this is read once per record.
_OUTCOMES = frozenset(Outcome.values)


@dataclass
class Contact:
    """Who agreed at the door to be contacted again, and the consent text read to them."""

    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    consent_text: str = ""


@dataclass
class DoorRecord:
    """One door as the phone recorded it."""

    client_uuid: uuid.UUID
    outcome: str
    recorded_at: dt.datetime
    session_id: int | None = None
    turf_id: int | None = None
    address_id: int | None = None
    door: str = ""
    opinion_consent: bool = False
    support: int | None = None
    issues: list[str] = field(default_factory=list)
    answers: dict[str, Any] = field(default_factory=dict)
    wants_to_volunteer: bool = False
    wants_contact: bool = False
    contact: Contact | None = None
    notes: str = ""
    latitude: float | None = None
    longitude: float | None = None
    accuracy_metres: float | None = None


@dataclass
class RecordResult:
    client_uuid: uuid.UUID
    status: str
    id: int | None = None
    error: str = ""
    # Opinions were sent without the person's consent, and were not stored.
    opinions_dropped: bool = False
    person_id: int | None = None


def can_record(scope: Scope) -> bool:
    """Volunteers, organizers and HQ admins record doors; HQ staff only read."""
    return scope.role in (Role.VOLUNTEER, Role.ORGANIZER, Role.HQ_ADMIN)


def counted(canvasses: QuerySet[Any]) -> QuerySet[Any]:
    """The records statistics count: the latest for each door, and not flagged/rejected."""
    return canvasses.filter(superseded=False, review=Canvass.Review.OK)


@dataclass
class _Place:
    """Where a record belongs, as loaded once per batch."""

    campaign_id: int
    turf_id: int
    commune_id: str | None


def _places(scope: Scope, records: Sequence[DoorRecord]) -> tuple[dict[int, Any], dict[int, Any]]:
    """The batch's sessions and turfs, loaded through the scope: 404 if any is missing."""
    session_ids = {r.session_id for r in records if r.session_id is not None}
    turf_ids = {r.turf_id for r in records if r.session_id is None and r.turf_id is not None}
    sessions: dict[int, Any] = {}
    turfs: dict[int, Any] = {}
    if session_ids:
        rows = (
            scope.sessions()
            .filter(pk__in=session_ids)
            .exclude(status=Session.Status.CANCELLED)
            .order_by()  # unordered: the default ordering was a third of this query's cost
            .values_list("pk", "turf_id", "campaign_id", "turf__commune_id")
        )
        sessions = {pk: (turf, campaign, commune) for pk, turf, campaign, commune in rows}
        if len(sessions) != len(session_ids):
            raise Http404("No such session.")
    if turf_ids:
        rows = (
            scope.turfs()
            .filter(pk__in=turf_ids)
            .order_by()
            .values_list("pk", "campaign_id", "commune_id")
        )
        turfs = {pk: (campaign, commune) for pk, campaign, commune in rows}
        if len(turfs) != len(turf_ids):
            raise Http404("No such turf.")
    return sessions, turfs


def _place_of(record: DoorRecord, sessions: dict[int, Any], turfs: dict[int, Any]) -> _Place | str:
    if record.session_id is not None:
        turf_id, campaign_id, commune_id = sessions[record.session_id]
        if record.turf_id is not None and record.turf_id != turf_id:
            return _("Ce secteur n'est pas celui de la session.")
        return _Place(campaign_id, turf_id, commune_id)
    if record.turf_id is not None:
        campaign_id, commune_id = turfs[record.turf_id]
        return _Place(campaign_id, record.turf_id, commune_id)
    return _("Indiquez la session ou le secteur.")


def _problem(record: DoorRecord) -> str:
    """Why this record cannot be stored, or ''."""
    if record.outcome not in _OUTCOMES:
        return _("Résultat inconnu.")
    if record.address_id is None:
        return _("Indiquez l'adresse.")
    if record.support is not None and not 1 <= record.support <= 5:
        return _("Le soutien va de 1 à 5.")
    if record.latitude is not None and not -90 <= record.latitude <= 90:
        return _("Coordonnées GPS invalides.")
    if record.longitude is not None and not -180 <= record.longitude <= 180:
        return _("Coordonnées GPS invalides.")
    if len(record.door) > 60:
        return _("Porte : 60 caractères au plus.")
    return ""


def _aware(moment: dt.datetime) -> dt.datetime:
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


# The columns written by the insert, in order (everything without a database default).
_COLUMNS = (
    "client_uuid",
    "channel",
    "campaign",
    "turf",
    "session",
    "address",
    "door",
    "commune",
    "volunteer",
    "outcome",
    "opinion_consent",
    "support",
    "issues",
    "answers",
    "wants_to_volunteer",
    "wants_contact",
    "notes",
    "latitude",
    "longitude",
    "accuracy_metres",
    "recorded_at",
    "received_at",
    "superseded",
    "review",
    "flags",
)


def _row(record: DoorRecord, place: _Place, volunteer_id: int, now: dt.datetime) -> dict[str, Any]:
    consent = bool(record.opinion_consent)
    return {
        "client_uuid": record.client_uuid,
        "channel": Channel.DOOR,
        "campaign": place.campaign_id,
        "turf": place.turf_id,
        "session": record.session_id,
        "address": record.address_id,
        "door": record.door.strip(),
        "commune": place.commune_id,
        "volunteer": volunteer_id,
        "outcome": record.outcome,
        "opinion_consent": consent,
        "support": record.support if consent else None,
        "issues": [str(item)[:100] for item in record.issues][:20] if consent else [],
        "answers": record.answers if consent else {},
        "wants_to_volunteer": bool(record.wants_to_volunteer),
        "wants_contact": bool(record.wants_contact),
        "notes": record.notes[:MAX_NOTES],
        "latitude": record.latitude,
        "longitude": record.longitude,
        "accuracy_metres": record.accuracy_metres,
        "recorded_at": _aware(record.recorded_at),
        "received_at": now,
        "superseded": False,
        "review": Canvass.Review.OK,
        "flags": [],
    }


def _insert_statements(rows: list[dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    """INSERT … ON CONFLICT (client_uuid) DO NOTHING RETURNING, with their parameters:
    built before the transaction, so that the write lock (SQLite's is the database's) is
    held for running them only."""
    meta = Canvass._meta
    fields = [meta.get_field(name) for name in _COLUMNS]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(meta.db_table)
    uuid_column = connection.ops.quote_name(meta.get_field("client_uuid").column)
    prepare = _preparers(fields)
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    statements = []
    for start in range(0, len(rows), _INSERT_ROWS):
        chunk = rows[start : start + _INSERT_ROWS]
        params: list[Any] = []
        for row in chunk:
            params.extend([prep(row[name]) for name, prep in prepare])
        sql = (
            f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(chunk))} "  # noqa: S608 - names from the model
            f"ON CONFLICT ({uuid_column}) DO NOTHING RETURNING id, {uuid_column}"
        )
        statements.append((sql, params))
    return statements


def _insert(statements: list[tuple[str, list[Any]]]) -> dict[uuid.UUID, int]:
    """Run the inserts: the rows actually added. Both SQLite (3.35+) and PostgreSQL
    return only the inserted rows, so a uuid already stored (a re-sent record, or a copy
    racing in another request) is simply absent."""
    inserted: dict[uuid.UUID, int] = {}
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            for pk, client_uuid in cursor.fetchall():
                inserted[uuid.UUID(str(client_uuid))] = pk
    return inserted


def _same(value: Any) -> Any:
    return value


def _generic(f: Any, value: Any) -> Any:
    return f.get_db_prep_save(value, connection)


def _json(f: Any, prepared_empties: dict[str, Any], value: Any) -> Any:
    if value == [] or value == {}:
        key = f"{f.name}:{type(value).__name__}"
        if key not in prepared_empties:
            prepared_empties[key] = f.get_db_prep_save(value, connection)
        return prepared_empties[key]
    return f.get_db_prep_save(value, connection)


def _preparers(fields: list[Any]) -> list[tuple[str, Any]]:
    """How each column's value goes to the database: what ``get_db_prep_save`` does,
    without its per-value dispatch where the type is plain (ints, strings, floats,
    booleans; an empty JSON list or object, prepared once). A batch of 500 doors has
    12,500 values: the generic path was a third of the request."""
    native_uuid = connection.features.has_native_uuid_field
    empties: dict[str, Any] = {}
    prepare: list[tuple[str, Any]] = []
    for f in fields:
        kind = f.get_internal_type()
        if kind == "UUIDField":
            prep = _same if native_uuid else operator.attrgetter("hex")
        elif kind == "DateTimeField":
            prep = connection.ops.adapt_datetimefield_value
        elif kind == "JSONField":
            prep = functools.partial(_json, f, empties)
        elif kind in ("CharField", "TextField", "BooleanField", "FloatField") or f.is_relation:
            prep = _same
        else:
            prep = functools.partial(_generic, f)
        prepare.append((f.name, prep))
    return prepare


def resolve_same_doors(keys: set[tuple[int, str, int]]) -> None:
    """Among the records of each door (address, door, campaign), only the latest counts.

    One query finds which of these doors have more than one record; only those are
    updated (usually none: most doors are knocked once per campaign).
    """
    if not keys:
        return
    doors = [key for key in _repeated_doors(keys) if key in keys]
    if not doors:
        return
    condition = Q()
    for address, door, campaign in doors:
        condition |= Q(address_id=address, door=door, campaign_id=campaign)
    later = (
        Canvass.objects.filter(
            address_id=OuterRef("address_id"),
            door=OuterRef("door"),
            campaign_id=OuterRef("campaign_id"),
        )
        .exclude(review=Canvass.Review.REJECTED)
        .filter(
            Q(recorded_at__gt=OuterRef("recorded_at"))
            | Q(recorded_at=OuterRef("recorded_at"), id__gt=OuterRef("id"))
        )
    )
    Canvass.objects.filter(condition).update(superseded=Exists(later))


def _repeated_doors(keys: set[tuple[int, str, int]]) -> list[tuple[int, str, int]]:
    """Those doors of ``keys`` with more than one record. Plain SQL: it runs after every
    stored batch, and the ORM's query building was most of its cost; each door is one
    probe of the index ``canvass_address_door``."""
    q = connection.ops.quote_name
    one = f"({q('address_id')} = %s AND {q('door')} = %s AND {q('campaign_id')} = %s)"
    doors = sorted(keys)
    repeated: list[tuple[int, str, int]] = []
    # 300 doors (900 parameters) per query, far below SQLite's limit.
    for start in range(0, len(doors), 300):
        chunk = doors[start : start + 300]
        sql = (
            f"SELECT {q('address_id')}, {q('door')}, {q('campaign_id')} "  # noqa: S608 - names from the model
            f"FROM {q(Canvass._meta.db_table)} WHERE {' OR '.join([one] * len(chunk))} "
            f"GROUP BY {q('address_id')}, {q('door')}, {q('campaign_id')} HAVING COUNT(*) > 1"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for key in chunk for value in key])
            repeated.extend((address, door, campaign) for address, door, campaign in cursor)
    return repeated


def record_canvasses(*, scope: Scope, records: Sequence[DoorRecord]) -> list[RecordResult]:
    """Store a batch of door records; one result per record, in order. See the module."""
    if not can_record(scope):
        raise PermissionDenied(_("Votre rôle ne permet pas d'enregistrer des portes."))
    if len(records) > MAX_BATCH:
        raise ValueError(f"At most {MAX_BATCH} records per batch.")
    sessions, turfs = _places(scope, records)
    results: list[RecordResult] = []
    candidates: list[tuple[int, DoorRecord, _Place]] = []
    seen: set[uuid.UUID] = set()
    for index, record in enumerate(records):
        result = RecordResult(client_uuid=record.client_uuid, status=REJECTED)
        results.append(result)
        place = _place_of(record, sessions, turfs)
        if isinstance(place, str) or (problem := _problem(record)):
            result.error = place if isinstance(place, str) else problem
            continue
        result.opinions_dropped = not record.opinion_consent and bool(
            record.support is not None or record.issues or record.answers
        )
        if record.client_uuid in seen:
            # The same record twice in one batch: stored once, like across batches.
            result.status = DUPLICATE
            continue
        seen.add(record.client_uuid)
        candidates.append((index, record, place))

    stops = _stops_of(candidates)
    now = timezone.now()
    rows: list[dict[str, Any]] = []
    kept: list[tuple[int, DoorRecord, _Place]] = []
    for index, record, place in candidates:
        if (place.turf_id, record.address_id) not in stops:
            results[index].error = _("Cette adresse n'est pas dans le secteur.")
            continue
        rows.append(_row(record, place, scope.user.pk, now))
        kept.append((index, record, place))
    if not rows:
        return results
    statements = _insert_statements(rows)
    with transaction.atomic():
        inserted = _insert(statements)
        for index, record, _place in kept:
            result = results[index]
            pk = inserted.get(record.client_uuid)
            result.status = STORED if pk is not None else DUPLICATE
            result.id = pk
        _save_contacts(scope, kept, results)
    new_rows = [row for row in rows if row["client_uuid"] in inserted]
    for row in new_rows:
        row["id"] = inserted[row["client_uuid"]]
    # After the commit, not inside it: these read the doors other requests stored at the
    # same time (on PostgreSQL a transaction does not see the others' uncommitted rows,
    # so two records of one door racing would each look alone), and on SQLite they do
    # not hold the write lock while reading. Both recompute from the table, so the next
    # record of the same door or volunteer repairs what a crash right here would miss.
    resolve_same_doors({(r["address"], r["door"], r["campaign"]) for r in new_rows})
    plausibility.check_batch(new_rows)
    return results


def _stops_of(candidates: Sequence[tuple[int, DoorRecord, _Place]]) -> set[tuple[int, int]]:
    """Which (turf, address) pairs of the batch are stops. Plain SQL: the turfs were
    loaded through the scope already, and it runs on every request."""
    turf_ids = sorted({place.turf_id for _i, _r, place in candidates})
    address_ids = sorted({record.address_id for _i, record, _p in candidates})
    if not turf_ids:
        return set()
    q = connection.ops.quote_name
    sql = (
        f"SELECT {q('turf_id')}, {q('address_id')} FROM {q(TurfStop._meta.db_table)} "  # noqa: S608 - names from the model
        f"WHERE {q('turf_id')} IN ({', '.join(['%s'] * len(turf_ids))}) "
        f"AND {q('address_id')} IN ({', '.join(['%s'] * len(address_ids))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*turf_ids, *address_ids])
        return {(turf, address) for turf, address in cursor.fetchall()}


def _save_contacts(
    scope: Scope, kept: Sequence[tuple[int, DoorRecord, _Place]], results: list[RecordResult]
) -> None:
    """People who agreed to be contacted: only the stored records that carry a contact."""
    from campagne.canvassing import contacts

    for index, record, place in kept:
        result = results[index]
        if result.status != STORED or not record.wants_contact or record.contact is None:
            continue
        person = contacts.save_contact(
            volunteer=scope.user,
            campaign_id=place.campaign_id,
            canvass_id=result.id,
            record=record,
            commune_id=place.commune_id,
        )
        if person is not None:
            result.person_id = person.pk


# --- review by organizers ---------------------------------------------------------------


def flagged_for(scope: Scope) -> QuerySet[Any]:
    """The flagged records an organizer may review."""
    if not scope.can_manage_field:
        return Canvass.objects.none()
    return scope.canvasses().filter(review=Canvass.Review.FLAGGED)


@transaction.atomic
def review_canvasses(*, scope: Scope, ids: Sequence[int], accept: bool) -> int:
    """Accept (they count) or reject (they never count) flagged records; returns how many.

    Records outside the scope are ignored as if they did not exist; HQ staff and
    volunteers get 403.
    """
    scope.require(scope.can_manage_field, _("Votre rôle ne permet pas de vérifier les portes."))
    records = flagged_for(scope).filter(pk__in=list(ids))
    keys = set(records.values_list("address_id", "door", "campaign_id"))
    decision = Canvass.Review.OK if accept else Canvass.Review.REJECTED
    changed = records.update(review=decision, reviewed_by=scope.user, reviewed_at=timezone.now())
    # A rejected record no longer hides an earlier one of the same door, and vice versa.
    resolve_same_doors({key for key in keys if key[0] is not None})
    return changed


# --- session reports --------------------------------------------------------------------


@transaction.atomic
def send_report(
    *,
    scope: Scope,
    session_id: int,
    heard: str = "",
    problems: str = "",
    material: str = "",
    client_uuid: uuid.UUID | None = None,
) -> tuple[SessionReport, bool]:
    """A volunteer's report after a session; ``(report, created)``.

    Idempotent on ``client_uuid`` like the doors: the field app may send a report queued
    offline twice. Only for a session the sender may see (404 otherwise); HQ staff 403.
    """
    if not can_record(scope):
        raise PermissionDenied(_("Votre rôle ne permet pas d'envoyer un compte rendu."))
    try:
        session = scope.sessions().get(pk=session_id)
    except (Session.DoesNotExist, ValueError, TypeError):
        raise Http404("No such session.") from None
    if client_uuid is not None:
        existing = SessionReport.objects.filter(client_uuid=client_uuid).first()
        if existing is not None:
            return existing, False
    if not any(text.strip() for text in (heard, problems, material)):
        raise ValidationError({"heard": _("Le compte rendu est vide.")})
    report = SessionReport.objects.create(
        session=session,
        author=scope.user,
        client_uuid=client_uuid,
        heard=heard.strip()[:4000],
        problems=problems.strip()[:4000],
        material=material.strip()[:2000],
    )
    return report, True


def reports_for(scope: Scope) -> QuerySet[Any]:
    """Reports an organizer reads: those of the sessions of their territory."""
    if not scope.can_read_field:
        return SessionReport.objects.none()
    return SessionReport.objects.filter(session__in=scope.sessions().values("pk")).select_related(
        "session__turf", "session__campaign", "author"
    )
