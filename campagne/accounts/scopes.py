"""What each user may see and do — the one place that decides it.

Every page, API endpoint, export and task asks a ``Scope`` for its querysets and checks its
``can_*`` answers; nothing filters people by territory on its own. Outside the scope a
person does not exist (404); a role that may read but not write gets 403.

Roles:
- HQ admin: everything, everywhere.
- HQ staff: reads everything; no writes, no exports, no erasure.
- Territorial organizer: reads, edits and exports the people of their régions,
  départements and communes.
- Volunteer: only what is assigned to them (nothing in the contact file yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from campagne.accounts.models import Role

if TYPE_CHECKING:
    from campagne.people.models import Person, PersonQuerySet
    from campagne.territory.models import Commune


@dataclass(frozen=True)
class Territories:
    """The codes an organizer covers, at each level."""

    regions: frozenset[str]
    departements: frozenset[str]
    communes: frozenset[str]

    def __bool__(self) -> bool:
        return bool(self.regions or self.departements or self.communes)

    def q(self, commune_path: str) -> Q:
        """Rows whose commune (reached through ``commune_path``) lies in these territories."""
        if not self:
            return Q(pk__in=[])
        prefix = f"{commune_path}__" if commune_path else ""
        condition = Q()
        if self.communes:
            condition |= Q(**{f"{prefix}code__in": self.communes})
            # Paris, Lyon and Marseille: a commune covers its municipal arrondissements.
            condition |= Q(**{f"{prefix}parent_id__in": self.communes})
        if self.departements:
            condition |= Q(**{f"{prefix}departement_id__in": self.departements})
        if self.regions:
            condition |= Q(**{f"{prefix}departement__region_id__in": self.regions})
        return condition


class Scope:
    """The answers for one user. Cheap to build; build one per request or task."""

    def __init__(self, user: Any) -> None:
        self.user = user
        authenticated = bool(user and user.is_authenticated and user.is_active)
        self.role: str | None = user.role if authenticated else None

    # --- what the role may do ---------------------------------------------------------
    @property
    def is_hq(self) -> bool:
        return self.role in (Role.HQ_ADMIN, Role.HQ_STAFF)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.HQ_ADMIN

    @property
    def can_read_people(self) -> bool:
        return self.role in (Role.HQ_ADMIN, Role.HQ_STAFF, Role.ORGANIZER)

    @property
    def can_write_people(self) -> bool:
        return self.role in (Role.HQ_ADMIN, Role.ORGANIZER)

    @property
    def can_export_people(self) -> bool:
        return self.role in (Role.HQ_ADMIN, Role.ORGANIZER)

    @property
    def can_erase_people(self) -> bool:
        return self.role == Role.HQ_ADMIN

    @property
    def can_purge(self) -> bool:
        return self.role == Role.HQ_ADMIN

    @property
    def can_send_mailings(self) -> bool:
        """HQ admin, and organizers to the people of their territories (not HQ staff)."""
        return self.role in (Role.HQ_ADMIN, Role.ORGANIZER)

    @cached_property
    def territories(self) -> Territories:
        if self.role != Role.ORGANIZER:
            return Territories(frozenset(), frozenset(), frozenset())
        user = self.user
        return Territories(
            regions=frozenset(user.regions.values_list("code", flat=True)),
            departements=frozenset(user.departements.values_list("code", flat=True)),
            communes=frozenset(user.communes.values_list("code", flat=True)),
        )

    # --- querysets ----------------------------------------------------------------------
    def filter_by_commune(self, queryset: QuerySet[Any], commune_path: str) -> QuerySet[Any]:
        """Keep the rows this user may read, for any model that reaches a commune.

        Later domains (results, turfs, mailings, donations) call this with the path from
        their model to ``territory.Commune``.
        """
        if self.is_hq:
            return queryset
        if self.role == Role.ORGANIZER:
            return queryset.filter(self.territories.q(commune_path))
        return queryset.none()

    def people(self) -> PersonQuerySet:
        from campagne.people.models import Person

        if not self.can_read_people:
            return Person.objects.none()
        return self.filter_by_commune(Person.objects.all(), "commune")  # type: ignore[return-value]

    def communes(self) -> QuerySet[Commune]:
        from campagne.territory.models import Commune

        return self.filter_by_commune(Commune.objects.all(), "")

    def covers_commune(self, commune: Commune | None) -> bool:
        """May this user place a person in ``commune``? (None: no commune, HQ only.)"""
        if self.is_hq:
            return True
        if commune is None:
            return False
        return self.communes().filter(pk=commune.pk).exists()

    # --- single objects -----------------------------------------------------------------
    def person(self, pk: Any) -> Person:
        """The person with this id if it is in scope, else Http404."""
        try:
            return self.people().get(pk=pk)
        except (ValueError, TypeError, self._person_model().DoesNotExist):
            raise Http404("No such person.") from None

    def person_for_write(self, pk: Any) -> Person:
        """As ``person``, then 403 if this role may only read."""
        person = self.person(pk)
        if not self.can_write_people:
            raise PermissionDenied("This role may not edit people.")
        return person

    def require(self, allowed: bool, message: str = "Not allowed.") -> None:
        if not allowed:
            raise PermissionDenied(message)

    @staticmethod
    def _person_model() -> type[Person]:
        from campagne.people.models import Person

        return Person


def scope_for(user: Any) -> Scope:
    return Scope(user)
