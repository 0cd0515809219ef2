"""France's administrative map: régions, départements, arrondissements, communes.

Loaded from the INSEE Code officiel géographique shipped in ``territory/data`` (see its
SOURCES.md) by a data migration, so every database has all of France after ``migrate``.
Codes are the primary keys: they are what every public file (results, BAN, REU) carries.
"""

from collections import defaultdict

from django.db import models
from django.utils.translation import gettext_lazy as _

from campagne.lib.text import search_key
from campagne.territory.places import (
    departements_for_postcode,
    match_places,
    normalize_postcode,
    place_key,
)


class Region(models.Model):
    code = models.CharField(_("code"), max_length=3, primary_key=True)
    name = models.CharField(_("nom"), max_length=100)

    class Meta:
        ordering = ["name"]
        verbose_name = _("région")

    def __str__(self) -> str:
        return self.name


class Departement(models.Model):
    code = models.CharField(_("code"), max_length=3, primary_key=True)
    name = models.CharField(_("nom"), max_length=100)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="departements")

    class Meta:
        ordering = ["code"]
        verbose_name = _("département")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Arrondissement(models.Model):
    code = models.CharField(_("code"), max_length=4, primary_key=True)
    name = models.CharField(_("nom"), max_length=100)
    departement = models.ForeignKey(
        Departement, on_delete=models.PROTECT, related_name="arrondissements"
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("arrondissement")

    def __str__(self) -> str:
        return self.name


class CommuneQuerySet(models.QuerySet["Commune"]):
    def search(self, text: str) -> "CommuneQuerySet":
        """Communes whose name, a word of it, code or postcode starts with ``text``.

        Accents, case and punctuation are ignored, and "st"/"ste" stand for
        "saint"/"sainte" as on envelopes.
        """
        text = text.strip()
        if text.isdigit():
            return self.filter(
                models.Q(code__startswith=text) | models.Q(postal_codes__code__startswith=text)
            ).distinct()
        condition = models.Q()
        for key in {search_key(text), place_key(text)} - {""}:
            condition |= models.Q(search_name__startswith=key)
            condition |= models.Q(search_name__contains=f" {key}")
        return self.filter(condition) if condition else self.none()

    def autocomplete(self, text: str = "", postcode: str = "") -> "CommuneQuerySet":
        """Communes for a form's autocomplete, the most populous first.

        ``text`` is what has been typed so far (a name, a code or a postcode prefix);
        ``postcode`` a full postcode that narrows the list. Neither gives nothing.
        """
        communes = self
        if postcode.strip():
            communes = communes.for_postcode(postcode)
        if text.strip():
            communes = communes.search(text)
        elif not postcode.strip():
            return self.none()
        ordered_postcodes = PostalCode.objects.order_by("code")
        return communes.prefetch_related(
            models.Prefetch("postal_codes", queryset=ordered_postcodes)
        ).order_by(models.F("population").desc(nulls_last=True), "name", "code")

    def for_postcode(self, code: str, town: str | None = None) -> "CommuneQuerySet":
        """The communes a postcode serves, narrowed to those named ``town`` when given.

        ``town`` matches the commune's name, a former commune merged into it, La Poste's
        libellé d'acheminement or a place of its ligne 5, forgiving case, accents,
        hyphens, "ST"/"SAINT", "CEDEX" and typos (``places.match_places``).
        """
        postcode = normalize_postcode(code)
        if postcode is None:
            return self.none()
        served = self.filter(postal_codes__code=postcode)
        if not town or not place_key(town):
            return served
        names: dict[str, set[str]] = defaultdict(set)
        rows = PostalCode.objects.filter(code=postcode).values_list(
            "commune_id", "commune__name", "search_names"
        )
        for commune_code, commune_name, search_names in rows:
            names[commune_code].update([commune_name, *search_names.split("|")])
        return served.filter(code__in=match_places(town, names))

    def resolve(self, postcode: str | None, town: str | None = None) -> "Commune | None":
        """The one commune a postcode and town designate, or None when unclear.

        A postcode with no commune (a CEDEX code, a typo) falls back to the town's exact
        name within the postcode's département; no postcode, to the exact name in France.
        A town that contradicts a known postcode gives None rather than a guess.
        """
        normalized = normalize_postcode(postcode)
        if normalized and PostalCode.objects.filter(code=normalized).exists():
            found = list(self.for_postcode(normalized, town)[:2])
            return found[0] if len(found) == 1 else None
        key = place_key(town or "")
        if not key:
            return None
        named = self.filter(search_name=key)
        if normalized:
            named = named.filter(departement_id__in=departements_for_postcode(normalized))
        found = list(named[:2])
        return found[0] if len(found) == 1 else None


class Commune(models.Model):
    """A current commune (COG type COM), or a Paris/Lyon/Marseille municipal arrondissement.

    Arrondissements municipaux (ARM) are kept as communes of their own with ``parent`` set,
    because polling stations and results are filed under them.
    """

    code = models.CharField(_("code INSEE"), max_length=5, primary_key=True)
    name = models.CharField(_("nom"), max_length=200)
    search_name = models.CharField(max_length=200, db_index=True, editable=False)
    departement = models.ForeignKey(Departement, on_delete=models.PROTECT, related_name="communes")
    arrondissement = models.ForeignKey(
        Arrondissement, on_delete=models.PROTECT, null=True, blank=True, related_name="communes"
    )
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="districts"
    )
    population = models.PositiveIntegerField(_("population municipale"), null=True, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)

    objects = CommuneQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("commune")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def region_id(self) -> str:
        return self.departement.region_id


class PostalCode(models.Model):
    """La Poste's postcode ↔ commune table: a postcode may serve several communes."""

    code = models.CharField(_("code postal"), max_length=5, db_index=True)
    commune = models.ForeignKey(Commune, on_delete=models.CASCADE, related_name="postal_codes")
    place_name = models.CharField(_("libellé d'acheminement"), max_length=100, blank=True)
    # Every name La Poste files under this postcode for the commune (a former commune's,
    # the libellé d'acheminement, ligne 5 places), folded and "|"-separated: town matching
    # reads them so that an old address still finds its commune.
    search_names = models.TextField(blank=True, editable=False)

    class Meta:
        verbose_name = _("code postal")
        constraints = [
            models.UniqueConstraint(fields=["code", "commune"], name="unique_postcode_commune")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.commune.name}"


def resolve_commune(postcode: str | None, town: str | None = None) -> Commune | None:
    """The one commune a postcode and town designate, or None (see ``CommuneQuerySet.resolve``)."""
    return Commune.objects.resolve(postcode, town)
