"""France's administrative map: régions, départements, arrondissements, communes.

Loaded from the INSEE Code officiel géographique shipped in ``territory/data`` (see its
SOURCES.md) by a data migration, so every database has all of France after ``migrate``.
Codes are the primary keys: they are what every public file (results, BAN, REU) carries.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


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
        """Communes whose name or code starts with ``text`` (accents and case ignored)."""
        from campagne.lib.text import search_key

        text = text.strip()
        if text.isdigit():
            return self.filter(code__startswith=text)
        key = search_key(text)
        return self.filter(search_name__startswith=key) if key else self.none()


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

    class Meta:
        verbose_name = _("code postal")
        constraints = [
            models.UniqueConstraint(fields=["code", "commune"], name="unique_postcode_commune")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.commune.name}"
