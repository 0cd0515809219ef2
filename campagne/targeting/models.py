"""Targeting: which polling stations to canvass first, and who lives in each.

A ``TargetingProfile`` says which elections to read, which candidates, nuances or lists
are "our side" in each, and how much each part of the priority score weighs. Scoring a
profile (``campagne.targeting.scoring``) computes, from the counts of every station's
results, the parts below and the combined score, and stores one ``StationScore`` row per
station with its rank, so that a page can explain "why is this station 3rd?".

The parts (``PARTS``), each put on a 0–1 scale relative to the profile's stations (the
lowest station 0, the highest 1) before weighting:

- abstention rate, abstentions ÷ inscrits;
- our share of exprimés, and of inscrits;
- the reservoir: abstainers × our share of exprimés, the votes to win if the abstainers
  voted like their neighbours (the 2012 Hollande door-to-door campaign's measure);
- turnout change against a comparison election (a fall raises the score).

``PersonStation`` links a person to the polling station of their address
(``campagne.targeting.matching``), kept apart from ``Person`` so that the contact file
does not depend on election data; it goes when the person goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campagne.accounts.models import Role
from campagne.elections.models import Candidate, Election, PollingStation
from campagne.people.models import Person
from campagne.territory.models import Commune, Departement

if TYPE_CHECKING:
    from campagne.accounts.scopes import Scope

MAX_WEIGHT = 10


@dataclass(frozen=True)
class Part:
    """One part of the priority score: a column of ``StationScore`` and a weight."""

    key: str
    label: str | Promise
    weight_field: str
    # +1: a higher value raises the score; -1: a lower value does (a fall in turnout).
    direction: int
    # How to show the value: "rate" (a share, 0–1), "voters" (a number of people) or
    # "points" (a difference of two rates).
    kind: str
    help: str | Promise


PARTS: tuple[Part, ...] = (
    Part(
        "abstention_rate",
        _("Abstention"),
        "weight_abstention",
        1,
        "rate",
        _("abstentions ÷ inscrits"),
    ),
    Part(
        "share_exprimes",
        _("Notre part des exprimés"),
        "weight_share_exprimes",
        1,
        "rate",
        _("voix de notre camp ÷ exprimés"),
    ),
    Part(
        "share_inscrits",
        _("Notre part des inscrits"),
        "weight_share_inscrits",
        1,
        "rate",
        _("voix de notre camp ÷ inscrits"),
    ),
    Part(
        "reservoir",
        _("Réservoir d'abstentionnistes"),
        "weight_reservoir",
        1,
        "voters",
        _(
            "abstentionnistes × notre part des exprimés : les voix à gagner si les "
            "abstentionnistes votaient comme leurs voisins"
        ),
    ),
    Part(
        "turnout_change",
        _("Évolution de la participation"),
        "weight_turnout",
        -1,
        "points",
        _(
            "participation moins celle de l'élection de comparaison ; une baisse fait "
            "monter le score"
        ),
    ),
)
PART_KEYS = tuple(part.key for part in PARTS)


def _weight(default: int, label: str | Promise) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(
        label, default=default, validators=[MaxValueValidator(MAX_WEIGHT)]
    )


class ProfileQuerySet(models.QuerySet["TargetingProfile"]):
    def visible_to(self, scope: Scope) -> ProfileQuerySet:
        """HQ sees every profile; an organizer, their own and the shared ones."""
        if scope.is_hq:
            return self
        if scope.role == Role.ORGANIZER:
            return self.filter(Q(owner=scope.user) | Q(shared=True))
        return self.none()


class TargetingProfile(models.Model):
    name = models.CharField(_("nom"), max_length=120)
    description = models.TextField(_("description"), blank=True, max_length=2000)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="targeting_profiles",
        verbose_name=_("propriétaire"),
    )
    shared = models.BooleanField(
        _("partagé avec les organisateurs"),
        default=False,
        help_text=_("Chaque organisateur y voit les bureaux de son territoire."),
    )
    elections = models.ManyToManyField(
        Election, related_name="targeting_profiles", verbose_name=_("élections")
    )
    # "Our side": these candidates, plus every candidate of the chosen elections whose
    # nuance is in ``nuances`` (what législatives need: thousands of candidates, a few
    # nuances).
    candidates = models.ManyToManyField(
        Candidate, blank=True, related_name="+", verbose_name=_("nos candidats ou listes")
    )
    nuances = models.JSONField(_("nos nuances"), default=list, blank=True)
    comparison_election = models.ForeignKey(
        Election,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("élection de comparaison (participation)"),
    )
    weight_abstention = _weight(1, _("poids de l'abstention"))
    weight_share_exprimes = _weight(1, _("poids de notre part des exprimés"))
    weight_share_inscrits = _weight(0, _("poids de notre part des inscrits"))
    weight_reservoir = _weight(2, _("poids du réservoir d'abstentionnistes"))
    weight_turnout = _weight(0, _("poids de la baisse de participation"))
    min_inscrits = models.PositiveIntegerField(
        _("taille minimale (inscrits)"),
        default=0,
        help_text=_("Les bureaux plus petits ne sont pas classés."),
    )
    # Territory: the stations of these départements and communes; none = all of France.
    departements = models.ManyToManyField(
        Departement, blank=True, related_name="+", verbose_name=_("départements")
    )
    communes = models.ManyToManyField(
        Commune, blank=True, related_name="+", verbose_name=_("communes")
    )
    # Written by scoring: how many stations, and each part's min and max over them (what
    # the 0–1 scale of the explanation is computed from).
    stats = models.JSONField(default=dict, blank=True, editable=False)
    scored_at = models.DateTimeField(_("calculé le"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    objects = ProfileQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("profil de ciblage")
        verbose_name_plural = _("profils de ciblage")

    def __str__(self) -> str:
        return self.name

    def weights(self) -> dict[str, int]:
        return {part.key: int(getattr(self, part.weight_field)) for part in PARTS}

    def side_by_election(self) -> dict[int, list[int]]:
        """Election id → ids of our side's candidates in it (ticked, or of our nuances)."""
        election_ids = list(self.elections.values_list("pk", flat=True))
        ticked = set(self.candidates.values_list("pk", flat=True))
        wanted = {nuance.strip().upper() for nuance in self.nuances if nuance.strip()}
        side: dict[int, list[int]] = {pk: [] for pk in election_ids}
        rows = Candidate.objects.filter(election_id__in=election_ids).values_list(
            "pk", "election_id", "nuance"
        )
        for pk, election_id, nuance in rows.order_by("election_id", "panneau", "pk"):
            if pk in ticked or (nuance and nuance.upper() in wanted):
                side[election_id].append(pk)
        return side

    def explain(self, score: StationScore) -> list[PartExplanation]:
        """Each part's value, weight, 0–1 scaled value and contribution to the score."""
        weights = self.weights()
        total = sum(weights.values())
        bounds = self.stats.get("parts", {})
        explained = []
        for part in PARTS:
            value = getattr(score, part.key)
            scaled = scale(value, bounds.get(part.key, {}), part.direction)
            weight = weights[part.key]
            contribution = 100 * weight * scaled / total if total else 0.0
            explained.append(PartExplanation(part, value, weight, scaled, contribution))
        return explained


def scale(value: float | None, bounds: dict[str, Any], direction: int) -> float:
    """``value`` on the 0–1 scale of the scored stations (0 when unknown or all equal).

    The same formula as the SQL of ``scoring.score_profile``.
    """
    low, high = bounds.get("min"), bounds.get("max")
    if value is None or low is None or high is None or high <= low:
        return 0.0
    if direction > 0:
        return (value - low) / (high - low)
    return (high - value) / (high - low)


@dataclass(frozen=True)
class PartExplanation:
    part: Part
    value: float | None
    weight: int
    scaled: float
    contribution: float


class StationScore(models.Model):
    """One station's score parts, score (0–100) and rank in one profile.

    Rates are computed from the counts of the profile's elections pooled together
    (Σ abstentions ÷ Σ inscrits…); ``inscrits``, ``abstentions`` and ``side_votes`` are
    per-election means, rounded.
    """

    # Indexed through the unique constraint, which starts with the profile.
    profile = models.ForeignKey(
        TargetingProfile, on_delete=models.CASCADE, related_name="scores", db_index=False
    )
    station = models.ForeignKey(
        PollingStation, on_delete=models.CASCADE, related_name="targeting_scores", db_index=False
    )
    inscrits = models.PositiveIntegerField(_("inscrits"))
    abstentions = models.PositiveIntegerField(_("abstentions"))
    side_votes = models.PositiveIntegerField(_("voix de notre camp"))
    abstention_rate = models.FloatField(_("abstention"), null=True)
    share_exprimes = models.FloatField(_("notre part des exprimés"), null=True)
    share_inscrits = models.FloatField(_("notre part des inscrits"), null=True)
    reservoir = models.FloatField(_("réservoir d'abstentionnistes"), null=True)
    turnout_change = models.FloatField(_("évolution de la participation"), null=True)
    score = models.FloatField(_("score"))
    rank = models.PositiveIntegerField(_("rang"))

    class Meta:
        verbose_name = _("score d'un bureau")
        verbose_name_plural = _("scores des bureaux")
        constraints = [
            models.UniqueConstraint(fields=["profile", "station"], name="unique_station_score")
        ]
        indexes = [models.Index(fields=["profile", "rank"], name="station_score_rank")]

    def __str__(self) -> str:
        return f"{self.profile_id} · {self.station_id} · {self.rank}"


class MatchMethod(models.TextChoices):
    EXACT = "exact", _("adresse exacte")
    STREET = "street", _("même voie, numéro le plus proche")
    SINGLE_STATION = "single_station", _("bureau unique de la commune")


class PersonStation(models.Model):
    """The polling station a person's address belongs to, and how it was found."""

    person = models.OneToOneField(
        Person, on_delete=models.CASCADE, primary_key=True, related_name="polling_station_link"
    )
    station = models.ForeignKey(
        PollingStation, on_delete=models.CASCADE, related_name="attached_people"
    )
    method = models.CharField(_("méthode"), max_length=16, choices=MatchMethod.choices)
    matched_at = models.DateTimeField(_("rattaché le"), default=timezone.now)

    class Meta:
        verbose_name = _("rattachement à un bureau de vote")
        verbose_name_plural = _("rattachements aux bureaux de vote")

    def __str__(self) -> str:
        return f"{self.person_id} → {self.station_id} ({self.method})"


# --- access -------------------------------------------------------------------------------
def can_read_targeting(scope: Scope) -> bool:
    return scope.can_read_people


def can_create_profiles(scope: Scope) -> bool:
    """HQ admin and organizers; HQ staff only read."""
    return scope.can_write_people


def can_edit_profile(scope: Scope, profile: TargetingProfile) -> bool:
    """HQ admin edits every profile; an organizer, the ones they own."""
    if scope.is_admin:
        return True
    return scope.role == Role.ORGANIZER and profile.owner_id == scope.user.pk


def profile_for(scope: Scope, pk: Any) -> TargetingProfile:
    """The profile with this id if ``scope`` may see it, else Http404."""
    try:
        return TargetingProfile.objects.visible_to(scope).select_related("owner").get(pk=pk)
    except (ValueError, TypeError, TargetingProfile.DoesNotExist):
        raise Http404("No such profile.") from None


def profile_for_write(scope: Scope, pk: Any) -> TargetingProfile:
    """As ``profile_for``, then 403 if this user may not change it."""
    profile = profile_for(scope, pk)
    scope.require(
        can_edit_profile(scope, profile),
        gettext("Votre rôle ne permet pas de modifier ce profil de ciblage."),
    )
    return profile


def stations_for(scope: Scope) -> models.QuerySet[PollingStation]:
    """The polling stations this user may see (their territory's; all for HQ)."""
    return scope.filter_by_commune(PollingStation.objects.all(), "commune")


def station_for(scope: Scope, pk: Any) -> PollingStation:
    try:
        return stations_for(scope).select_related("commune", "circonscription").get(pk=str(pk))
    except PollingStation.DoesNotExist:
        raise Http404("No such polling station.") from None
