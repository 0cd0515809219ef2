"""Canvassing teams: who goes out together, in which commune, led by whom.

Who sees a team: HQ every team; an organizer the teams of the communes of their
territories; a volunteer the teams they are in or lead (read-only). Who may change one:
HQ admins and organizers (``scope.can_manage_field``), within their territories.

A team's leader and members are accounts attached to its territory (its commune, or the
département or région around it), the same people an organizer may send on a turf of
that commune. Every verb checks the scope before writing: outside it a team does not
exist (``Http404``), a read-only role gets ``PermissionDenied``, bad input
``ValidationError`` naming the field — in each case with nothing written.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from campagne.accounts.models import Role, User
from campagne.accounts.scopes import Scope
from campagne.canvassing.actions import require_manager
from campagne.canvassing.models import Team
from campagne.territory.models import Commune

NAME_MAX_LENGTH = Team._meta.get_field("name").max_length


# --- reading --------------------------------------------------------------------------------
def visible_teams(scope: Scope) -> QuerySet[Team]:
    """The teams this user may see (see the module's docstring)."""
    teams = Team.objects.all()
    if scope.is_hq or scope.role == Role.ORGANIZER:
        return scope.filter_by_commune(teams, "commune")
    if scope.role == Role.VOLUNTEER:
        mine = Team.objects.filter(Q(members=scope.user) | Q(leader=scope.user)).values("pk")
        return teams.filter(pk__in=mine)
    return teams.none()


def team_list(scope: Scope) -> QuerySet[Team]:
    """The teams of the list page, with what each row shows (one query)."""
    return (
        visible_teams(scope)
        .select_related("commune", "leader")
        .annotate(member_count=Count("members", distinct=True))
        .order_by("commune__name", "name", "id")
    )


def team_for(scope: Scope, pk: Any) -> Team:
    """A visible team, else Http404."""
    try:
        return visible_teams(scope).select_related("commune", "leader").get(pk=pk)
    except (ValueError, TypeError, Team.DoesNotExist):
        raise Http404("No such team.") from None


def team_for_write(scope: Scope, pk: Any) -> Team:
    """As ``team_for``, then 403 for a role that may only read field work."""
    team = team_for(scope, pk)
    require_manager(scope)
    return team


def candidates(commune: Commune) -> QuerySet[User]:
    """Active accounts attached to ``commune``, its département or its région (and, for a
    municipal arrondissement, to its city): who may lead or join a team there."""
    attached = (
        Q(communes=commune)
        | Q(departements=commune.departement_id)
        | Q(regions__departements=commune.departement_id)
    )
    if commune.parent_id:
        attached |= Q(communes=commune.parent_id)
    # A subquery rather than .distinct(): the joins above repeat a user once per match.
    return User.objects.filter(is_active=True, pk__in=User.objects.filter(attached).values("pk"))


def choosable(commune: Commune, team: Team | None = None) -> QuerySet[User]:
    """Who a form offers for a team of ``commune``: its candidates, and the team's current
    leader and members (kept even if no longer attached, so that saving the form does not
    drop them silently)."""
    order = ("last_name", "first_name", "email")
    if team is None or team.pk is None:
        return candidates(commune).order_by(*order)
    current = Q(pk__in=team.members.values("pk"))
    if team.leader_id:
        current |= Q(pk=team.leader_id)
    return User.objects.filter(
        Q(pk__in=candidates(commune).values("pk")) | current, is_active=True
    ).order_by(*order)


# --- writing --------------------------------------------------------------------------------
def _check(
    scope: Scope,
    *,
    team: Team | None,
    name: str,
    commune: Commune | None,
    leader: User | None,
    members: list[User],
) -> str:
    """Validate a team's fields; returns the cleaned name. ValidationError names the field."""
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("Donnez un nom à l'équipe.")]
    elif len(name) > NAME_MAX_LENGTH:
        errors["name"] = [
            _("Le nom ne doit pas dépasser %(max)s caractères.") % {"max": NAME_MAX_LENGTH}
        ]
    if commune is None:
        errors["commune"] = [_("Choisissez la commune de l'équipe.")]
    elif not scope.covers_commune(commune):
        errors["commune"] = [_("Cette commune n'est pas dans votre territoire.")]
    elif leader is not None or members:
        # Members kept from before stay allowed only while the team stays where it is.
        same_place = team if team is not None and team.commune_id == commune.pk else None
        allowed = set(
            choosable(commune, same_place)
            .filter(pk__in=[u.pk for u in [*members, *([leader] if leader else [])]])
            .values_list("pk", flat=True)
        )
        if leader is not None and leader.pk not in allowed:
            errors["leader"] = [_("Ce compte n'est pas rattaché au territoire de l'équipe.")]
        outside = sorted(str(u) for u in members if u.pk not in allowed)
        if outside:
            errors["members"] = [
                _("Ces comptes ne sont pas rattachés au territoire de l'équipe : %(names)s")
                % {"names": ", ".join(outside)}
            ]
    if errors:
        raise ValidationError(errors)
    return name


def create_team(
    *,
    scope: Scope,
    name: str,
    commune: Commune | None,
    leader: User | None = None,
    members: Iterable[User] = (),
) -> Team:
    """A new team in a commune of this user's territories."""
    require_manager(scope)
    members = list(members)
    name = _check(scope, team=None, name=name, commune=commune, leader=leader, members=members)
    with transaction.atomic():
        team = Team.objects.create(name=name, commune=commune, leader=leader)
        team.members.set(members)
    return team


def update_team(
    *,
    scope: Scope,
    team: Team,
    name: str,
    commune: Commune | None,
    leader: User | None,
    members: Iterable[User],
) -> Team:
    """Change a team loaded with ``team_for_write``: every field is replaced."""
    require_manager(scope)
    members = list(members)
    name = _check(scope, team=team, name=name, commune=commune, leader=leader, members=members)
    with transaction.atomic():
        team.name, team.commune, team.leader = name, commune, leader  # type: ignore[assignment]
        team.save(update_fields=["name", "commune", "leader"])
        team.members.set(members)
    return team


def remove_member(*, scope: Scope, team: Team, user_id: Any) -> User:
    """Take a member (loaded with ``team_for_write``) out of the team; if they led it, the
    team no longer has a leader. ValidationError if they are not a member."""
    require_manager(scope)
    try:
        member = team.members.get(pk=user_id)
    except (ValueError, TypeError, User.DoesNotExist):
        raise ValidationError(_("Ce compte ne fait pas partie de l'équipe.")) from None
    with transaction.atomic():
        team.members.remove(member)
        # A conditional update: a leader changed meanwhile by someone else is left alone.
        if Team.objects.filter(pk=team.pk, leader=member).update(leader=None):
            team.leader = None
    return member
