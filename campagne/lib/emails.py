"""E-mail addresses as files carry them: normalised, validated, and suspicious domains flagged.

``normalize_email`` answers what email-validator answers (syntax only, no DNS), but takes
a fast path for the plain ASCII addresses that make up nearly every file: a regular
expression stricter than the library, so that an address it accepts is one the library
accepts too (tests/imports/test_normalize.py compares both on many shapes). Everything
else goes to email-validator.

Typos in popular domains ("gmial.com", "hotmial.fr", "wanadoo.fe") are only *flagged*:
correcting an address silently could send mail to a stranger.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from rapidfuzz.distance import DamerauLevenshtein

_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# Dot-atom local part, dotted domain with an alphabetic TLD of two letters or more.
_FAST = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[a-z]{{2,63}}")
# Special-use names are single labels ("test", "local"…): checking the TLD is enough.
_SPECIAL_TLDS = frozenset(SPECIAL_USE_DOMAIN_NAMES)
assert all("." not in name for name in _SPECIAL_TLDS)  # noqa: S101 - a library change
# Cells holding more than one address, or one wrapped in a name or "mailto:".
_COMPOSITE = re.compile(r"[\s;,<>]|mailto:")
_SEPARATORS = re.compile(r"[\s;,]+")
_ANGLE = re.compile(r"<([^<>]+)>")

# Domains most French files are full of; a domain one typo away from one of them is
# probably that one mistyped. Kept short on purpose: a false alarm is a warning to read.
POPULAR_DOMAINS = frozenset(
    {
        "gmail.com",
        "hotmail.fr",
        "hotmail.com",
        "orange.fr",
        "wanadoo.fr",
        "free.fr",
        "yahoo.fr",
        "yahoo.com",
        "laposte.net",
        "sfr.fr",
        "outlook.fr",
        "outlook.com",
        "live.fr",
        "icloud.com",
        "neuf.fr",
        "aol.com",
        "bbox.fr",
        "gmx.fr",
        "club-internet.fr",
        "numericable.fr",
        "protonmail.com",
        "msn.com",
    }
)
# Real domains one edit away from a popular one: never flagged.
LOOKALIKE_DOMAINS = frozenset({"ymail.com", "mail.com", "gmx.com", "live.com", "free.com"})


@dataclass(frozen=True, slots=True)
class EmailResult:
    """A normalised address, or an error; ``suggestion`` names the domain it may have meant."""

    address: str = ""
    error: str = ""
    suggestion: str = ""


def is_plain_valid(address: str) -> bool:
    """A lower-case ASCII address the fast path vouches for (email-validator would too)."""
    if len(address) > 254 or _FAST.fullmatch(address) is None:
        return False
    at = address.index("@")
    # Labels like "ab--cd" are only valid as Punycode: let the library decide.
    return at <= 64 and "--" not in address[at:] and address.rpartition(".")[2] not in _SPECIAL_TLDS


@lru_cache(maxsize=4096)
def suspicious_domain(domain: str) -> str:
    """The popular domain ``domain`` looks like a typo of (one edit away), or ``""``."""
    if domain in POPULAR_DOMAINS or domain in LOOKALIKE_DOMAINS:
        return ""
    best = ""
    for known in POPULAR_DOMAINS:
        # Damerau-Levenshtein counts a swap ("gmial") as one edit.
        if DamerauLevenshtein.distance(domain, known, score_cutoff=1) <= 1:
            if best:
                return ""  # Close to two popular domains: no sensible guess.
            best = known
    return best


def is_composite(text: str) -> bool:
    """Does a cell hold something else than one bare address (see ``clean_address_text``)?"""
    return text.count("@") > 1 or _COMPOSITE.search(text.strip()) is not None


def clean_address_text(raw: str) -> list[str]:
    """The addresses a spreadsheet cell holds: trimmed, lower-cased, in order.

    A cell may hold ``"Jean <jean@x.fr>"``, ``"mailto:jean@x.fr"`` or several addresses
    separated by ``;``, ``,`` or spaces.
    """
    text = raw.strip().lower()
    if not text:
        return []
    angled = _ANGLE.findall(text)
    if angled:
        text = " ".join(angled)
    text = text.replace("mailto:", " ")
    if text.count("@") <= 1:
        return [text.strip().strip("'\"").strip()]
    return [part.strip("'\"") for part in _SEPARATORS.split(text) if part.strip("'\"")]


def normalize_email(raw: str) -> EmailResult:
    """One address, lower-cased and checked (syntax only); flags a mistyped popular domain."""
    address = raw.strip().strip("'\"").strip().lower()
    if not address:
        return EmailResult()
    if not is_plain_valid(address):
        try:
            address = validate_email(
                address, check_deliverability=False, allow_smtputf8=True
            ).normalized.lower()
        except EmailNotValidError as exc:
            return EmailResult(error=str(exc))
    domain = address.rsplit("@", 1)[1]
    return EmailResult(address=address, suggestion=suspicious_domain(domain))
