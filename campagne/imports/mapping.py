"""Which column of a file holds what: guessed from its header, corrected by the user.

Headers are compared folded (no accents, case or punctuation: "Adresse électronique",
"ADRESSE-ELECTRONIQUE" and "adresse electronique" are one), first against known French
and English names, then by the words they contain, then, for a column whose name says
nothing, by what its first values look like (e-mail addresses, phone numbers, postcodes).

A mapping is a list with one field per column ("" for a column that is ignored). The
command line takes it as a JSON file (``--mapping``), keyed by header:

    {"columns": {"Prénom": "first_name", "Tél. portable": "phone", "Notes": ""},
     "consents": {"email": {"mode": "statement", "proof": "Formulaire du 12 mars, case cochée"}},
     "overwrite": false, "tags": ["pétition 2024"]}

Columns absent from ``columns`` keep their guessed field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext_lazy as _

from campagne.lib.text import search_key
from campagne.people.models import Channel

# field → (label, several columns may hold it)
FIELDS: dict[str, tuple[Any, bool]] = {
    "civility": (_("Civilité"), False),
    "first_name": (_("Prénom"), False),
    "last_name": (_("Nom"), False),
    "email": (_("E-mail"), True),
    "phone": (_("Téléphone"), True),
    "address_line": (_("Adresse"), False),
    "address_extra": (_("Complément d'adresse"), False),
    "postal_code": (_("Code postal"), False),
    "town": (_("Ville"), False),
    "insee": (_("Code INSEE"), False),
    "birth": (_("Date ou année de naissance"), False),
    "tags": (_("Étiquettes"), True),
    "status": (_("Statut"), False),
    "consent_email": (_("Consentement e-mail"), False),
    "consent_sms": (_("Consentement SMS"), False),
    "consent_phone": (_("Consentement téléphone"), False),
    "consent_door": (_("Consentement porte-à-porte"), False),
}
CONSENT_FIELDS = {f"consent_{channel}": channel for channel in Channel.values}
CONTACT_FIELDS = ("email", "phone", "address_line")

# Folded header → field. Consent headers first: "accepte les e-mails" is not an e-mail.
_EXACT: dict[str, str] = {}
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "civility": ("civilite", "civ", "titre", "title", "genre", "sexe", "gender", "salutation"),
    "first_name": ("prenom", "prenoms", "first name", "firstname", "given name", "forename"),
    "last_name": (
        "nom",
        "nom de famille",
        "nom d usage",
        "nom de naissance",
        "last name",
        "lastname",
        "surname",
        "family name",
        "name",
    ),
    "email": (
        "courriel",
        "e mail",
        "email",
        "mail",
        "mel",
        "adresse electronique",
        "adresse mail",
        "adresse e mail",
        "adresse email",
        "adresse courriel",
        "email address",
        "e mail address",
    ),
    "phone": (
        "telephone",
        "tel",
        "portable",
        "mobile",
        "gsm",
        "fixe",
        "phone",
        "phone number",
        "mobile phone",
        "cell",
        "cellphone",
        "landline",
        "numero de telephone",
        "tel portable",
        "tel fixe",
        "tel mobile",
        "telephone portable",
        "telephone mobile",
        "telephone fixe",
    ),
    "address_line": (
        "adresse",
        "rue",
        "voie",
        "adresse postale",
        "adresse 1",
        "adresse ligne 1",
        "address",
        "street",
        "address 1",
        "address line 1",
        "numero et rue",
    ),
    "address_extra": (
        "complement",
        "complement d adresse",
        "adresse 2",
        "adresse ligne 2",
        "address 2",
        "address line 2",
        "batiment",
        "lieu dit",
    ),
    "postal_code": (
        "code postal",
        "cp",
        "codepostal",
        "postcode",
        "postal code",
        "zip",
        "zip code",
    ),
    "town": ("ville", "commune", "localite", "city", "town", "nom de la commune", "municipality"),
    "insee": ("code insee", "insee", "code commune", "commune insee", "cog", "code officiel"),
    "birth": (
        "date de naissance",
        "naissance",
        "ne le",
        "ne e le",
        "nee le",
        "annee",
        "annee de naissance",
        "date of birth",
        "birth date",
        "birthdate",
        "dob",
        "year of birth",
        "birth year",
    ),
    "tags": ("tags", "tag", "etiquettes", "etiquette", "mots cles", "labels", "groupes"),
    "status": ("statut", "status", "engagement"),
}
for _field, _names in _SYNONYMS.items():
    for _name in _names:
        _EXACT[_name] = _field

# Words a header may contain, tried in order when no exact name fits.
_CONSENT_WORDS = (
    "consent",
    "optin",
    "opt in",
    "accepte",
    "accord",
    "abonne",
    "inscrit",
    "rgpd",
    "newsletter",
)
_CONTAINS: tuple[tuple[str, str], ...] = (
    ("insee", "insee"),
    ("postal", "postal_code"),
    ("prenom", "first_name"),
    ("first", "first_name"),
    ("naissance", "birth"),
    ("birth", "birth"),
    ("mail", "email"),
    ("courriel", "email"),
    ("portable", "phone"),
    ("mobile", "phone"),
    ("telephone", "phone"),
    ("phone", "phone"),
    ("complement", "address_extra"),
    ("adresse", "address_line"),
    ("address", "address_line"),
    ("ville", "town"),
    ("commune", "town"),
    ("civilite", "civility"),
    ("etiquette", "tags"),
    ("nom", "last_name"),
)
_CONSENT_CHANNEL_WORDS = (
    ("sms", "consent_sms"),
    ("mail", "consent_email"),
    ("courriel", "consent_email"),
    ("newsletter", "consent_email"),
    ("tel", "consent_phone"),
    ("appel", "consent_phone"),
    ("phone", "consent_phone"),
    ("porte", "consent_door"),
)
_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.IGNORECASE)
_PHONE_SHAPE = re.compile(r"[+0-9][0-9 .\-()]{7,18}")
_POSTCODE_SHAPE = re.compile(r"\d{4,5}")


def guess_field(header: str) -> str:
    """The field a header names, or "" when it names nothing we know."""
    key = search_key(header)
    if not key:
        return ""
    compact = key.replace(" ", "")
    if any(word in key or word.replace(" ", "") in compact for word in _CONSENT_WORDS):
        for word, name in _CONSENT_CHANNEL_WORDS:
            if word in key:
                return name
        return ""
    if key in _EXACT:
        return _EXACT[key]
    if compact in _EXACT:
        return _EXACT[compact]
    for word, name in _CONTAINS:
        if word in key:
            return name
    return ""


def _guess_from_values(values: Sequence[str]) -> str:
    filled = [value for value in values if value]
    if len(filled) < 3:
        return ""

    def share(pattern: re.Pattern[str]) -> float:
        return sum(1 for value in filled if pattern.fullmatch(value)) / len(filled)

    if share(_EMAIL_SHAPE) >= 0.8:
        return "email"
    if share(_POSTCODE_SHAPE) >= 0.9:
        return "postal_code"
    if share(_PHONE_SHAPE) >= 0.8:
        return "phone"
    return ""


def guess_mapping(headers: Sequence[str], sample: Sequence[Sequence[str]] = ()) -> list[str]:
    """One field per column. A single-column field goes to its first column only."""
    fields = [guess_field(header) for header in headers]
    for index, name in enumerate(fields):
        if not name:
            fields[index] = _guess_from_values([row[index] for row in sample if index < len(row)])
    seen: set[str] = set()
    for index, name in enumerate(fields):
        if name and not FIELDS[name][1]:
            if name in seen:
                # "Adresse" then "Adresse 2": the second one is the complement.
                fields[index] = "address_extra" if name == "address_line" else ""
                if fields[index] in seen:
                    fields[index] = ""
            seen.add(fields[index])
    return fields


class MappingError(ValueError):
    """A mapping that cannot be used; the message says why, for the user."""


@dataclass
class ImportOptions:
    """What the user decided about a file, besides its columns."""

    fields: list[str]
    consents: dict[str, dict[str, str]] = field(default_factory=dict)
    overwrite: bool = False
    tags: list[str] = field(default_factory=list)


def validate_fields(fields: Sequence[str]) -> None:
    from django.utils.translation import gettext

    unknown = sorted({name for name in fields if name and name not in FIELDS})
    if unknown:
        raise MappingError(gettext("Champs inconnus : %(names)s") % {"names": ", ".join(unknown)})
    for name, (label, multiple) in FIELDS.items():
        if not multiple and list(fields).count(name) > 1:
            raise MappingError(
                gettext("Une seule colonne peut être « %(label)s ».") % {"label": label}
            )
    if not any(name in CONTACT_FIELDS for name in fields):
        raise MappingError(
            gettext(
                "Aucune colonne d'e-mail, de téléphone ni d'adresse : ce fichier ne permet de "
                "joindre personne."
            )
        )


def load_mapping_file(
    path: str | Path, headers: Sequence[str], guessed: list[str]
) -> ImportOptions:
    """Read a ``--mapping`` JSON file over the guessed mapping."""
    from django.utils.translation import gettext

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MappingError(
            gettext("Fichier de correspondance illisible : %(error)s") % {"error": exc}
        ) from None
    if not isinstance(data, dict):
        raise MappingError(gettext("Le fichier de correspondance doit être un objet JSON."))
    fields = list(guessed)
    columns = data.get("columns", {})
    by_key = {search_key(header): index for index, header in enumerate(headers)}
    for header, name in columns.items():
        index = by_key.get(search_key(header))
        if index is None:
            raise MappingError(
                gettext("Colonne absente du fichier : %(header)s") % {"header": header}
            )
        fields[index] = name or ""
    validate_fields(fields)
    consents = data.get("consents", {})
    if not isinstance(consents, dict) or any(ch not in Channel.values for ch in consents):
        raise MappingError(gettext("Déclarations de consentement invalides."))
    return ImportOptions(
        fields=fields,
        consents={ch: dict(value) for ch, value in consents.items()},
        overwrite=bool(data.get("overwrite", False)),
        tags=[str(tag) for tag in data.get("tags", [])],
    )
