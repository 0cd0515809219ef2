"""Commune and polling-station codes as result files write them, made into INSEE codes.

The files disagree: before 2024 the Ministry writes a département code ("01", "2A", or a
letter code "ZA" for Guadeloupe) and a 3-digit commune number ("001"); 2024 files write the
full INSEE code; re-exports lose the zero padding ("1", "1001"). And old files carry the
codes of communes that have merged since: ``CommuneResolver`` maps them onto the current
commune through the COG's movements (``campagne.territory.loader``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

import polars as pl

# Letter codes the Ministry used for overseas départements and collectivities before
# 2024. "ZX" is Saint-Martin (978) and Saint-Barthélemy (977) together: the commune
# number tells them apart. "ZZ" (Français de l'étranger) has no INSEE code: kept as is.
OVERSEAS_LETTER_CODES = {
    "ZA": "971",
    "ZB": "972",
    "ZC": "973",
    "ZD": "974",
    "ZM": "976",
    "ZN": "988",
    "ZP": "987",
    "ZS": "975",
    "ZW": "986",
    "ZX": "97",
    "ZZ": "ZZ",
}
_DIGITS = re.compile(r"^\d+$")
_FULL_CODE = re.compile(r"^(\d{5}|2[AB]\d{3}|\d{1,4})$")


def departement_code(raw: str | None) -> str:
    """``"1"`` → ``"01"``, ``"ZA"`` → ``"971"``, ``"2a"`` → ``"2A"``, ``"971"`` kept."""
    code = (raw or "").strip().upper()
    if code in OVERSEAS_LETTER_CODES:
        return OVERSEAS_LETTER_CODES[code]
    if _DIGITS.match(code):
        return code.zfill(2) if len(code) < 3 else code
    return code


def insee_code(departement: str | None, commune: str | None) -> str:
    """The INSEE code of a commune given as département + number, or as a full code.

    ``("04", "70")`` → ``"04070"``; ``("ZA", "101")`` → ``"97101"``; ``("ZM", "508")``
    (Mayotte under its pre-2011 number) → ``"97608"``; ``("ZX", "701")`` → ``"97701"``;
    ``("", "4070")`` → ``"04070"``; ``("ZZ", "229")`` → ``"ZZ229"``.
    """
    raw_dep = (departement or "").strip().upper()
    number = (commune or "").strip().upper()
    dep = departement_code(raw_dep)
    if not dep:
        return number.zfill(5) if _DIGITS.match(number) else number
    if len(number) == 5 and (number.startswith(dep[:2]) or not _DIGITS.match(number)):
        return number  # already a full code
    if len(number) == 4 and _DIGITS.match(number) and number.zfill(5).startswith(dep):
        return number.zfill(5)  # a full code that lost its leading zero
    if dep == "ZZ":
        return f"ZZ{number.zfill(3)}"
    if raw_dep == "ZX":
        # Saint-Barthélemy 977 (numbers 7xx), Saint-Martin 978 (numbers 8xx).
        return f"97{number.zfill(3)}"
    if len(dep) == 3:
        # Overseas: the département's 3 digits and the commune's last two ("101" → 01).
        return f"{dep}{number.zfill(2)[-2:]}"
    if _DIGITS.match(number):
        return f"{dep}{number.zfill(3)[-3:]}"
    return f"{dep}{number}"


def full_insee_code(raw: str | None) -> str:
    """A full INSEE code that may have lost its padding: ``"1001"`` → ``"01001"``."""
    code = (raw or "").strip().upper()
    return code.zfill(5) if _DIGITS.match(code) else code


def station_number(raw: str | None) -> str:
    """``"1"`` → ``"0001"``; a non-numeric code ("A12") is kept, upper-cased."""
    number = (raw or "").strip().upper()
    if _DIGITS.match(number):
        return number.zfill(4)[-4:] if len(number) <= 4 else number
    return number


def station_key(commune: str, number: str | None) -> str:
    """``"04070", "1"`` → ``"04070_0001"`` (``id_brut_miom``)."""
    return f"{commune}_{station_number(number)}"


def split_station_key(raw: str | None) -> tuple[str, str] | None:
    """Parse ``"04070_0001"``, ``"04036_2"`` or ``"4070_1"`` into (INSEE, number)."""
    commune, sep, number = (raw or "").strip().rpartition("_")
    if not sep or not commune or not number:
        return None
    return full_insee_code(commune), station_number(number)


@cache
def _successors() -> dict[str, str]:
    """Old commune code → current commune code, from the COG shipped with the territory app.

    Read only when a file carries a code that is not a current commune (about 1 s).
    """
    from campagne.territory.loader import read_france

    return dict(read_france().successors)


@dataclass
class CommuneResolver:
    """Maps commune codes onto current communes, loading what it needs once per import."""

    communes: dict[str, str] = field(default_factory=dict)  # code → département code
    _resolved: dict[str, str | None] = field(default_factory=dict)
    remapped: dict[str, str] = field(default_factory=dict)
    _frame: pl.DataFrame | None = None

    @classmethod
    def load(cls) -> CommuneResolver:
        from campagne.territory.models import Commune

        return cls(communes=dict(Commune.objects.values_list("code", "departement_id")))

    def resolve(self, code: str) -> str | None:
        """The current commune for ``code``, or None when the COG does not know it."""
        if code in self._resolved:
            return self._resolved[code]
        current: str | None = code if code in self.communes else None
        if current is None and _FULL_CODE.match(code):
            successor = _successors().get(code)
            if successor in self.communes:
                current = successor
                self.remapped[code] = successor
        self._resolved[code] = current
        return current

    def departement(self, current_code: str | None) -> str | None:
        return self.communes.get(current_code) if current_code else None

    def frame(self) -> pl.DataFrame:
        """The current communes as a polars frame (``code``, ``departement``), for joins."""
        if self._frame is None:
            self._frame = pl.DataFrame(
                {"code": list(self.communes), "departement": list(self.communes.values())},
                schema={"code": pl.String, "departement": pl.String},
            )
        return self._frame
