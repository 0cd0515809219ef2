"""The filters of a people list, shared by the list page, its exports and the API.

A ``PeopleFilters`` is already validated (``forms.PersonFilterForm`` builds one from a
query string); applying it always starts from ``scope.people()``, so no combination of
filters can reach beyond the user's scope.

Every filter is an indexed lookup, and the list reads one page without counting: that is
what keeps a page fast on a million people. Tags and consents need care: a tag carried by
five people is best found from the tag's side (then the five are sorted), a consent given
by half the file is best checked person by person while walking the name index in order.
``_driver`` picks between the two with a bounded count.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from campagne.accounts.scopes import Scope
from campagne.people.models import Consent, Person, PersonQuerySet

# Below this many members, a tag or consent drives the query for the first page of the
# list; above, it is checked person by person (see ``PeopleFilters._driver``).
RARE = 5000
FIRST_PAGE = 51


@dataclass(frozen=True)
class PeopleFilters:
    q: str = ""
    status: str = ""
    tag: str = ""
    departement: str = ""
    commune: str = ""
    # Channels on which the person must have granted consent (all of them).
    consents: tuple[str, ...] = field(default_factory=tuple)

    def people(self, scope: Scope) -> PersonQuerySet:
        """The people of ``scope`` matching every filter, ordered by name."""
        return self._people(scope, depth=None).search(self.q).order_by("search_name", "id")

    def parts(self, scope: Scope, *, depth: int | None = None) -> list[PersonQuerySet]:
        """The same people as ``people``, in list order, as querysets to read one after the
        other (see ``PersonQuerySet.search_parts``). ``depth``: how many rows from the
        start will be read (a page's end), None for all."""
        return self._people(scope, depth=depth).search_parts(self.q)

    def as_dict(self) -> dict[str, Any]:
        """The filters that are set, for the audit log and query strings."""
        return {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in asdict(self).items()
            if value
        }

    def _memberships(self) -> list[QuerySet[Any]]:
        """The ids of the people carrying the tag, and of those granting each consent."""
        sets: list[QuerySet[Any]] = []
        if self.tag:
            sets.append(Person.tags.through.objects.filter(tag__name=self.tag))
        for channel in self.consents:
            sets.append(Consent.objects.filter(channel=channel, granted=True))
        return [members.values("person_id") for members in sets]

    def _people(self, scope: Scope, *, depth: int | None) -> PersonQuerySet:
        people = scope.people()
        if self.status:
            people = people.filter(status=self.status)
        if self.departement:
            people = people.in_departement(self.departement)
        if self.commune:
            people = people.in_commune(self.commune)
        memberships = self._memberships()
        if not memberships:
            return people
        driver, drives = self._driver(memberships, depth)
        for index, members in enumerate(memberships):
            if index == driver and drives:
                people = people.filter(pk__in=members)
            else:
                people = people.filter(Exists(members.filter(person_id=OuterRef("pk"))))
        return people

    @staticmethod
    def _driver(memberships: list[QuerySet[Any]], depth: int | None) -> tuple[int, bool]:
        """Which membership should drive the query (the smallest), and whether it should.

        Driving costs a sort of all its members; walking the name index in order and
        checking each person costs about ``depth / density`` checks. Deeper pages walk
        further, so the threshold grows with the square root of the depth (the cost model
        for a million people: 5,000 members on the first page, 70,000 on the 200th).
        """
        if depth is None:
            if len(memberships) == 1:
                return 0, True
            sizes = [members.count() for members in memberships]
            return min(range(len(sizes)), key=sizes.__getitem__), True
        threshold = int(RARE * math.sqrt(max(depth, FIRST_PAGE) / FIRST_PAGE))
        # Counting stops at the threshold, so this costs little even for a large set.
        sizes = [members[:threshold].count() for members in memberships]
        driver = min(range(len(sizes)), key=sizes.__getitem__)
        return driver, sizes[driver] < threshold
