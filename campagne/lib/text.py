"""Text keys for search and matching: accents, case and punctuation folded away."""

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Lower-case ASCII without accents: ``"Digne-les-Bains"`` → ``"digne-les-bains"``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii").lower()


def search_key(text: str) -> str:
    """Folded text with every run of punctuation or spaces turned into one space."""
    return _NON_ALNUM.sub(" ", fold(text)).strip()
