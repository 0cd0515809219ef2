"""One chunk of an import: match its rows, place them on people, write them in bulk.

Exact matches (same e-mail, primary or other, or same phone) are read with one ``IN``
query per table; likely ones with one join on the (commune, name) index. Each row then
updates a person, lands on a person an earlier row created or matched ("merged"),
creates one, or creates one beside a possible duplicate ("review"). Everything is
written with ``executemany`` and ids reserved up front.

Rules for an existing person (documented in docs/imports.md):
- a value from the file fills an empty field; a field already filled keeps its value
  unless the import says "overwrite"; the address (street, complement, postcode,
  commune) is one block, filled only when the person has none;
- the status only goes up the ladder (contact → sympathisant → militant → adhérent);
- e-mails and phones the person lacks are added as other addresses; tags are added;
- a consent is granted only where the person has none; a withdrawal is never undone by a
  file (withdrawal always wins), and a file's explicit withdrawal is recorded;
- a row that changes nothing writes nothing and adds no timeline event (idempotency).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from campagne.imports import sql
from campagne.imports.matching import (
    Score,
    first_names_compatible,
    likely_score,
    shared_contact_score,
)
from campagne.imports.models import DuplicateCandidate
from campagne.imports.normalize import GRANTED, WITHDRAWN, Chunk, Row
from campagne.people.models import (
    Consent,
    EventKind,
    Person,
    PersonEmail,
    PersonPhone,
    Status,
    TimelineEvent,
)

if TYPE_CHECKING:
    from campagne.imports.pipeline import ImportRun

STATUS_RANK = {status: rank for rank, status in enumerate(Status.values)}
SCALARS = ("civility", "first_name", "last_name", "birth_year")
ADDRESS = ("address_line", "address_extra", "postal_code", "commune")
LOADED = (
    "id",
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
)
PERSON_INSERT = (
    "id",
    "civility",
    "first_name",
    "last_name",
    "search_name",
    "search_name_rev",
    "email",
    "phone",
    "address_line",
    "address_extra",
    "postal_code",
    "commune",
    "birth_year",
    "status",
    "origin",
    "created_at",
    "updated_at",
    "last_contact_at",
)
# The fields of a new person carried by ``Row.person``, in its order.
NEW_FIELDS = PERSON_INSERT[1:14]
_NEW_VALUES = tuple(name for name in NEW_FIELDS if name not in ("search_name", "search_name_rev"))
EVENT_INSERT = ("person", "kind", "at", "actor", "actor_label", "data")
MAX_LIKELY = 5


def _previous_consent(previous: tuple[int, bool, Any, str]) -> dict[str, Any]:
    """A consent row's state as ``set_consent`` logs it in the timeline."""
    _pk, granted, at, source = previous
    return {
        "granted": granted,
        "at": at.isoformat() if hasattr(at, "isoformat") else str(at),
        "source": source,
    }


def _kind(value: str) -> str:
    return "email" if "@" in value else "phone"


class Slot:
    """A person as the chunk sees it: loaded from the base or about to be created."""

    __slots__ = (
        "id",
        "new",
        "_values",
        "row",
        "before",
        "emails",
        "phones",
        "added_emails",
        "added_phones",
        "consents",
        "consent_changes",
        "tags",
        "added_tags",
        "in_scope",
        "first_key",
        "last_key",
        "line",
        "hit",
    )

    def __init__(self, values: dict[str, Any], *, new: bool, in_scope: bool = True) -> None:
        self.id: int | None = values.get("id")
        self.new = new
        self._values: dict[str, Any] | None = values
        self.row: Row | None = None
        self.before = {} if new else dict(values)
        self.emails: list[str] = [values["email"]] if values.get("email") else []
        self.phones: list[str] = [values["phone"]] if values.get("phone") else []
        self.added_emails: list[str] = []
        self.added_phones: list[str] = []
        # channel → (consent id, granted, at, source) for loaded consents
        self.consents: dict[str, tuple[int, bool, Any, str]] = {}
        self.consent_changes: dict[str, bool] = {}
        self.tags: set[str] = set()
        self.added_tags: list[str] = []
        self.in_scope = in_scope
        self.first_key = ""
        self.last_key = ""
        self.line = 0
        # A row of this chunk landed on it (created it, or was applied to it).
        self.hit = new

    @property
    def values(self) -> dict[str, Any]:
        """The person's fields; for a new person, made from its row when first needed
        (most are written as the row's ``person`` tuple and never need them)."""
        values = self._values
        if values is None:
            row = self.row
            assert row is not None  # noqa: S101 - a new slot always has its row
            person = row.person
            values = self._values = dict(
                zip(_NEW_VALUES, (*person[:3], *person[5:]), strict=True)  # type: ignore[index]
            )
            values["id"] = self.id
        return values

    @classmethod
    def created(
        cls,
        row: Row,
        emails: list[str],
        phones: list[str],
        tags: set[str],
        added_tags: list[str],
        consent_changes: dict[str, bool],
    ) -> Slot:
        """A person about to be created from a row: ``__init__`` without the generic
        work (a few microseconds a row, at 700,000 rows)."""
        slot = cls.__new__(cls)
        slot.id = None
        slot.new = slot.hit = slot.in_scope = True
        slot._values = None
        slot.row = row
        slot.before = {}
        slot.emails, slot.phones = emails, phones
        slot.added_emails, slot.added_phones = emails[1:], phones[1:]
        slot.consents = {}
        slot.consent_changes = consent_changes
        slot.tags, slot.added_tags = tags, added_tags
        slot.first_key, slot.last_key, slot.line = row.first_key, row.last_key, row.line
        return slot


class ChunkState:
    """The people a chunk touches, and what it will write."""

    def __init__(self, run: ImportRun, rows: list[Row], lookups: Chunk | None = None) -> None:
        self.run = run
        self.key = run.normalizer.key
        self.overwrite = run.batch.overwrite
        self.batch_tags = list(run.batch.tags or [])
        self.index: dict[str, list[Slot]] = defaultdict(list)
        self.slots: list[Slot] = []
        self.new_slots: list[Slot] = []
        self.likely_new: dict[tuple[str, str], list[Slot]] = defaultdict(list)
        self.likely_base: dict[tuple[str, str], list[tuple[Any, ...]]] = defaultdict(list)
        # (slot, slot or existing id, score)
        self.candidates: list[tuple[Slot, Slot | int, Score]] = []
        self.new_tags: dict[tuple[str, ...], tuple[set[str], list[str]]] = {}
        # What to look up, prepared with the rows (a chunk's own lookups may include rows
        # refused since, for an erasure: looking them up costs little and changes nothing).
        lookups = lookups if lookups is not None else Chunk(rows)
        self._load_matches(lookups.emails, lookups.phones)
        self._load_likely(lookups.likely)

    # --- reading the base ---------------------------------------------------------------

    def _load_matches(self, emails: list[str], phones: list[str]) -> None:
        if not emails and not phones:
            return
        found: dict[int, tuple[Any, ...]] = {}
        ids: set[int] = set()
        for values in sql.select_in(Person, LOADED, "email", emails):
            found[values[0]] = values
        for values in sql.select_in(Person, LOADED, "phone", phones):
            found[values[0]] = values
        # Other addresses: skipped while their table is empty (a fresh base, or one where
        # nobody has a second address yet), which costs one indexed probe per chunk.
        if sql.has_rows(PersonEmail):
            ids.update(
                p for p, _a in sql.select_in(PersonEmail, ("person", "address"), "address", emails)
            )
        if sql.has_rows(PersonPhone):
            ids.update(
                p for p, _n in sql.select_in(PersonPhone, ("person", "number"), "number", phones)
            )
        missing = ids - set(found)
        for values in sql.select_in(Person, LOADED, "id", missing):
            found[values[0]] = values
        if not found:
            return
        allowed = self.run.allowed
        by_id: dict[int, Slot] = {}
        for values in found.values():
            data = dict(zip(LOADED, values, strict=True))
            slot = Slot(data, new=False, in_scope=allowed is None or data["commune"] in allowed)
            slot.first_key = self.key(data["first_name"])
            slot.last_key = self.key(data["last_name"])
            by_id[slot.id] = slot  # type: ignore[index]
            self.slots.append(slot)
        person_ids = list(by_id)
        for person_id, address in sql.select_in(
            PersonEmail, ("person", "address"), "person", person_ids
        ):
            by_id[person_id].emails.append(address)
        for person_id, number in sql.select_in(
            PersonPhone, ("person", "number"), "person", person_ids
        ):
            by_id[person_id].phones.append(number)
        consent_columns = ("person", "id", "channel", "granted", "at", "source")
        for person_id, pk, channel, granted, at, source in sql.select_in(
            Consent, consent_columns, "person", person_ids
        ):
            by_id[person_id].consents[channel] = (pk, bool(granted), at, source)
        links = sql.select_in(Person.tags.through, ("person", "tag"), "person", person_ids)
        names = self.run.tag_names({tag_id for _person, tag_id in links})
        for person_id, tag_id in links:
            by_id[person_id].tags.add(names[tag_id])
        for slot in by_id.values():
            self._register(slot)

    def _load_likely(self, keys: list[tuple[str, str]]) -> None:
        """People of the base who may be the same as a row: same commune, same last name
        and first initial. (Rows with an exact match never use them; looking their keys
        up too costs less than sorting them out.)"""
        names = ("id", "first_name", "last_name", "postal_code", "birth_year")
        for commune, prefix, *values in sql.prefix_join(keys, Person, names):
            self.likely_base[(commune, prefix)].append(tuple(values))

    def _register(self, slot: Slot) -> None:
        index = self.index
        for value in (*slot.emails, *slot.phones):
            slots = index[value]
            if slot not in slots:
                slots.append(slot)

    # --- placing a row --------------------------------------------------------------------

    def place(self, row: Row) -> str:
        """Put the row on a person; return the counter it goes to."""
        first_key, last_key = row.first_key, row.last_key
        matched: list[tuple[Slot, str]] = []
        index = self.index
        # E-mails and E.164 phones never look alike ("@" / leading "+"): one namespace.
        for value in row.contacts:
            if value not in index:
                continue  # The common case: nobody of the base or of the chunk has it.
            for slot in index[value]:
                if all(slot is not other for other, _v in matched):
                    matched.append((slot, value))
        if not matched:
            key = row.likely
            if key is None or (key not in self.likely_new and key not in self.likely_base):
                # The common case: nobody alike either.
                self._new_slot(row, first_key, last_key)
                return "created"
            return self._create(row, first_key, last_key)
        compatible = [m for m in matched if first_names_compatible(first_key, m[0].first_key)]
        if not compatible:
            slot = self._new_slot(row, first_key, last_key)
            for other, value in matched:
                score = shared_contact_score(
                    _kind(value),
                    value,
                    other.values["first_name"],
                    row.first_name,
                    other.last_key,
                    last_key,
                )
                self.candidates.append((slot, other, score))
            return "review"
        target, value = compatible[0]
        if not target.in_scope:
            # The person is outside the importer's territory: they may not touch it. A new
            # person is made in their territory, and HQ sees the pair in its queue.
            slot = self._new_slot(row, first_key, last_key)
            score = Score()
            score.add(_kind(value), 100, value)
            score.add("out_of_scope", 0)
            self.candidates.append((slot, target, score))
            return "review"
        # A duplicate within the file: an earlier row already landed on this person.
        merged = target.hit or target.id in self.run.touched
        target.hit = True
        self._apply(target, row)
        for other, other_value in compatible[1:]:
            score = Score()
            score.add(_kind(other_value), 90, other_value)
            self.candidates.append((target, other, score))
        return "merged" if merged else "updated"

    def _create(self, row: Row, first_key: str, last_key: str) -> str:
        key = row.likely
        found: list[tuple[Slot | int, Score]] = []
        if key:
            for other in self.likely_new.get(key, ()):
                score = likely_score(
                    first_a=other.first_key,
                    first_b=first_key,
                    last_a=other.last_key,
                    last_b=last_key,
                    commune_a=other.values["commune"],
                    commune_b=row.commune,
                    postcode_a=other.values["postal_code"],
                    postcode_b=row.postal_code,
                    birth_a=other.values["birth_year"],
                    birth_b=row.birth_year,
                )
                if score:
                    found.append((other, score))
            for pk, first_name, last_name, postcode, birth in self.likely_base.get(key, ()):
                score = likely_score(
                    first_a=self.key(first_name),
                    first_b=first_key,
                    last_a=self.key(last_name),
                    last_b=last_key,
                    commune_a=key[0],
                    commune_b=row.commune,
                    postcode_a=postcode,
                    postcode_b=row.postal_code,
                    birth_a=birth,
                    birth_b=row.birth_year,
                )
                if score:
                    found.append((pk, score))
        slot = self._new_slot(row, first_key, last_key)
        if not found:
            return "created"
        found.sort(key=lambda item: -item[1].points)
        for other, score in found[:MAX_LIKELY]:
            self.candidates.append((slot, other, score))
        return "review"

    def _new_slot(self, row: Row, first_key: str, last_key: str) -> Slot:
        emails = list(row.emails)
        # The row's contacts are its e-mails, then its phones in E.164.
        phones = row.contacts[len(emails) :] if row.phones else []
        tag_keys: set[str] = set()
        tag_names: list[str] = []
        if row.tags or self.batch_tags:
            # A file holds a few distinct tag cells: each is sorted out once.
            tags = self.new_tags.get(row.tags)
            if tags is None:
                keys: set[str] = set()
                names = []
                for name in (*row.tags, *self.batch_tags):
                    if name.lower() not in keys:
                        keys.add(name.lower())
                        names.append(name)
                tags = self.new_tags[row.tags] = (keys, names)
            tag_keys, tag_names = set(tags[0]), list(tags[1])
        consents = (
            {channel: state == GRANTED for channel, state in row.consents.items()}
            if row.consents
            else {}
        )
        slot = Slot.created(row, emails, phones, tag_keys, tag_names, consents)
        self.new_slots.append(slot)
        index = self.index
        for value in row.contacts:
            index[value].append(slot)
        # Later rows of this chunk compare with it, as later chunks will through the base.
        if row.likely is not None:
            self.likely_new[row.likely].append(slot)
        return slot

    def _apply(self, slot: Slot, row: Row) -> None:  # noqa: C901 - the rules, in order
        values, overwrite = slot.values, self.overwrite
        for name in SCALARS:
            new = getattr(row, name)
            if new and values[name] != new and (overwrite or not values[name]):
                values[name] = new
        if row.address_line or row.commune:
            if overwrite or not any(values[name] for name in ADDRESS):
                for name in ADDRESS:
                    values[name] = getattr(row, name) or ("" if name != "commune" else None)
        if row.status:
            if overwrite or STATUS_RANK[row.status] > STATUS_RANK[values["status"]]:
                values["status"] = row.status
        for email in row.emails:
            if email in slot.emails:
                continue
            slot.emails.append(email)
            if not values["email"]:
                values["email"] = email
            else:
                slot.added_emails.append(email)
        for phone in row.phones:
            if phone.e164 in slot.phones:
                continue
            slot.phones.append(phone.e164)
            if not values["phone"]:
                values["phone"] = phone.e164
            else:
                slot.added_phones.append(phone.e164)
        for name in (*row.tags, *self.batch_tags):
            if name.lower() not in slot.tags:
                slot.tags.add(name.lower())
                slot.added_tags.append(name)
        for channel, state in row.consents.items():
            current = slot.consent_changes.get(channel)
            if current is None and channel in slot.consents:
                current = slot.consents[channel][1]
            if state == WITHDRAWN:
                if current is not False:
                    slot.consent_changes[channel] = False
            elif current is None:
                slot.consent_changes[channel] = True
            elif current is False:
                row.warnings.append(self.run.normalizer.messages.withdrawal_kept)
        if slot.new:
            slot.first_key, slot.last_key = (
                self.key(values["first_name"]),
                self.key(values["last_name"]),
            )
        self._register(slot)

    # --- writing --------------------------------------------------------------------------

    def write(self) -> None:
        """Write the chunk: new people, changes, addresses, tags, consents, timeline."""
        db_now = connection.ops.adapt_datetimefield_value(timezone.now())
        created = self._insert_people(db_now)
        changed = [slot for slot in self.slots if self._changed(slot)]
        self._update_people(changed, db_now)
        adapt_json = connection.ops.adapt_json_value
        run = self.run
        events = [
            (
                slot.id,
                EventKind.IMPORTED,
                db_now,
                run.actor_id,
                run.actor_label,
                adapt_json(self._event_data(slot), None),
            )
            for slot in changed
        ]
        self._write_links([*self.new_slots, *changed], events, db_now)
        # The new people's creation events: one statement per distinct content (which
        # consents they came with), the ids expanded by the database.
        for data, ids in created:
            sql.insert_for_ids(
                TimelineEvent,
                EVENT_INSERT,
                ids,
                (EventKind.IMPORTED, db_now, run.actor_id, run.actor_label, data),
            )
        sql.insert(TimelineEvent, EVENT_INSERT, events)
        self._write_candidates()

    def _insert_people(self, db_now: Any) -> list[tuple[Any, list[int]]]:
        """Insert the new people; return their creation events' contents, each with the
        ids of the people it belongs to."""
        run = self.run
        origin = run.batch.origin
        ids = sql.reserve_ids(Person, len(self.new_slots))
        people = []
        # The creation event says which consents the person came with: a few distinct
        # values in a whole file.
        by_consents: dict[tuple[tuple[str, bool], ...], list[int]] = defaultdict(list)
        plain = by_consents[()]
        for slot, pk in zip(self.new_slots, ids, strict=True):
            slot.id = pk
            contact = None
            if slot.consent_changes:
                changes = slot.consent_changes
                by_consents[tuple(sorted(changes.items()))].append(pk)
                if any(changes.values()):
                    contact = db_now
            else:
                plain.append(pk)
            values = slot._values
            if values is None:
                # Untouched since its row: the columns the reader process prepared.
                people.append((pk, *slot.row.person, origin, db_now, db_now, contact))  # type: ignore[union-attr]
                continue
            first, last = slot.first_key, slot.last_key
            people.append(
                (
                    pk,
                    values["civility"],
                    values["first_name"],
                    values["last_name"],
                    f"{last} {first}".strip(),
                    f"{first} {last}".strip(),
                    values["email"],
                    values["phone"],
                    values["address_line"],
                    values["address_extra"],
                    values["postal_code"],
                    values["commune"],
                    values["birth_year"],
                    values["status"],
                    origin,
                    db_now,
                    db_now,
                    contact,
                )
            )
        sql.insert(Person, PERSON_INSERT, people)
        adapt_json = connection.ops.adapt_json_value
        created = []
        for consent_key, group in by_consents.items():
            if not group:
                continue
            content: dict[str, Any] = {"batch": run.batch.pk, "origin": origin}
            if consent_key:
                content["consents"] = dict(consent_key)
            created.append((adapt_json(content, None), group))
        return created

    def _write_links(self, slots: list[Slot], events: list[tuple[Any, ...]], db_now: Any) -> None:
        """Other e-mails and phones, tags and consents of ``slots``; consent events of the
        people who existed (a new person's are in its creation event).

        Tags and new consents are grouped by value (a handful of distinct ones in a file)
        and written one statement per group, the database expanding the ids.
        """
        run = self.run
        adapt_json = connection.ops.adapt_json_value
        emails, phones, consent_updates = [], [], []
        tags: dict[int, list[int]] = defaultdict(list)
        consents: dict[tuple[str, bool], list[int]] = defaultdict(list)
        tag_ids: dict[str, int] = {}
        for slot in slots:
            pk = slot.id
            if slot.added_emails:
                emails.extend((pk, address) for address in slot.added_emails)
            if slot.added_phones:
                phones.extend((pk, number) for number in slot.added_phones)
            for name in slot.added_tags:
                tag = tag_ids.get(name)
                if tag is None:
                    tag = tag_ids[name] = run.tag_id(name)
                tags[tag].append(pk)  # type: ignore[arg-type]
            if not slot.consent_changes:
                continue
            for channel, granted in slot.consent_changes.items():
                previous = slot.consents.get(channel)
                if previous is None:
                    consents[(channel, granted)].append(pk)  # type: ignore[arg-type]
                else:
                    proof = self._proof(channel)
                    consent_updates.append((granted, db_now, run.source, proof, previous[0]))
                if slot.new:
                    continue
                data = {
                    "channel": channel,
                    "granted": granted,
                    "source": run.source,
                    "proof": self._proof(channel),
                    "previous": None if previous is None else _previous_consent(previous),
                }
                event = (slot.id, EventKind.CONSENT, db_now, run.actor_id, run.actor_label)
                events.append((*event, adapt_json(data, None)))
        sql.insert(PersonEmail, ("person", "address"), emails, ignore_conflicts=True)
        sql.insert(PersonPhone, ("person", "number"), phones, ignore_conflicts=True)
        through = Person.tags.through
        for tag, ids in tags.items():
            sql.insert_for_ids(through, ("person", "tag"), ids, (tag,), ignore_conflicts=True)
        consent_names = ("person", "channel", "granted", "at", "source", "proof")
        for (channel, granted), ids in consents.items():
            constants = (channel, granted, db_now, run.source, self._proof(channel))
            sql.insert_for_ids(Consent, consent_names, ids, constants)
        sql.update(Consent, ("granted", "at", "source", "proof"), consent_updates)

    def _proof(self, channel: str) -> str:
        run = self.run
        if channel in run.statements:
            return run.statements[channel]
        proof = run.column_proofs.get(channel)
        if proof is None:
            proof = run.column_proofs[channel] = _("Colonne « %(column)s » du fichier %(file)s") % {
                "column": run.consent_columns.get(channel, ""),
                "file": run.batch.original_name,
            }
        return proof

    @staticmethod
    def _changed(slot: Slot) -> bool:
        return bool(
            slot.values != slot.before
            or slot.added_emails
            or slot.added_phones
            or slot.added_tags
            or slot.consent_changes
        )

    def _event_data(self, slot: Slot) -> dict[str, Any]:
        changes = {
            name: [slot.before[name], value]
            for name, value in slot.values.items()
            if value != slot.before[name]
        }
        data: dict[str, Any] = {"batch": self.run.batch.pk, "origin": self.run.batch.origin}
        if changes:
            data["changes"] = changes
        added = {
            "emails": slot.added_emails,
            "phones": slot.added_phones,
            "tags": slot.added_tags,
        }
        added = {name: values for name, values in added.items() if values}
        if added:
            data["added"] = added
        return data

    def _update_people(self, slots: list[Slot], db_now: Any) -> None:
        groups: dict[tuple[str, ...], list[list[Any]]] = defaultdict(list)
        for slot in slots:
            names = tuple(name for name in slot.values if slot.values[name] != slot.before[name])
            values = [slot.values[name] for name in names]
            if "first_name" in names or "last_name" in names:
                first, last = (
                    self.key(slot.values["first_name"]),
                    self.key(slot.values["last_name"]),
                )
                names += ("search_name", "search_name_rev")
                values += [f"{last} {first}".strip(), f"{first} {last}".strip()]
            names += ("updated_at",)
            values.append(db_now)
            if any(slot.consent_changes.values()):
                names += ("last_contact_at",)
                values.append(db_now)
            groups[names].append([*values, slot.id])
        for names, rows in groups.items():
            sql.update(Person, names, rows)

    def _write_candidates(self) -> None:
        if not self.candidates:
            return
        batch_id = self.run.batch.pk
        pairs: dict[tuple[int, int], DuplicateCandidate] = {}
        for slot, other, score in self.candidates:
            other_id = other if isinstance(other, int) else other.id
            a, b = sorted((slot.id, other_id))  # type: ignore[type-var]
            if a == b or (a, b) in pairs:
                continue
            pairs[(a, b)] = DuplicateCandidate(
                person_a_id=a,
                person_b_id=b,
                score=score.value,
                reasons=score.parts,
                batch_id=batch_id,
            )
        DuplicateCandidate.objects.bulk_create(pairs.values(), ignore_conflicts=True)
