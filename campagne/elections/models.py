"""Polling stations, street addresses, elections and their per-station results.

The key every public file shares is the polling station's ``<INSEE commune>_<4-digit
number>`` (``id_brut_miom`` in INSEE's REU tables, ``codeBureauVote`` in the official
contours): it is ``PollingStation.id``, kept exactly as the file of that election built it.
A station of a commune that has since merged keeps its old key (two merged communes may
both have had a station 0001); its ``commune`` points at the current commune, so that
scoping and aggregation by commune, département or région work across years.

Percentages are never stored: every rate is computed from the counts, by the properties of
``StationResult`` for one row, or by ``StationResultQuerySet`` annotations for many.

Candidates (or lists, binômes) are stored once per election (``Candidate``); a station's
votes are one JSON object on its result, ``StationResult.votes`` = ``{"<candidate id>":
voix}``. A national présidentielle is 69,000 results and 828,000 votes: as rows of their
own the votes would take five times longer to import than the file takes to read (see
bench/import_results.py), while one object per station imports in one pass and still
sums in SQL on SQLite and PostgreSQL alike (``StationResultQuerySet.with_votes``).

Reads go through ``campagne.accounts.scopes.Scope.filter_by_commune`` with the path to the
commune: ``"commune"`` for stations and addresses, ``"station__commune"`` for results,
``"result__station__commune"`` for vote rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, FloatField, IntegerField, Q, Value
from django.db.models.functions import Cast, NullIf
from django.utils.translation import gettext_lazy as _

from campagne.lib.text import search_key
from campagne.territory.models import Commune, Departement


class ElectionKind(models.TextChoices):
    PRESIDENTIELLE = "presidentielle", _("Présidentielle")
    LEGISLATIVES = "legislatives", _("Législatives")
    EUROPEENNES = "europeennes", _("Européennes")
    MUNICIPALES = "municipales", _("Municipales")
    DEPARTEMENTALES = "departementales", _("Départementales")
    REGIONALES = "regionales", _("Régionales")


class Election(models.Model):
    """One round of one election (the Ministry publishes each round as its own file)."""

    kind = models.CharField(_("type"), max_length=20, choices=ElectionKind.choices)
    year = models.PositiveSmallIntegerField(_("année"))
    round = models.PositiveSmallIntegerField(_("tour"), default=1)
    date = models.DateField(_("date du scrutin"), null=True, blank=True)
    label = models.CharField(_("libellé"), max_length=120, blank=True)

    class Meta:
        ordering = ["-year", "kind", "round"]
        verbose_name = _("élection")
        constraints = [
            models.UniqueConstraint(fields=["kind", "year", "round"], name="unique_election_round")
        ]

    def __str__(self) -> str:
        return self.label or self.default_label()

    def default_label(self) -> str:
        return _("%(kind)s %(year)s, tour %(round)s") % {
            "kind": self.get_kind_display(),
            "year": self.year,
            "round": self.round,
        }


class Circonscription(models.Model):
    """A circonscription législative, coded ``<département>-<2-digit number>`` ("04-01")."""

    code = models.CharField(_("code"), max_length=8, primary_key=True)
    departement = models.ForeignKey(
        Departement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="circonscriptions",
        help_text=_("Vide pour les Français de l'étranger et les collectivités hors COG."),
    )
    number = models.PositiveSmallIntegerField(_("numéro"))
    name = models.CharField(_("nom"), max_length=100, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("circonscription législative")
        verbose_name_plural = _("circonscriptions législatives")

    def __str__(self) -> str:
        return self.name or self.code

    @staticmethod
    def make_code(departement_code: str, number: int | str) -> str:
        return f"{departement_code}-{int(number):02d}"


class PollingStationQuerySet(models.QuerySet["PollingStation"]):
    def in_commune(self, code: str) -> PollingStationQuerySet:
        """A commune's stations; Paris, Lyon, Marseille include their arrondissements'."""
        return self.filter(Q(commune_id=code) | Q(commune__parent_id=code))

    def in_departement(self, code: str) -> PollingStationQuerySet:
        return self.filter(departement_id=code)

    def located(self) -> PollingStationQuerySet:
        return self.filter(latitude__isnull=False)


class PollingStation(models.Model):
    """A bureau de vote, keyed ``<INSEE commune>_<4-digit number>`` ("04070_0001").

    ``commune`` and ``departement`` are empty only for stations outside the COG
    (Français de l'étranger "ZZ…", overseas collectivities such as Saint-Pierre-et-Miquelon):
    they are kept so that national totals add up, but only HQ sees them.
    """

    id = models.CharField(_("code du bureau"), max_length=16, primary_key=True)
    commune = models.ForeignKey(
        Commune,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="polling_stations",
    )
    departement = models.ForeignKey(
        Departement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="polling_stations",
    )
    number = models.CharField(_("numéro"), max_length=8)
    # Text fields default to "" in the database too: bulk inserts of stations from a
    # results file (69,000 rows) leave them out.
    name = models.CharField(_("nom"), max_length=200, blank=True, default="", db_default="")
    # The polling place's address as INSEE's REU gives it (number and street, postcode).
    address_line = models.CharField(
        _("adresse du lieu de vote"), max_length=200, blank=True, default="", db_default=""
    )
    postal_code = models.CharField(
        _("code postal"), max_length=5, blank=True, default="", db_default=""
    )
    circonscription = models.ForeignKey(
        Circonscription,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="polling_stations",
    )
    # INSEE's REU station id (``id_brut_reu``): what table-adresses-reu.csv refers to.
    reu_id = models.CharField(max_length=40, blank=True, default="", db_default="")
    # GeoJSON geometry (Polygon or MultiPolygon, lon/lat WGS84) from the contours files.
    polygon = models.JSONField(_("contour"), null=True, blank=True)
    # The polygon's centroid, or the polling place's point when there is no polygon.
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    # The polygon's bounding box, to find the stations in a map's view without GIS.
    min_latitude = models.FloatField(null=True, blank=True)
    min_longitude = models.FloatField(null=True, blank=True)
    max_latitude = models.FloatField(null=True, blank=True)
    max_longitude = models.FloatField(null=True, blank=True)

    objects = PollingStationQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("bureau de vote")
        verbose_name_plural = _("bureaux de vote")

    def __str__(self) -> str:
        label = _("Bureau %(number)s") % {"number": self.number}
        return f"{label} {self.name}".strip() if self.name else f"{label} ({self.id})"

    @property
    def commune_code(self) -> str:
        """The commune code of the key, as published (the old code for a merged commune)."""
        return self.id.rpartition("_")[0]


class AddressSource(models.TextChoices):
    BAN = "ban", _("Base Adresse Nationale")
    BAL = "bal", _("Base Adresse Locale")
    REU = "reu", _("Répertoire électoral unique (INSEE)")


class Address(models.Model):
    """A street address point from the BAN, a Base Adresse Locale or INSEE's REU.

    ``match_key`` ("number|suffix|street|insee", see ``campagne.elections.addresses``) is
    what a person's typed address is matched on, offline, to find their polling station.
    """

    source = models.CharField(max_length=3, choices=AddressSource.choices)
    source_id = models.CharField(_("identifiant"), max_length=64)
    number = models.PositiveIntegerField(_("numéro"), null=True, blank=True)
    suffix = models.CharField(_("indice de répétition"), max_length=16, blank=True)
    street = models.CharField(_("voie"), max_length=200, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=5, blank=True)
    commune = models.ForeignKey(
        Commune, on_delete=models.PROTECT, null=True, blank=True, related_name="addresses"
    )
    longitude = models.FloatField(null=True, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    station = models.ForeignKey(
        PollingStation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="addresses",
    )
    match_key = models.CharField(max_length=255, db_index=True)

    class Meta:
        verbose_name = _("adresse")
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], name="unique_address_source")
        ]

    def __str__(self) -> str:
        number = f"{self.number or ''}{(' ' + self.suffix) if self.suffix else ''}".strip()
        return " ".join(part for part in (number, self.street, self.postal_code) if part)


def _candidate_keys(candidates: Iterable[Candidate | int]) -> list[str]:
    return [str(int(c.pk if isinstance(c, Candidate) else c)) for c in candidates]


class VotesOf(models.Func):
    """The voix of one candidate in a result's ``votes`` object (0 when absent).

    Django's JSON key lookups read a numeric key ("17") as an array index, hence this
    small expression, written for SQLite and PostgreSQL.
    """

    output_field = IntegerField()

    def __init__(self, candidate_id: int | str, field: str = "votes") -> None:
        self.key = str(int(candidate_id))
        super().__init__(F(field))

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"COALESCE(JSON_EXTRACT({sql}, %s), 0)", [*params, f'$."{self.key}"']

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"COALESCE(({sql} ->> %s)::integer, 0)", [*params, self.key]


class StationResultQuerySet(models.QuerySet["StationResult"]):
    def with_rates(self) -> StationResultQuerySet:
        """Annotate ratios (0–1) computed from the counts, None where the divisor is 0.

        Named ``*_ratio`` so as not to shadow the row properties (``abstention_rate``).
        """

        def ratio(numerator: str, denominator: str) -> models.Expression:
            return Cast(F(numerator), FloatField()) / NullIf(F(denominator), 0)

        return self.annotate(
            abstention_ratio=ratio("abstentions", "inscrits"),
            turnout_ratio=ratio("votants", "inscrits"),
            exprimes_ratio=ratio("exprimes", "inscrits"),
            blancs_ratio=ratio("blancs", "votants"),
            nuls_ratio=ratio("nuls", "votants"),
        )

    def with_votes(
        self, candidates: Iterable[Candidate | int], name: str = "side_voix"
    ) -> StationResultQuerySet:
        """Annotate ``name``: the votes these candidates got in each station (0 if none).

        Reads the keys of ``votes`` in SQL, so it filters and orders like any column::

            results.with_votes(ours).filter(side_voix__gte=100).order_by("-side_voix")
        """
        keys = _candidate_keys(candidates)
        if not keys:
            return self.annotate(**{name: Value(0, output_field=IntegerField())})
        terms = [VotesOf(key) for key in keys]
        total: models.Expression = terms[0]
        for term in terms[1:]:
            total = total + term
        return self.annotate(**{name: total})

    def for_election(self, election: Election | int) -> StationResultQuerySet:
        return self.filter(election=election)


class StationResult(models.Model):
    """One station's totals for one election, as counted (never percentages), and its votes.

    ``blancs`` and ``nuls`` are empty when the file only gives their sum (before 2014 blank
    votes counted as nuls, and the 2012/2014 files give inscrits, votants and exprimés).
    ``votes`` maps a ``Candidate`` id (as a string: JSON keys are) to its voix.
    """

    # No index of its own: the unique constraint's index starts with election_id and
    # serves "all results of one election".
    election = models.ForeignKey(
        Election, on_delete=models.CASCADE, related_name="results", db_index=False
    )
    station = models.ForeignKey(PollingStation, on_delete=models.CASCADE, related_name="results")
    inscrits = models.PositiveIntegerField()
    abstentions = models.PositiveIntegerField()
    votants = models.PositiveIntegerField()
    blancs = models.PositiveIntegerField(null=True, blank=True)
    nuls = models.PositiveIntegerField(null=True, blank=True)
    exprimes = models.PositiveIntegerField(_("exprimés"))
    votes = models.JSONField(_("voix par candidat"), default=dict, blank=True)

    objects = StationResultQuerySet.as_manager()

    class Meta:
        verbose_name = _("résultat d'un bureau")
        verbose_name_plural = _("résultats des bureaux")
        constraints = [
            models.UniqueConstraint(fields=["election", "station"], name="unique_station_result")
        ]

    def __str__(self) -> str:
        return f"{self.election} · {self.station_id}"

    @staticmethod
    def rate(numerator: int | None, denominator: int | None) -> float | None:
        """``numerator / denominator``, None when either is unknown or the divisor is 0."""
        if numerator is None or not denominator:
            return None
        return numerator / denominator

    @property
    def abstention_rate(self) -> float | None:
        return self.rate(self.abstentions, self.inscrits)

    @property
    def turnout_rate(self) -> float | None:
        return self.rate(self.votants, self.inscrits)

    @property
    def blancs_nuls(self) -> int:
        """Blank and spoilt ballots together (all a pre-2014 file knows)."""
        return self.votants - self.exprimes

    def votes_for(self, candidates: Iterable[Candidate | int]) -> int:
        """The votes these candidates got here."""
        return sum(int(self.votes.get(key, 0)) for key in _candidate_keys(candidates))

    def share_of_exprimes(self, candidates: Iterable[Candidate | int]) -> float | None:
        return self.rate(self.votes_for(candidates), self.exprimes)

    def share_of_inscrits(self, candidates: Iterable[Candidate | int]) -> float | None:
        return self.rate(self.votes_for(candidates), self.inscrits)

    def candidate_votes(self) -> list[tuple[Candidate, int]]:
        """(candidate, voix) pairs, by panneau (one query)."""
        candidates = Candidate.objects.filter(pk__in=[int(k) for k in self.votes]).order_by(
            "panneau", "pk"
        )
        return [(candidate, int(self.votes[str(candidate.pk)])) for candidate in candidates]

    def check_identities(self) -> list[str]:
        """The count identities this row breaks (the importers report them as anomalies)."""
        broken = []
        if self.inscrits != self.votants + self.abstentions:
            broken.append("inscrits")
        if (
            self.blancs is not None
            and self.nuls is not None
            and self.votants != self.exprimes + self.blancs + self.nuls
        ):
            broken.append("votants")
        if self.votes and sum(int(v) for v in self.votes.values()) != self.exprimes:
            broken.append("voix")
        return broken


class CandidateQuerySet(models.QuerySet["Candidate"]):
    def matching(
        self, *, nuances: Iterable[str] = (), names: Iterable[str] = (), lists: Iterable[str] = ()
    ) -> CandidateQuerySet:
        """Candidates whose nuance, last name or list label (short or long) is given;
        names and labels compare without case or accents ("melenchon" finds MÉLENCHON)."""
        wanted_nuances = {n.strip().upper() for n in nuances if n.strip()}
        wanted_names = {search_key(n) for n in names} - {""}
        wanted_lists = {search_key(label) for label in lists} - {""}
        found = [
            pk
            for pk, nuance, last_name, short, label in self.values_list(
                "pk", "nuance", "last_name", "list_short_label", "list_label"
            )
            if nuance.upper() in wanted_nuances
            or search_key(last_name) in wanted_names
            or {search_key(short), search_key(label)} & wanted_lists
        ]
        return self.filter(pk__in=found)


class Candidate(models.Model):
    """A candidate, binôme or list in one election.

    ``contest`` tells apart the candidates of local contests that share a panneau number:
    the circonscription code for législatives ("04-01"), the canton for départementales,
    the commune for municipales; empty for a national ballot or when the file does not say
    (2024 files have no circonscription column).
    """

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="candidates")
    contest = models.CharField(_("circonscription du scrutin"), max_length=16, blank=True)
    panneau = models.PositiveSmallIntegerField(_("numéro de panneau"), null=True, blank=True)
    nuance = models.CharField(_("nuance"), max_length=16, blank=True)
    sex = models.CharField(_("sexe"), max_length=1, blank=True)
    last_name = models.CharField(_("nom"), max_length=200, blank=True)
    first_name = models.CharField(_("prénom"), max_length=100, blank=True)
    list_short_label = models.CharField(_("liste (libellé abrégé)"), max_length=100, blank=True)
    list_label = models.CharField(_("liste"), max_length=250, blank=True)

    objects = CandidateQuerySet.as_manager()

    class Meta:
        ordering = ["election", "contest", "panneau"]
        verbose_name = _("candidat")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        person = " ".join(part for part in (self.first_name, self.last_name) if part)
        return person or self.list_label or self.list_short_label or f"#{self.panneau}"

    def total_votes(self) -> int:
        """This candidate's votes over every station of the election (one SQL sum)."""
        result = (
            StationResult.objects.filter(election_id=self.election_id)
            .with_votes([self.pk], name="candidate_voix")
            .aggregate(total=models.Sum("candidate_voix"))
        )
        return int(result["total"] or 0)


class ImportKind(models.TextChoices):
    RESULTS = "results", _("Résultats")
    ADDRESSES = "addresses", _("Adresses")
    STATIONS = "stations", _("Bureaux de vote (REU)")
    CONTOURS = "contours", _("Contours des bureaux")


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("En attente")
    RUNNING = "running", _("En cours")
    DONE = "done", _("Terminé")
    FAILED = "failed", _("Échec")


class ImportJob(models.Model):
    """One import of one file, from the command line or the upload page.

    The task and the progress page read it; ``summary`` is the JSON line the command
    prints, ``anomalies`` every row or station that broke a check (kept, not dropped).
    """

    kind = models.CharField(_("type"), max_length=12, choices=ImportKind.choices)
    status = models.CharField(
        _("état"), max_length=8, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    # Relative to MEDIA_ROOT for uploads; absolute for a file imported from the command line.
    path = models.CharField(_("fichier"), max_length=500)
    original_name = models.CharField(_("nom du fichier"), max_length=255, blank=True)
    options = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    # Share of the file read so far, 0–1 (bytes for CSV, rows for XLSX).
    fraction = models.FloatField(default=0.0)
    summary = models.JSONField(default=dict, blank=True)
    anomalies = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import de fichier")
        verbose_name_plural = _("imports de fichiers")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.original_name or self.path}"

    @property
    def finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        return max(0, min(99, int(self.fraction * 100)))
