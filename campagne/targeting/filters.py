"""The filters of a profile's ranked stations, shared by the page, the map, the export and
the API, so that all four show the same stations for the same query."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from campagne.accounts.scopes import Scope
from campagne.lib.text import search_key
from campagne.targeting.models import PART_KEYS, PersonStation, StationScore, TargetingProfile

# Sortable columns; "score" is the rank order.
SORT_KEYS = ("score", "inscrits", *PART_KEYS)


@dataclass(frozen=True)
class StationFilters:
    departement: str = ""
    # An INSEE code, or a commune's name (accents and case ignored).
    commune: str = ""
    circonscription: str = ""
    min_inscrits: int | None = None
    sort: str = "score"
    descending: bool = True

    def as_dict(self) -> dict[str, object]:
        return {key: value for key, value in asdict(self).items() if value not in ("", None)}

    def scores(self, scope: Scope, profile: TargetingProfile) -> QuerySet[StationScore]:
        """The profile's scored stations within the user's territory and these filters."""
        scores = scope.filter_by_commune(
            StationScore.objects.filter(profile=profile), "station__commune"
        )
        if self.departement:
            scores = scores.filter(station__departement_id=self.departement)
        if self.commune:
            text = self.commune.strip()
            if text.isdigit() or (len(text) == 5 and text[:2] in ("2A", "2B")):
                scores = scores.filter(
                    Q(station__commune_id=text.upper()) | Q(station__commune__parent_id=text)
                )
            else:
                scores = scores.filter(station__commune__search_name=search_key(text))
        if self.circonscription:
            scores = scores.filter(station__circonscription_id=self.circonscription)
        if self.min_inscrits:
            scores = scores.filter(inscrits__gte=self.min_inscrits)
        return scores.order_by(*self.ordering())

    def ordering(self) -> list[object]:
        if self.sort not in SORT_KEYS or (self.sort == "score" and self.descending):
            return ["rank"]
        if self.sort == "score":
            return ["-rank"]
        column = F(self.sort)
        return [
            column.desc(nulls_last=True) if self.descending else column.asc(nulls_last=True),
            "rank",
        ]


def with_people_counts(scores: QuerySet[StationScore], scope: Scope) -> QuerySet[StationScore]:
    """Annotate ``people``: how many people of the user's scope are attached to the station."""
    attached = (
        PersonStation.objects.filter(station=OuterRef("station_id"), person__in=scope.people())
        .order_by()
        .values("station")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return scores.annotate(
        people=Coalesce(Subquery(attached, output_field=IntegerField()), Value(0))
    )
