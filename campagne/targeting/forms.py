"""Forms of the targeting pages: a profile, and the filters of its ranked stations."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from django import forms
from django.db.models import Count, QuerySet
from django.utils.translation import gettext_lazy as _

from campagne.accounts.scopes import Scope
from campagne.elections.models import Candidate, Circonscription, Election
from campagne.targeting.filters import SORT_KEYS, StationFilters
from campagne.targeting.models import MAX_WEIGHT, PARTS, TargetingProfile
from campagne.territory.models import Commune, Departement

# Elections with more candidates than this (législatives, municipales: one set per
# contest) are chosen by nuance; their candidates are not listed one by one.
MAX_LISTED_CANDIDATES = 40
_CODES_SPLIT = re.compile(r"[\s,;]+")


def tickable_candidates(elections: QuerySet[Election] | list[Election]) -> list[Candidate]:
    """The candidates that can be ticked one by one, by election and panneau."""
    ids = [e.pk for e in elections]
    small = (
        Candidate.objects.filter(election_id__in=ids)
        .values("election_id")
        .annotate(count=Count("pk"))
        .filter(count__lte=MAX_LISTED_CANDIDATES)
        .values("election_id")
    )
    return list(
        Candidate.objects.filter(election_id__in=small)
        .select_related("election")
        .order_by("-election__year", "election__kind", "election__round", "panneau", "pk")
    )


def nuance_choices(elections: QuerySet[Election] | list[Election]) -> list[tuple[str, str]]:
    codes = (
        Candidate.objects.filter(election__in=elections)
        .exclude(nuance="")
        .values_list("nuance", flat=True)
        .distinct()
    )
    return [(code, code) for code in sorted({c.upper() for c in codes})]


class CandidateChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Candidate) -> str:
        nuance = f" ({obj.nuance})" if obj.nuance else ""
        return f"{obj.display_name}{nuance}"


class ProfileForm(forms.Form):
    name = forms.CharField(label=_("Nom du profil"), max_length=120)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    shared = forms.BooleanField(
        label=_("Partager avec les organisateurs (chacun y voit son territoire)"), required=False
    )
    elections = forms.ModelMultipleChoiceField(
        label=_("Élections"),
        queryset=Election.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Avec plusieurs élections, les voix et les inscrits sont additionnés."),
    )
    candidates = CandidateChoiceField(
        label=_("Nos candidats ou listes"),
        queryset=Candidate.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    nuances = forms.MultipleChoiceField(
        label=_("Nos nuances"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Tous les candidats de ces nuances, dans chaque élection choisie."),
    )
    comparison_election = forms.ModelChoiceField(
        label=_("Élection de comparaison (évolution de la participation)"),
        queryset=Election.objects.all(),
        required=False,
        empty_label=_("Aucune"),
    )
    min_inscrits = forms.IntegerField(
        label=_("Taille minimale d'un bureau (inscrits)"), min_value=0, initial=0, required=False
    )
    departements = forms.ModelMultipleChoiceField(
        label=_("Départements"), queryset=Departement.objects.none(), required=False
    )
    communes = forms.CharField(
        label=_("Communes (codes INSEE)"),
        required=False,
        help_text=_("Séparés par des espaces ou des virgules ; vide : tout le territoire choisi."),
    )

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope
        for part in PARTS:
            self.fields[part.weight_field] = forms.IntegerField(
                label=part.label,
                min_value=0,
                max_value=MAX_WEIGHT,
                initial=TargetingProfile._meta.get_field(part.weight_field).default,
                help_text=part.help,
            )
        if not scope.is_admin:
            del self.fields["shared"]
        self.fields["departements"].queryset = self._departements()
        chosen = self._chosen_elections()
        self.fields["candidates"].queryset = Candidate.objects.filter(
            pk__in=[c.pk for c in tickable_candidates(chosen)]
        ).select_related("election")
        self.fields["nuances"].choices = nuance_choices(chosen)

    def _departements(self) -> QuerySet[Departement]:
        if self.scope.is_hq:
            return Departement.objects.all()
        territories = self.scope.territories
        return Departement.objects.filter(
            pk__in=territories.departements
        ) | Departement.objects.filter(region_id__in=territories.regions)

    def _chosen_elections(self) -> QuerySet[Election]:
        """The elections ticked in the data, or the initial ones (all for a new profile)."""
        if self.is_bound:
            raw = self.data.getlist("elections") if hasattr(self.data, "getlist") else []
            ids = [value for value in raw if str(value).isdigit()]
            return Election.objects.filter(pk__in=ids)
        initial = self.initial.get("elections")
        if initial:
            return Election.objects.filter(pk__in=[getattr(e, "pk", e) for e in initial])
        return Election.objects.all()

    def candidate_groups(self) -> list[tuple[Election, list[Any]]]:
        """The candidate checkboxes grouped by election, for the template."""
        groups: dict[int, list[Any]] = defaultdict(list)
        elections: dict[int, Election] = {}
        choices = {c.pk: c for c in self.fields["candidates"].queryset}
        for widget in self["candidates"]:
            candidate = choices.get(int(str(widget.data["value"])))
            if candidate is None:
                continue
            elections[candidate.election_id] = candidate.election
            groups[candidate.election_id].append(widget)
        return [(elections[pk], groups[pk]) for pk in groups]

    def clean_communes(self) -> list[Commune]:
        codes = [code.upper() for code in _CODES_SPLIT.split(self.cleaned_data["communes"]) if code]
        found = {c.pk: c for c in Commune.objects.filter(pk__in=codes)}
        unknown = [code for code in codes if code not in found]
        if unknown:
            raise forms.ValidationError(
                _("Codes INSEE inconnus : %(codes)s") % {"codes": ", ".join(unknown)}
            )
        return [found[code] for code in dict.fromkeys(codes)]

    def action_fields(self) -> dict[str, Any]:
        """The cleaned data as the arguments of ``actions.create_profile``."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "description": data.get("description") or "",
            "shared": bool(data.get("shared")),
            "elections": list(data["elections"]),
            "candidates": list(data["candidates"]),
            "nuances": list(data["nuances"]),
            "comparison_election": data.get("comparison_election"),
            "weights": {part.key: data[part.weight_field] for part in PARTS},
            "min_inscrits": data.get("min_inscrits") or 0,
            "departements": list(data["departements"]),
            "communes": data["communes"],
        }

    @staticmethod
    def initial_for(profile: TargetingProfile) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "name": profile.name,
            "description": profile.description,
            "shared": profile.shared,
            "elections": list(profile.elections.all()),
            "candidates": list(profile.candidates.all()),
            "nuances": list(profile.nuances),
            "comparison_election": profile.comparison_election,
            "min_inscrits": profile.min_inscrits,
            "departements": list(profile.departements.all()),
            "communes": " ".join(profile.communes.values_list("pk", flat=True)),
        }
        for part in PARTS:
            initial[part.weight_field] = getattr(profile, part.weight_field)
        return initial


SORT_LABELS = {
    "score": _("score"),
    "inscrits": _("inscrits"),
    **{part.key: part.label for part in PARTS},
}


class StationFilterForm(forms.Form):
    departement = forms.ChoiceField(label=_("Département"), required=False)
    commune = forms.CharField(
        label=_("Commune (nom ou code INSEE)"), required=False, max_length=100
    )
    circonscription = forms.ChoiceField(label=_("Circonscription"), required=False)
    min_inscrits = forms.IntegerField(
        label=_("Au moins … inscrits"), required=False, min_value=0, max_value=100_000
    )
    tri = forms.ChoiceField(
        label=_("Trier par"), required=False, choices=[(k, SORT_LABELS[k]) for k in SORT_KEYS]
    )
    ordre = forms.ChoiceField(
        label=_("Ordre"),
        required=False,
        choices=[("desc", _("décroissant")), ("asc", _("croissant"))],
    )

    def __init__(self, *args: Any, scope: Scope, profile: TargetingProfile, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scored = scope.filter_by_commune(profile.scores.all(), "station__commune")
        departements = Departement.objects.filter(
            pk__in=scored.values("station__departement_id")
        ).order_by("code")
        self.fields["departement"].choices = [("", _("Tous"))] + [
            (d.code, str(d)) for d in departements
        ]
        circonscriptions = Circonscription.objects.filter(
            pk__in=scored.values("station__circonscription_id")
        ).order_by("code")
        self.fields["circonscription"].choices = [("", _("Toutes"))] + [
            (c.code, f"{c.code} {c.name}".strip()) for c in circonscriptions
        ]

    def filters(self) -> StationFilters:
        data = self.cleaned_data
        return StationFilters(
            departement=data.get("departement") or "",
            commune=(data.get("commune") or "").strip(),
            circonscription=data.get("circonscription") or "",
            min_inscrits=data.get("min_inscrits"),
            sort=data.get("tri") or "score",
            descending=(data.get("ordre") or "desc") == "desc",
        )
