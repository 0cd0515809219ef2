"""One file row → one clean row, or the reasons it cannot be imported.

Built for 700,000 rows: each value is normalised once per *distinct* text (first names,
towns, dates, tags repeat endlessly) through plain dict caches, and the common shapes of
e-mails and phones take a fast path (``campagne.lib.emails``, ``campagne.lib.fast_phones``)
that gives the libraries' own answers. Nothing here writes to the database; the commune
resolver reads La Poste's postcode table once per import.

Rejection reasons make a row unimportable (an invalid e-mail, an unknown commune…);
warnings are imported but counted on the batch (a suspicious e-mail domain, an unreadable
date of birth). An invalid e-mail rejects the row rather than being dropped: the user
fixes it in the rejected rows' CSV and imports that again.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from difflib import SequenceMatcher
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from campagne.lib.emails import (
    clean_address_text,
    is_composite,
    is_plain_valid,
    normalize_email,
    suspicious_domain,
)
from campagne.lib.fast_phones import MOBILE, Phone, PhoneNormalizer
from campagne.lib.text import search_key
from campagne.people.models import Civility, Status
from campagne.territory.models import Commune, PostalCode
from campagne.territory.places import (  # the private constants keep the rules in step
    _FUZZY_RATIO,
    _MIN_PREFIX,
    departements_for_postcode,
    normalize_postcode,
    place_key,
)

GRANTED = "granted"
WITHDRAWN = "withdrawn"
# A plain string: rows cross a pipe, and an enum member pickles as a class reference.
_CONTACT = str(Status.CONTACT.value)

_PARTICLES = {"de", "d'", "du", "des"}
_SPACES = re.compile(r"\s+")
_APOSTROPHES = str.maketrans({"’": "'", "`": "'", "´": "'"})
_DMY = re.compile(r"(\d{1,2})[/.\- ](\d{1,2})[/.\- ](\d{2}|\d{4})")
_YMD = re.compile(r"(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})(?:[T ].*)?")
_YEAR = re.compile(r"(?:\D|^)((?:19|20)\d\d)(?:\D|$)")
_MONTHS = (
    "janv",
    "fevr",
    "mars",
    "avr",
    "mai",
    "juin",
    "juil",
    "aout",
    "sept",
    "oct",
    "nov",
    "dec",
)
_CIVILITIES = {
    **dict.fromkeys(("m", "mr", "monsieur", "mrs", "h", "homme", "masculin", "male"), Civility.M),
    **dict.fromkeys(
        ("mme", "madame", "mlle", "mademoiselle", "f", "femme", "feminin", "ms", "miss", "female"),
        Civility.MME,
    ),
}
_STATUSES = {
    **dict.fromkeys(("contact", "prospect"), Status.CONTACT),
    **dict.fromkeys(("sympathisant", "sympathisante", "soutien"), Status.SYMPATHISANT),
    **dict.fromkeys(("militant", "militante", "benevole", "volunteer"), Status.MILITANT),
    **dict.fromkeys(("adherent", "adherente", "membre", "member"), Status.ADHERENT),
}
_CONSENT_VALUES = {
    **dict.fromkeys(
        ("oui", "o", "yes", "y", "1", "x", "vrai", "true", "ok", "accepte", "optin", "opt in"),
        GRANTED,
    ),
    **dict.fromkeys(("non", "n", "no", "0", "faux", "false", "-"), None),
    **dict.fromkeys(
        (
            "desinscrit",
            "desinscrite",
            "desabonne",
            "desabonnee",
            "retire",
            "retrait",
            "opt out",
            "optout",
            "unsubscribed",
            "stop",
            "refus",
            "refuse",
        ),
        WITHDRAWN,
    ),
}
_TAG_SPLIT = re.compile(r"[;,|]")


# --- single values ------------------------------------------------------------------------


def _capitalize(word: str) -> str:
    """``"jean-pierre"`` → ``"Jean-Pierre"``; ``"o'neil"`` → ``"O'Neil"``; ``"d'arc"`` kept."""
    parts = []
    for part in word.split("-"):
        if "'" in part:
            head, _sep, tail = part.partition("'")
            head = head if head == "d" else head.capitalize()
            parts.append(f"{head}'{tail.capitalize()}")
        else:
            parts.append(part.capitalize())
    return "-".join(parts)


def format_name(raw: str) -> str:
    """A name in the usual case: ``"JEAN-PIERRE"`` → ``"Jean-Pierre"``, ``"DE GAULLE"`` →
    ``"de Gaulle"``. A name already in mixed case was written with care and is kept."""
    text = _SPACES.sub(" ", raw.translate(_APOSTROPHES)).strip()
    if not text or not (text.isupper() or text.islower()):
        return text
    words = text.lower().split(" ")
    if len(words) == 1:
        return (
            _capitalize(words[0])
            if not words[0].startswith("d'")
            else "d'" + _capitalize(words[0][2:])
        )
    result = []
    for word in words:
        if word in _PARTICLES:
            result.append(word)
        elif word.startswith("d'") and len(word) > 2:
            result.append("d'" + _capitalize(word[2:]))
        else:
            result.append(_capitalize(word))
    return " ".join(result)


def parse_birth_year(raw: str, this_year: int) -> tuple[int | None, bool]:
    """The year of a date of birth written the French way; ``(None, False)`` if unreadable.

    ``12/03/1975``, ``12-03-75``, ``12.03.1975``, ``1975-03-12``, ``12 mars 1975``,
    ``1975``, and a spreadsheet's date serial (``27465``) all give 1975.
    """
    text = raw.strip().lower()
    if not text:
        return None, True
    year: int | None = None
    if match := _DMY.fullmatch(text):
        day, month, year = int(match[1]), int(match[2]), int(match[3])
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return None, False
        if len(match[3]) == 2:
            year += 1900 if year > this_year % 100 else 2000
    elif match := _YMD.fullmatch(text):
        year, month, day = int(match[1]), int(match[2]), int(match[3])
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return None, False
    elif text.isdigit() and len(text) == 4:
        year = int(text)
    elif text.isdigit() and len(text) == 5:
        # Excel's date serial: days since 1899-12-30.
        year = (date(1899, 12, 30) + timedelta(days=int(text))).year
    elif any(month in search_key(text) for month in _MONTHS) and (match := _YEAR.search(text)):
        year = int(match[1])
    if year is None or not 1900 <= year <= this_year:
        return None, False
    return year, True


def parse_tags(raw: str) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for part in _TAG_SPLIT.split(raw):
        name = " ".join(part.split())[:60]
        if name and name.lower() not in seen:
            seen[name.lower()] = name
    return tuple(seen.values())


def parse_insee(raw: str) -> str:
    code = raw.strip().upper()
    if code.endswith(".0"):
        code = code[:-2]
    return "0" + code if len(code) == 4 and code.isdigit() else code


# --- communes -----------------------------------------------------------------------------


class CommuneResolver:
    """Postcode + town → INSEE code, as ``Commune.objects.resolve`` decides, in memory.

    La Poste's table (40,000 rows) and the communes' folded names are read once; then a
    postcode it holds is resolved by the same ``match_places`` rule, and one it does not
    hold (a CEDEX code, a typo) by the town's exact folded name within the postcode's
    départements, as ``resolve`` does, without a query per row. Answers are cached by the
    text as written and by the folded town, so each distinct pair is matched once.
    """

    def __init__(self) -> None:
        self._served: dict[str, dict[str, set[str]]] | None = None
        self._named: dict[str, list[tuple[str, str]]] = {}
        self._codes: set[str] = set()
        self._raw: dict[tuple[str, str], tuple[str | None, str]] = {}
        self._folded: dict[tuple[str, str], tuple[str | None, str]] = {}
        self._town_keys: dict[str, str] = {}
        self._folded_served: dict[str, dict[str, set[str]]] = {}

    def _load(self) -> dict[str, dict[str, set[str]]]:
        if self._served is None:
            served: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
            rows = PostalCode.objects.values_list(
                "code", "commune_id", "commune__name", "search_names"
            )
            for postcode, commune, commune_name, search_names in rows.iterator(chunk_size=5000):
                served[postcode][commune].update([commune_name, *search_names.split("|")])
            named: dict[str, list[tuple[str, str]]] = defaultdict(list)
            communes = Commune.objects.values_list("code", "search_name", "departement_id")
            for code, search_name, departement in communes.iterator(chunk_size=5000):
                named[search_name].append((code, departement))
                self._codes.add(code)
            self._served, self._named = served, named
        return self._served

    def _folded_names(self, postcode: str) -> dict[str, set[str]] | None:
        """The names of the communes ``postcode`` serves, folded as match_places folds
        them: once per postcode rather than once per row."""
        found = self._folded_served.get(postcode)
        if found is None:
            served = self._load().get(postcode)
            if served is None:
                return None
            found = self._folded_served[postcode] = {
                code: {place_key(name).replace(" ", "") for name in names} - {""}
                for code, names in served.items()
            }
        return found

    def load(self) -> None:
        """Read the tables now (before a fork, so that the reader process needs no query)."""
        self._load()

    def commune_exists(self, code: str) -> bool:
        self._load()
        return code in self._codes

    def resolve(self, postcode: str, town: str) -> tuple[str | None, str]:
        """``(code, "")``, or ``(None, problem)`` with problem in ``invalid_postcode``,
        ``ambiguous``, ``unknown``."""
        found = self._raw.get((postcode, town))
        if found is None:
            normalized = normalize_postcode(postcode) if postcode else None
            if postcode and normalized is None:
                found = (None, "invalid_postcode")
            else:
                key = self._town_keys.get(town)
                if key is None:
                    key = self._town_keys[town] = place_key(town)
                folded = (normalized or "", key)
                found = self._folded.get(folded)
                if found is None:
                    found = self._folded[folded] = self._resolve(normalized, key)
            self._raw[(postcode, town)] = found
        return found

    def _resolve(self, postcode: str | None, key: str) -> tuple[str | None, str]:
        served = self._folded_names(postcode or "")
        if served is not None:
            codes = match_folded_places(key, served) if key else list(served)
            if len(codes) == 1:
                return codes[0], ""
            return None, ("ambiguous" if codes else "unknown")
        # As CommuneQuerySet.resolve: the exact folded name, within the postcode's
        # départements when there is a postcode.
        named = self._named.get(key, []) if key else []
        if postcode:
            departements = set(departements_for_postcode(postcode))
            named = [(code, dep) for code, dep in named if dep in departements]
        if len(named) == 1:
            return named[0][0], ""
        return None, ("ambiguous" if named else "unknown")


def match_folded_places(key: str, folded: dict[str, set[str]]) -> list[str]:
    """``territory.places.match_places`` on names already folded by ``place_key`` with
    spaces removed, and a town already folded: the same three rules, in the same order
    (tests/imports/test_normalize.py checks both agree on every postcode of a département).
    """
    compact = key.replace(" ", "")
    matched = [code for code, names in folded.items() if compact in names]
    if matched:
        return matched
    size = len(compact)
    if size >= _MIN_PREFIX:
        matched = [
            code
            for code, names in folded.items()
            if any(
                len(name) >= _MIN_PREFIX and (name.startswith(compact) or compact.startswith(name))
                for name in names
            )
        ]
        if matched:
            return matched
    return [
        code
        for code, names in folded.items()
        if any(SequenceMatcher(None, name, compact).ratio() >= _FUZZY_RATIO for name in names)
    ]


# --- rows ---------------------------------------------------------------------------------


class Row:
    """A normalised row. ``errors`` non-empty: it will be rejected.

    A valid row also carries what matching and writing need, computed by the reader
    process (``RowNormalizer._matching_keys``): ``first_key`` and ``last_key`` (folded
    names), ``likely`` (the (commune, "last f") key of the likely-duplicate search, or
    None) and ``person`` (the new person's columns, ``chunk.PERSON_INSERT`` from civility
    to status).
    """

    __slots__ = (
        "line",
        "cells",
        "civility",
        "first_name",
        "last_name",
        "emails",
        "phones",
        "address_line",
        "address_extra",
        "postal_code",
        "commune",
        "birth_year",
        "tags",
        "status",
        "consents",
        "errors",
        "warnings",
        "contacts",
        "first_key",
        "last_key",
        "likely",
        "person",
    )

    def __init__(self, line: int, cells: list[str]) -> None:
        # The normaliser sets every other attribute; lists are made only when needed.
        self.line = line
        self.cells = cells
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def values(self) -> list[str]:
        """Its e-mails and E.164 phones: what exact matching compares."""
        return self.contacts

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Rows cross a pipe from the reader process (prefetch.py): a plain tuple pickles
        # several times faster than the generic __slots__ state. A valid row crosses
        # without its cells: only rejected rows keep them (an erased person's row, the one
        # rejection made after the pipe, keeps none), and they are half of the bytes.
        return _rebuild_row, (
            (
                self.line,
                self.cells if self.errors else [],
                self.civility,
                self.first_name,
                self.last_name,
                self.emails,
                self.phones,
                self.address_line,
                self.address_extra,
                self.postal_code,
                self.commune,
                self.birth_year,
                self.tags,
                self.status,
                self.consents,
                self.errors,
                self.warnings,
                self.contacts,
                self.first_key,
                self.last_key,
                self.likely,
                self.person,
            ),
        )

    def as_preview(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "civility": self.civility,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "emails": self.emails,
            "phones": [phone.e164 for phone in self.phones],
            "address_line": self.address_line,
            "postal_code": self.postal_code,
            "commune": self.commune or "",
            "birth_year": self.birth_year,
            "tags": list(self.tags),
            "status": self.status,
            "consents": self.consents,
            "errors": self.errors,
            "warnings": self.warnings,
        }


class Chunk(list[Row]):
    """A chunk's rows, with what matching looks up for its valid ones, distinct and sorted:
    ``emails``, ``phones`` (E.164) and ``likely`` keys.

    Made where the rows are normalised, in the reader process when there is one, so that
    the process holding the database only runs the queries (an index is probed fastest in
    its own order, see ``sql.select_in``).
    """

    def __init__(self, rows: list[Row]) -> None:
        super().__init__(rows)
        emails: set[str] = set()
        phones: set[str] = set()
        likely: set[tuple[str, str]] = set()
        for row in rows:
            if row.errors:
                continue
            emails.update(row.emails)
            if row.phones:
                phones.update(row.contacts[len(row.emails) :])
            if row.likely is not None:
                likely.add(row.likely)
        self.emails = sorted(emails)
        self.phones = sorted(phones)
        self.likely = sorted(likely)


def _rebuild_row(state: tuple[Any, ...]) -> Row:
    row = Row.__new__(Row)
    # One unpacking assignment rather than a setattr per slot: twice as fast.
    (
        row.line,
        row.cells,
        row.civility,
        row.first_name,
        row.last_name,
        row.emails,
        row.phones,
        row.address_line,
        row.address_extra,
        row.postal_code,
        row.commune,
        row.birth_year,
        row.tags,
        row.status,
        row.consents,
        row.errors,
        row.warnings,
        row.contacts,
        row.first_key,
        row.last_key,
        row.likely,
        row.person,
    ) = state
    return row


class Messages:
    """The user-visible reasons, translated once per import rather than once per row."""

    def __init__(self) -> None:
        self.invalid_email = _("e-mail invalide")
        self.invalid_phone = _("téléphone invalide")
        self.no_contact = _("aucun moyen de contact")
        self.invalid_postcode = _("code postal invalide")
        self.unknown_commune = _("commune inconnue")
        self.ambiguous_commune = _("commune ambiguë (précisez la ville)")
        self.unknown_insee = _("code INSEE inconnu")
        self.out_of_scope = _("commune hors périmètre")
        self.missing_commune = _("commune manquante (obligatoire dans votre périmètre)")
        self.suppressed = _("personne effacée (liste d'opposition)")
        self.too_long = _("valeur trop longue : %(field)s")
        self.suspicious_domain = _("domaine d'e-mail suspect : %(domain)s (%(suggestion)s ?)")
        self.unreadable_birth = _("date de naissance illisible")
        self.unknown_civility = _("civilité non reconnue")
        self.unknown_status = _("statut non reconnu")
        self.unreadable_consent = _("consentement illisible")
        self.withdrawal_kept = _("consentement retiré conservé (un retrait l'emporte)")
        self.field_names = {
            "first_name": _("prénom"),
            "last_name": _("nom"),
            "address_line": _("adresse"),
            "address_extra": _("complément d'adresse"),
            "email": _("e-mail"),
        }
        self.commune_problems = {
            "invalid_postcode": self.invalid_postcode,
            "ambiguous": self.ambiguous_commune,
            "unknown": self.unknown_commune,
        }


class RowNormalizer:
    """Turns the cells of a row into a ``Row`` under one mapping, with per-value caches.

    ``allowed_communes`` (None for everywhere) is the user's territory: a row outside it is
    rejected. ``statements`` are the channels for which the whole file carries consent.
    """

    def __init__(
        self,
        fields: Sequence[str],
        *,
        resolver: CommuneResolver | None = None,
        allowed_communes: set[str] | None = None,
        statements: Sequence[str] = (),
        this_year: int | None = None,
    ) -> None:
        self.fields = list(fields)
        self.resolver = resolver or CommuneResolver()
        self.allowed = allowed_communes
        self.statements = {channel: GRANTED for channel in statements}
        self.this_year = this_year or timezone.localdate().year
        self.messages = Messages()
        self.phone = PhoneNormalizer()
        self._names: dict[str, str] = {}
        self._keys: dict[str, str] = {}
        self._births: dict[str, tuple[int | None, bool]] = {}
        self._tags: dict[str, tuple[str, ...]] = {}
        self._postcodes: dict[str, str] = {}
        self._civilities: dict[str, str] = {}
        self._consent_values: dict[str, str | None] = {}
        self._domains: dict[str, str] = {}

        def columns(name: str) -> list[int]:
            return [i for i, field in enumerate(self.fields) if field == name]

        def column(name: str) -> int | None:
            found = columns(name)
            return found[0] if found else None

        self.c_civility = column("civility")
        self.c_first = column("first_name")
        self.c_last = column("last_name")
        self.c_emails = columns("email")
        self.c_phones = columns("phone")
        self.c_address = column("address_line")
        self.c_extra = column("address_extra")
        self.c_postcode = column("postal_code")
        self.c_town = column("town")
        self.c_insee = column("insee")
        self.c_birth = column("birth")
        self.c_tags = columns("tags")
        self.c_status = column("status")
        self.c_consents = [
            (i, field.removeprefix("consent_"))
            for i, field in enumerate(self.fields)
            if field.startswith("consent_")
        ]

    def name(self, raw: str) -> str:
        found = self._names.get(raw)
        if found is None:
            found = self._names[raw] = format_name(raw)
        return found

    def key(self, text: str) -> str:
        """``search_key``, cached: the people table's search columns are built from it."""
        found = self._keys.get(text)
        if found is None:
            found = self._keys[text] = search_key(text)
        return found

    def __call__(self, line: int, cells: list[str]) -> Row:  # noqa: C901 - one pass per row
        row = Row(line, cells)
        m = self.messages
        errors = row.errors
        names = self._names
        name = self.name
        first = names.get(raw := cells[self.c_first]) if self.c_first is not None else ""
        row.first_name = first if first is not None else name(raw)
        last = names.get(raw := cells[self.c_last]) if self.c_last is not None else ""
        row.last_name = last if last is not None else name(raw)
        row.civility = ""
        if self.c_civility is not None and (raw := cells[self.c_civility]):
            civility = self._civilities.get(raw)
            if civility is None:
                civility = _CIVILITIES.get(search_key(raw).replace(" ", ""), "?")
                self._civilities[raw] = civility
            if civility == "?":
                row.warnings.append(m.unknown_civility)
            else:
                row.civility = civility
        emails: list[str] = []
        for index in self.c_emails:
            if raw := cells[index]:
                self._emails(raw, emails, row)
        row.emails = emails
        phones: list[Phone] = []
        for index in self.c_phones:
            if raw := cells[index]:
                phone = self.phone(raw)
                if not phone:
                    errors.append(m.invalid_phone)
                elif phone not in phones:
                    phones.append(phone)
        if len(phones) > 1:
            # The primary phone is a mobile when there is one: SMS reach it.
            phones.sort(key=lambda phone: phone.kind != MOBILE)
        row.phones = phones
        row.contacts = [*emails, *(phone.e164 for phone in phones)] if phones else emails
        row.address_line = (
            " ".join(cells[self.c_address].split()) if self.c_address is not None else ""
        )
        row.address_extra = (
            " ".join(cells[self.c_extra].split()) if self.c_extra is not None else ""
        )
        self._commune(row, cells)
        row.birth_year = None
        if self.c_birth is not None and (raw := cells[self.c_birth]):
            found = self._births.get(raw)
            if found is None:
                found = self._births[raw] = parse_birth_year(raw, self.this_year)
            row.birth_year = found[0]
            if not found[1]:
                row.warnings.append(m.unreadable_birth)
        row.tags = ()
        for index in self.c_tags:
            if raw := cells[index]:
                tags = self._tags.get(raw)
                if tags is None:
                    tags = self._tags[raw] = parse_tags(raw)
                row.tags += tags
        row.status = ""
        if self.c_status is not None and (raw := cells[self.c_status]):
            status = _STATUSES.get(self.key(raw))
            if status is None:
                row.warnings.append(m.unknown_status)
            else:
                row.status = status
        row.consents = dict(self.statements) if self.statements else {}
        for index, channel in self.c_consents:
            if raw := cells[index]:
                value = self._consent_values.get(raw, "?")
                if value == "?":
                    value = self._consent_values[raw] = _CONSENT_VALUES.get(search_key(raw), "?")
                if value == "?":
                    row.warnings.append(m.unreadable_consent)
                elif value is not None:
                    row.consents[channel] = value
        if len(row.first_name) > 100:
            errors.append(m.too_long % {"field": m.field_names["first_name"]})
        if len(row.last_name) > 100:
            errors.append(m.too_long % {"field": m.field_names["last_name"]})
        if len(row.address_line) > 200:
            errors.append(m.too_long % {"field": m.field_names["address_line"]})
        if len(row.address_extra) > 200:
            errors.append(m.too_long % {"field": m.field_names["address_extra"]})
        if not (emails or phones or (row.address_line and row.commune)) and not errors:
            errors.append(m.no_contact)
        if errors:
            row.first_key = row.last_key = ""
            row.likely = row.person = None
        else:
            self._matching_keys(row)
        return row

    def _matching_keys(self, row: Row) -> None:
        """What the writing process would otherwise compute per row: the folded names,
        the likely-duplicate key and the new person's columns. Done here, in the reader
        process, so that the process holding the database does only database work."""
        first = self.key(row.first_name)
        last = self.key(row.last_name)
        row.first_key, row.last_key = first, last
        row.likely = (row.commune, f"{last} {first[0]}") if row.commune and first and last else None
        # ``chunk.PERSON_INSERT`` from civility to status.
        row.person = (
            row.civility,
            row.first_name,
            row.last_name,
            f"{last} {first}".strip(),
            f"{first} {last}".strip(),
            row.emails[0] if row.emails else "",
            row.phones[0].e164 if row.phones else "",
            row.address_line,
            row.address_extra,
            row.postal_code,
            row.commune,
            row.birth_year,
            row.status or _CONTACT,
        )

    def _emails(self, raw: str, emails: list[str], row: Row) -> None:
        text = raw.strip().lower()
        if is_plain_valid(text):
            found: list[str] = [text]
        elif is_composite(text):
            found = []
            for part in clean_address_text(text):
                result = normalize_email(part)
                if result.error:
                    row.errors.append(self.messages.invalid_email)
                else:
                    found.append(result.address)
        else:
            result = normalize_email(text)
            if result.error:
                row.errors.append(self.messages.invalid_email)
                return
            found = [result.address]
        for address in found:
            if address in emails:
                continue
            emails.append(address)
            domain = address[address.index("@") + 1 :]
            suggestion = self._domains.get(domain)
            if suggestion is None:
                suggestion = self._domains[domain] = suspicious_domain(domain)
            if suggestion:
                row.warnings.append(
                    self.messages.suspicious_domain % {"domain": domain, "suggestion": suggestion}
                )

    def _commune(self, row: Row, cells: list[str]) -> None:
        m = self.messages
        postcode_raw = cells[self.c_postcode] if self.c_postcode is not None else ""
        town = cells[self.c_town] if self.c_town is not None else ""
        row.postal_code = ""
        row.commune = None
        if postcode_raw:
            postcode = self._postcodes.get(postcode_raw)
            if postcode is None:
                postcode = self._postcodes[postcode_raw] = normalize_postcode(postcode_raw) or ""
            row.postal_code = postcode
        insee = parse_insee(cells[self.c_insee]) if self.c_insee is not None else ""
        if insee:
            if self.resolver.commune_exists(insee):
                row.commune = insee
            else:
                row.errors.append(m.unknown_insee)
                return
        elif postcode_raw or town:
            row.commune, problem = self.resolver.resolve(postcode_raw, town)
            if problem:
                row.errors.append(m.commune_problems[problem])
                return
        if self.allowed is not None:
            if row.commune is None:
                row.errors.append(m.missing_commune)
            elif row.commune not in self.allowed:
                row.errors.append(m.out_of_scope)
