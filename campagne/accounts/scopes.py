"""What each user may see and do — the one place that decides it.

Every page, API endpoint, export and task asks a ``Scope`` for its querysets and checks its
``can_*`` answers; nothing filters people by territory on its own. Outside the scope a
person does not exist (404); a role that may read but not write gets 403.

Roles:
- HQ admin: everything, everywhere.
- HQ staff: reads everything; no writes, no exports, no erasure.
- Territorial organizer: reads, edits and exports the people of their régions,
  départements and communes.
- Volunteer: only what is assigned to them: their field sessions and the turfs of those
  sessions, the open turfs of their communes when a campaign lets volunteers choose, and
  the doors and calls they recorded themselves.

Field work (door-to-door and phone banking): organizers see the campaigns, turfs, sessions
and recorded doors of their territories; opinions given at the door (support, issues) are
sensitive data that only HQ admins and organizers read.
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

    @property
    def can_manage_field(self) -> bool:
        """Create field campaigns, cut turfs, plan sessions, review doors."""
        return self.role in (Role.HQ_ADMIN, Role.ORGANIZER)

    @property
    def can_read_field(self) -> bool:
        """See field campaigns and their results (dashboards)."""
        return self.role in (Role.HQ_ADMIN, Role.HQ_STAFF, Role.ORGANIZER)

    @property
    def can_read_opinions(self) -> bool:
        """Political opinions recorded at the door (RGPD art. 9): only who needs them."""
        return self.role in (Role.HQ_ADMIN, Role.ORGANIZER)

    @property
    def can_export_field(self) -> bool:
        return self.role in (Role.HQ_ADMIN, Role.ORGANIZER)

    @cached_property
    def territories(self) -> Territories:
        if self.role != Role.ORGANIZER:
            return Territories(frozenset(), frozenset(), frozenset())
        return self.home_territories

    @cached_property
    def home_territories(self) -> Territories:
        """The territories attached to the account, whatever its role (a volunteer's
        communes are where they may choose open turfs)."""
        if self.role is None:
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

    # --- field work ---------------------------------------------------------------------
    def field_campaigns(self) -> QuerySet[Any]:
        """HQ: all. Organizer: those of their départements or régions, those with a turf
        in their territories, and their own. Volunteer: those they have a session in, those
        of their territories that let volunteers choose a turf, and those of their teams."""
        from campagne.canvassing.models import FieldCampaign

        campaigns = FieldCampaign.objects.all()
        if self.is_hq:
            return campaigns
        if self.role == Role.ORGANIZER:
            t = self.territories
            condition = (
                Q(departement_id__in=t.departements)
                | Q(departement__region_id__in=t.regions)
                | Q(created_by=self.user)
                | Q(pk__in=self.turfs().values("campaign_id"))
            )
            return campaigns.filter(condition)
        if self.role == Role.VOLUNTEER:
            # Door campaigns reach volunteers through sessions; phone campaigns, which
            # have none, through the teams they are in.
            return campaigns.filter(
                Q(pk__in=self.sessions().values("campaign_id"))
                | Q(pk__in=self.claimable_turfs().values("campaign_id"))
                | Q(pk__in=FieldCampaign.objects.filter(teams__members=self.user).values("pk"))
            )
        return campaigns.none()

    def turfs(self) -> QuerySet[Any]:
        """HQ: all. Organizer: turfs in their territories. Volunteer: the turfs of their
        open sessions."""
        from campagne.canvassing.models import Session, Turf

        turfs = Turf.objects.all()
        if self.is_hq:
            return turfs
        if self.role == Role.ORGANIZER:
            return turfs.filter(self.territories.q("commune"))
        if self.role == Role.VOLUNTEER:
            mine = self.sessions().filter(status__in=Session.OPEN_STATUSES)
            return turfs.filter(pk__in=mine.values("turf_id"))
        return turfs.none()

    def claimable_turfs(self) -> QuerySet[Any]:
        """Open turfs a volunteer may take: active campaigns that allow it, in their
        communes (or départements, régions), with no open session."""
        from campagne.canvassing.models import FieldCampaign, Turf

        if self.role != Role.VOLUNTEER or not self.home_territories:
            return Turf.objects.none()
        return Turf.objects.filter(
            self.home_territories.q("commune"),
            status=Turf.Status.OPEN,
            campaign__allow_claim=True,
            campaign__status=FieldCampaign.Status.ACTIVE,
        )

    def sessions(self) -> QuerySet[Any]:
        """HQ: all. Organizer: sessions on turfs of their territories. Volunteer: their
        own sessions and their teams'."""
        from campagne.canvassing.models import Session, Team

        sessions = Session.objects.all()
        if self.is_hq:
            return sessions
        if self.role == Role.ORGANIZER:
            return sessions.filter(self.territories.q("turf__commune"))
        if self.role == Role.VOLUNTEER:
            # A subquery, not a join: no duplicate rows, so no DISTINCT to pay for.
            teams = Team.objects.filter(members=self.user).values("pk")
            return sessions.filter(Q(volunteer=self.user) | Q(team__in=teams))
        return sessions.none()

    def canvasses(self) -> QuerySet[Any]:
        """Doors and calls recorded. HQ: all. Organizer: those of their territories.
        Volunteer: the ones they recorded."""
        from campagne.canvassing.models import Canvass

        canvasses = Canvass.objects.all()
        if self.is_hq:
            return canvasses
        if self.role == Role.ORGANIZER:
            return canvasses.filter(self.territories.q("commune"))
        if self.role == Role.VOLUNTEER:
            return canvasses.filter(volunteer=self.user)
        return canvasses.none()

    def call_targets(self) -> QuerySet[Any]:
        """People queued for calls. HQ: all; organizer: of their territories; volunteer:
        the one they are calling."""
        from campagne.canvassing.models import CallTarget

        targets = CallTarget.objects.all()
        if self.is_hq:
            return targets
        if self.role == Role.ORGANIZER:
            return targets.filter(self.territories.q("commune"))
        if self.role == Role.VOLUNTEER:
            return targets.filter(caller=self.user, status=CallTarget.Status.CALLING)
        return targets.none()

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
