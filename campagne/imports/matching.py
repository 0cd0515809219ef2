"""Is this row the same person as that one? Exact and likely matches, explained.

Exact matches (the same normalised e-mail or phone) update the person, unless the first
names disagree: a couple sharing an e-mail address or a household landline are two
people, so that pair goes to the review queue instead. Likely matches share a last name
and a commune and have close first names (rapidfuzz); their score adds up points that the
review page shows part by part, so the reviewer sees why two people were paired.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rapidfuzz import fuzz

# First names closer than this (rapidfuzz ratio, 0-100) are the same name mistyped.
SAME_FIRST_NAME = 80
# A likely match needs first names at least this close…
LIKELY_FIRST_NAME = 85
# …and this many points in all.
LIKELY_SCORE = 80

POINTS_LAST_NAME = 40
POINTS_FIRST_NAME = 30
POINTS_COMMUNE = 20
POINTS_POSTCODE = 15
POINTS_BIRTH_YEAR = 10
PENALTY_BIRTH_YEAR = -40
POINTS_SHARED_CONTACT = 50


@dataclass
class Score:
    """A score and its parts: ``[{"part": "last_name", "detail": "…", "points": 40}, …]``."""

    points: int = 0
    parts: list[dict[str, object]] = field(default_factory=list)

    def add(self, part: str, points: int, detail: str = "") -> None:
        self.points += points
        self.parts.append({"part": part, "detail": detail, "points": points})

    @property
    def value(self) -> int:
        return max(0, min(100, self.points))


def first_names_compatible(a: str, b: str) -> bool:
    """Folded first names that may be the same person's ("jean pierre" / "jean", "j" / "jean")."""
    if not a or not b or a == b:
        return True
    if (len(a) == 1 or len(b) == 1) and a[0] == b[0]:
        return True
    if a.split(" ", 1)[0] == b.split(" ", 1)[0]:
        return True
    return fuzz.ratio(a, b) >= SAME_FIRST_NAME


def shared_contact_score(
    kind: str, value: str, first_a: str, first_b: str, last_a: str, last_b: str
) -> Score:
    """Two people with the same e-mail or phone but different first names: a household?"""
    score = Score()
    score.add(kind, POINTS_SHARED_CONTACT, value)
    if last_a and last_a == last_b:
        score.add("last_name", POINTS_LAST_NAME // 2, last_a)
    score.add("first_name_differs", 0, f"{first_a} / {first_b}")
    return score


def likely_score(
    *,
    first_a: str,
    first_b: str,
    last_a: str,
    last_b: str,
    commune_a: str | None,
    commune_b: str | None,
    postcode_a: str,
    postcode_b: str,
    birth_a: int | None,
    birth_b: int | None,
) -> Score | None:
    """The score of two people found by the same last name in the same commune, or None
    when they are not alike enough to bother a reviewer."""
    if not last_a or last_a != last_b or not first_a or not first_b:
        return None
    ratio = 100 if first_a == first_b else round(fuzz.ratio(first_a, first_b))
    if ratio < LIKELY_FIRST_NAME:
        return None
    score = Score()
    score.add("last_name", POINTS_LAST_NAME, last_a)
    score.add("first_name", POINTS_FIRST_NAME * ratio // 100, f"{first_a} / {first_b} ({ratio} %)")
    if commune_a and commune_a == commune_b:
        score.add("commune", POINTS_COMMUNE, commune_a)
    elif postcode_a and postcode_a == postcode_b:
        score.add("postal_code", POINTS_POSTCODE, postcode_a)
    if birth_a and birth_b:
        if abs(birth_a - birth_b) <= 1:
            score.add("birth_year", POINTS_BIRTH_YEAR, f"{birth_a} / {birth_b}")
        else:
            score.add("birth_year_differs", PENALTY_BIRTH_YEAR, f"{birth_a} / {birth_b}")
    return score if score.points >= LIKELY_SCORE else None
