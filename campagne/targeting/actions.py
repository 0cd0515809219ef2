"""Writes of the targeting app: profiles (scored as they are saved), scores, attachments.

Pages, API and commands call these with the user's scope: creating a profile needs a
role that writes (HQ admin, organizer); changing one, its owner or an HQ admin; an
organizer's profile covers only their territory (their départements and communes by
default). Attaching people to stations is an HQ admin's run over the whole file.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from campagne.accounts.scopes import Scope
from campagne.elections.models import Candidate, Election
from campagne.targeting.matching import AttachReport, attach_people
from campagne.targeting.models import (
    PARTS,
    TargetingProfile,
    can_create_profiles,
    can_edit_profile,
)
from campagne.targeting.scoring import ScoreSummary, score_profile
from campagne.territory.models import Commune, Departement

NAME_MAX = 120


def _territory(
    scope: Scope, departements: list[Departement], communes: list[Commune]
) -> tuple[list[Departement], list[Commune]]:
    """Check a profile's territory against the user's; an organizer's defaults to theirs."""
    if scope.is_hq:
        return departements, communes
    territories = scope.territories
    if not departements and not communes:
        departements = list(
            Departement.objects.filter(
                Q(pk__in=territories.departements) | Q(region_id__in=territories.regions)
            )
        )
        communes = list(Commune.objects.filter(pk__in=territories.communes))
    errors: dict[str, list[str]] = {}
    outside = [
        d.code
        for d in departements
        if d.code not in territories.departements and d.region_id not in territories.regions
    ]
    if outside:
        errors["departements"] = [
            _("Hors de votre territoire : %(codes)s.") % {"codes": ", ".join(outside)}
        ]
    allowed = set(
        scope.communes().filter(pk__in=[c.pk for c in communes]).values_list("pk", flat=True)
    )
    if outside_communes := [c.code for c in communes if c.code not in allowed]:
        errors["communes"] = [
            _("Hors de votre territoire : %(codes)s.") % {"codes": ", ".join(outside_communes)}
        ]
    if errors:
        raise ValidationError(errors)
    return departements, communes


def _check(
    elections: list[Election],
    candidates: list[Candidate],
    nuances: list[str],
    comparison: Election | None,
) -> None:
    errors: dict[str, list[str]] = {}
    if not elections:
        errors["elections"] = [_("Choisissez au moins une élection.")]
    chosen = {e.pk for e in elections}
    if any(c.election_id not in chosen for c in candidates):
        errors["candidates"] = [_("Ces candidats ne sont pas de l'une des élections choisies.")]
    elif elections and not candidates and not nuances:
        errors["candidates"] = [_("Cochez au moins un candidat, une liste ou une nuance.")]
    if comparison is not None and comparison.pk in chosen:
        errors["comparison_election"] = [
            _("L'élection de comparaison doit être différente des élections choisies.")
        ]
    if errors:
        raise ValidationError(errors)


def _save(
    profile: TargetingProfile,
    *,
    scope: Scope,
    name: str,
    description: str,
    shared: bool,
    elections: Iterable[Election],
    candidates: Iterable[Candidate],
    nuances: Iterable[str],
    comparison_election: Election | None,
    weights: dict[str, int],
    min_inscrits: int,
    departements: Iterable[Departement],
    communes: Iterable[Commune],
) -> TargetingProfile:
    elections, candidates = list(elections), list(candidates)
    nuances = sorted({n.strip().upper() for n in nuances if n.strip()})
    _check(elections, candidates, nuances, comparison_election)
    places = _territory(scope, list(departements), list(communes))
    name = name.strip()[:NAME_MAX]
    if not name:
        raise ValidationError({"name": [_("Donnez un nom au profil.")]})
    profile.name = name
    profile.description = description.strip()
    # Sharing with every organizer is HQ's decision.
    profile.shared = shared if scope.is_admin else profile.shared
    profile.nuances = nuances
    profile.comparison_election = comparison_election
    profile.min_inscrits = min_inscrits
    for part in PARTS:
        setattr(profile, part.weight_field, int(weights.get(part.key, 0)))
    with transaction.atomic():
        profile.save()
        profile.elections.set(elections)
        profile.candidates.set(candidates)
        profile.departements.set(places[0])
        profile.communes.set(places[1])
        score_profile(profile)
    return profile


def create_profile(*, scope: Scope, **fields: Any) -> TargetingProfile:
    """Create and score a profile (see ``_save`` for the fields)."""
    scope.require(
        can_create_profiles(scope), _("Votre rôle ne permet pas de créer un profil de ciblage.")
    )
    return _save(TargetingProfile(owner=scope.user), scope=scope, **fields)


def update_profile(*, scope: Scope, profile: TargetingProfile, **fields: Any) -> TargetingProfile:
    """Change a profile and score it again."""
    scope.require(
        can_edit_profile(scope, profile),
        _("Votre rôle ne permet pas de modifier ce profil de ciblage."),
    )
    return _save(profile, scope=scope, **fields)


def delete_profile(*, scope: Scope, profile: TargetingProfile) -> None:
    scope.require(
        can_edit_profile(scope, profile),
        _("Votre rôle ne permet pas de supprimer ce profil de ciblage."),
    )
    profile.delete()


def rescore_profile(*, scope: Scope, profile: TargetingProfile) -> ScoreSummary:
    """Score a profile again, after new results were imported."""
    scope.require(
        can_edit_profile(scope, profile),
        _("Votre rôle ne permet pas de recalculer ce profil de ciblage."),
    )
    return score_profile(profile)


def rescore_all(profiles: Iterable[TargetingProfile] | None = None) -> list[ScoreSummary]:
    """Score every profile again (the command line, after imports)."""
    chosen = TargetingProfile.objects.order_by("pk") if profiles is None else profiles
    return [score_profile(profile) for profile in chosen]


def attach_all_people(*, scope: Scope) -> AttachReport:
    """Attach every person of the file to a polling station (HQ admin only)."""
    scope.require(scope.is_admin, _("Seul un administrateur du siège rattache les personnes."))
    return attach_people()
