"""Postcodes and town names as people write them, matched against the official ones.

Pure functions, no database: ``CommuneQuerySet.for_postcode`` feeds them the few communes a
postcode serves. Addresses come from forms, spreadsheets and old files, so the matching
forgives what those do to names: case, accents, hyphens, "ST" for "Saint", a trailing
"CEDEX 9", a typo, a postcode read as a number ("4000" for "04000").
"""

import re
from collections.abc import Iterable, Mapping
from difflib import SequenceMatcher

from campagne.lib.text import search_key

# La Poste and many files abbreviate these; the COG always spells them out.
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
_CEDEX = re.compile(r"\s*\bcedex(\s+\d+)?$")
# Below this, a prefix ("sa") says too little to pick a commune.
_MIN_PREFIX = 3
# difflib ratio above which two names are taken for a typo of one another
# ("dignes les bains" / "digne les bains" is 0.97; "gap" / "gex" is 0.67).
_FUZZY_RATIO = 0.85


def normalize_postcode(raw: object) -> str | None:
    """Five digits, or None: ``"4000"`` and ``4000.0`` (a spreadsheet's number) → ``"04000"``."""
    text = str(raw or "").strip().replace(" ", "")
    if text.endswith(".0"):
        text = text[:-2]
    if not text.isascii() or not text.isdigit():
        return None
    if len(text) == 4:
        # Read as a number somewhere, the département's leading zero went away.
        text = "0" + text
    return text if len(text) == 5 else None


def departements_for_postcode(postcode: str) -> list[str]:
    """The département codes a (normalized) postcode can belong to, from its first digits."""
    if postcode.startswith("20"):
        return ["2A", "2B"]
    if postcode.startswith("97"):
        return [postcode[:3]]
    if postcode.startswith("98"):
        return []  # Monaco and the overseas collectivities: not in the COG's départements.
    return [postcode[:2]]


def place_key(text: str) -> str:
    """A town name folded for comparison: ``"ST-ETIENNE CEDEX 2"`` → ``"saint etienne"``."""
    key = _CEDEX.sub("", search_key(text or ""))
    return " ".join(_ABBREVIATIONS.get(word, word) for word in key.split())


def match_places(town: str, candidates: Mapping[str, Iterable[str]]) -> list[str]:
    """The keys of ``candidates`` (commune code → its names) whose names fit ``town``.

    Tries exact names first, then a name starting with what was typed (or the reverse:
    "Digne" for "Digne-les-Bains", "Marseille 11" for "Marseille"), then typos; the first
    rule that fits any candidate decides, so an exact name is never drowned by near ones.
    """
    key = place_key(town)
    if not key:
        return list(candidates)
    compact = key.replace(" ", "")
    folded = {
        code: {place_key(name).replace(" ", "") for name in names} - {""}
        for code, names in candidates.items()
    }
    rules = (
        lambda name: name == compact,
        lambda name: (
            min(len(name), len(compact)) >= _MIN_PREFIX
            and (name.startswith(compact) or compact.startswith(name))
        ),
        lambda name: SequenceMatcher(None, name, compact).ratio() >= _FUZZY_RATIO,
    )
    for fits in rules:
        matched = [code for code, names in folded.items() if any(fits(n) for n in names)]
        if matched:
            return matched
    return []
