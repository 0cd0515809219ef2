"""Normalised address keys, to match a person's typed address to a BAN/REU address offline.

``match_key(12, "bis", "Av. de la République", "04070")`` and the BAN's
``(12, "bis", "Avenue de la République", "04070")`` give the same key,
``"12|b|avenue republique|04070"``: accents, case, punctuation and the articles are
dropped, street-type abbreviations expanded (La Poste's and the AFNOR's), and the
repetition index reduced to its letter ("bis" → "b", "ter" → "t").

``parse_address_line`` splits a free-text line ("12 bis av. de la République") into
number, suffix and street, for the people side of the match.
"""

from __future__ import annotations

import re

from campagne.lib.text import search_key

STREET_ABBREVIATIONS = {
    "all": "allee",
    "av": "avenue",
    "ave": "avenue",
    "bd": "boulevard",
    "bld": "boulevard",
    "blvd": "boulevard",
    "bvd": "boulevard",
    "boul": "boulevard",
    "car": "carrefour",
    "carr": "carrefour",
    "ch": "chemin",
    "che": "chemin",
    "chem": "chemin",
    "cite": "cite",
    "crs": "cours",
    "dom": "domaine",
    "esp": "esplanade",
    "fbg": "faubourg",
    "fg": "faubourg",
    "gal": "general",
    "gen": "general",
    "ham": "hameau",
    "imp": "impasse",
    "lot": "lotissement",
    "mal": "marechal",
    "mte": "montee",
    "pass": "passage",
    "pdt": "president",
    "pl": "place",
    "pr": "professeur",
    "prom": "promenade",
    "pte": "porte",
    "qu": "quai",
    "r": "rue",
    "res": "residence",
    "rpt": "rond point",
    "rte": "route",
    "sen": "sente",
    "sent": "sentier",
    "sq": "square",
    "st": "saint",
    "ste": "sainte",
    "tra": "traverse",
    "trav": "traverse",
    "vla": "villa",
}
# Articles and prepositions that addresses drop or add at will.
_STOP_WORDS = {"de", "du", "des", "la", "le", "les", "l", "d", "a", "au", "aux", "et"}
SUFFIXES = {
    "bis": "b",
    "ter": "t",
    "quater": "q",
    "quinquies": "c",
    "quinquiès": "c",
    "sexies": "s",
}
_LINE = re.compile(
    r"^\s*(?P<number>\d{1,5})\s*(?:(?P<suffix>bis|ter|quater|quinquies|sexies|[a-qs-z])\b\.?)?"
    r"[\s,]*(?P<street>.*)$",
    re.IGNORECASE,
)


def street_key(street: str | None) -> str:
    words = search_key(street or "").split()
    expanded = (STREET_ABBREVIATIONS.get(word, word) for word in words)
    return " ".join(word for word in expanded if word not in _STOP_WORDS)


def suffix_key(suffix: str | None) -> str:
    folded = search_key(suffix or "").replace(" ", "")
    return SUFFIXES.get(folded, folded[:1])


def match_key(number: int | str | None, suffix: str | None, street: str | None, insee: str) -> str:
    """``"12|b|avenue republique|04070"``; no number gives ``"|…"`` (a street or place)."""
    digits = str(number).strip() if number is not None else ""
    digits = digits.lstrip("0") or ("0" if digits else "")
    return f"{digits}|{suffix_key(suffix)}|{street_key(street)}|{insee}"[:255]


def parse_address_line(line: str | None) -> tuple[int | None, str, str]:
    """``"12 bis av. de la République"`` → ``(12, "bis", "av. de la République")``."""
    text = (line or "").strip()
    found = _LINE.match(text)
    if not found:
        return None, "", text
    street = found.group("street").strip()
    suffix = found.group("suffix") or ""
    if suffix and not street:
        # "12 B" alone: B was the street, not a suffix.
        street, suffix = suffix, ""
    return int(found.group("number")), suffix, street
