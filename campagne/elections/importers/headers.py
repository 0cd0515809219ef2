"""Column names as the files write them, folded so that variants compare equal."""

from __future__ import annotations

import re

from campagne.lib.text import fold

_PANDAS_DUPLICATE = re.compile(r"\.\d+$")
_NUMBERED = re.compile(r"\s+\d+$")
_PUNCTUATION = re.compile(r"[^a-z0-9%/]+")
_UNNAMED = re.compile(r"^unnamed \d+$")
# Names a DataFrame tool gives a leading index column, folded.
_INDEX_NAMES = {"", "unnamed 0", "index", "level 0"}


def norm(name: str | None) -> str:
    """``"Code du b.vote"`` → ``"code du b vote"``, ``"Voix.1"`` → ``"voix"``, ``"N°Panneau"``
    → ``"npanneau"``, ``"Unnamed: 27"`` → ``"unnamed 27"``."""
    text = _PANDAS_DUPLICATE.sub("", (name or "").strip())
    return _PUNCTUATION.sub(" ", fold(text)).strip()


def base(name: str | None) -> str:
    """The folded name without a 2024-style block number: ``"Voix 12"`` → ``"voix"``."""
    return _NUMBERED.sub("", norm(name))


def is_unnamed(name: str | None) -> bool:
    folded = norm(name)
    return not folded or bool(_UNNAMED.match(folded))


def index_columns(header: list[str]) -> int:
    """How many leading columns are a DataFrame's index (``Unnamed: 0`` or empty): 0 or 1."""
    if len(header) > 1 and norm(header[0]) in _INDEX_NAMES and not is_unnamed(header[1]):
        return 1
    return 0


def find(header: list[str], names: set[str], start: int = 0) -> int | None:
    """The position of the first column at or after ``start`` whose folded name is in ``names``."""
    for position in range(start, len(header)):
        if norm(header[position]) in names:
            return position
    return None
