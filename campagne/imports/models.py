"""Contact imports, the duplicates they reveal, and the merges that resolve them.

An ``ImportBatch`` is one file imported by one user within their scope: its mapping, the
origin of its data (CNIL), its consent declarations, and its counters, which always add up
(``rows = created + updated + merged + review + rejected``). It is processed in chunks;
each chunk commits together with ``next_row``, so a killed worker resumes where the last
commit left off. ``ImportRejectedRow`` keeps every row that was not imported, with why.

``DuplicateCandidate`` is a pair of people who may be the same person, with an
explainable score; ``Merge`` records a merge with what is needed to undo it exactly.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campagne.people.models import Person

COUNTERS = ("created", "updated", "merged", "review", "rejected")


class ImportBatch(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("À vérifier")
        QUEUED = "queued", _("En attente")
        RUNNING = "running", _("En cours")
        DONE = "done", _("Terminé")
        FAILED = "failed", _("Échec")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="import_batches",
        verbose_name=_("auteur"),
    )
    owner_label = models.CharField(max_length=254, blank=True)
    # Uploaded through the pages; the command line reads the file where it is (source_path).
    file = models.FileField(upload_to="imports/%Y/%m/", blank=True)
    source_path = models.CharField(max_length=1000, blank=True)
    original_name = models.CharField(_("fichier"), max_length=255)
    file_sha256 = models.CharField(max_length=64, db_index=True, blank=True)
    file_format = models.CharField(max_length=10, blank=True)
    encoding = models.CharField(max_length=20, blank=True)
    delimiter = models.CharField(max_length=2, blank=True)
    origin = models.CharField(
        _("origine des données"),
        max_length=200,
        help_text=_("Où et comment ces données ont été collectées (CNIL)."),
    )
    # {"headers": [...], "fields": [field or "" per column]}
    mapping = models.JSONField(default=dict, blank=True)
    # {channel: {"mode": "none" | "column" | "statement", "proof": "…"}}
    consents = models.JSONField(default=dict, blank=True)
    overwrite = models.BooleanField(
        _("remplacer les valeurs existantes"),
        default=False,
        help_text=_("Sinon, le fichier ne fait que compléter les champs vides."),
    )
    tags = models.JSONField(_("étiquettes ajoutées à tous"), default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    rows = models.PositiveIntegerField(_("lignes"), default=0)
    created = models.PositiveIntegerField(_("créées"), default=0)
    updated = models.PositiveIntegerField(_("mises à jour"), default=0)
    merged = models.PositiveIntegerField(_("fusionnées"), default=0)
    review = models.PositiveIntegerField(_("à examiner"), default=0)
    rejected = models.PositiveIntegerField(_("rejetées"), default=0)
    # Data rows committed so far: where a resumed run starts again.
    next_row = models.PositiveIntegerField(default=0)
    estimated_rows = models.PositiveIntegerField(null=True, blank=True)
    # {"warning text": count}: what was imported but deserves a look.
    warnings = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # People indexes dropped while a large import runs on SQLite, name → CREATE INDEX
    # statement, created again when the batch ends (indexes.py).
    suspended_indexes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import")

    def __str__(self) -> str:
        return f"#{self.pk} {self.original_name}"

    @property
    def counts(self) -> dict[str, int]:
        return {"rows": self.rows, **{name: getattr(self, name) for name in COUNTERS}}

    @property
    def progress(self) -> int:
        """Percent done, for the progress bar (99 until the last chunk has committed)."""
        if self.status == self.Status.DONE:
            return 100
        if not self.estimated_rows:
            return 0
        return min(99, int(100 * self.next_row / self.estimated_rows))

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    def is_stalled(self, now: Any = None) -> bool:
        """Running, but no chunk committed for ``CAMPAGNE_IMPORT_STALL_SECONDS``: its
        worker is gone (a running ``campagne worker`` queues it again by itself)."""
        if self.status != self.Status.RUNNING:
            return False
        last = self.heartbeat_at or self.started_at or self.created_at
        elapsed = ((now or timezone.now()) - last).total_seconds()
        return elapsed > settings.CAMPAGNE_IMPORT_STALL_SECONDS

    def file_path(self) -> str:
        return self.file.path if self.file else self.source_path


class ImportRejectedRow(models.Model):
    """A row that was not imported: its cells as they were, and the reasons.

    The cells of a row refused because the person was erased are not kept: keeping them
    would bring the erased data back.
    """

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="rejected_rows")
    line = models.PositiveIntegerField(_("ligne"))
    cells = models.JSONField(default=list)
    reasons = models.JSONField(default=list)

    class Meta:
        ordering = ["batch", "line"]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.line}"


class DuplicateCandidateQuerySet(models.QuerySet["DuplicateCandidate"]):
    def open(self) -> DuplicateCandidateQuerySet:
        return self.filter(status=DuplicateCandidate.Status.OPEN)


class DuplicateCandidate(models.Model):
    """Two people who may be one; ``person_a`` has the lower id. Never merged silently."""

    class Status(models.TextChoices):
        OPEN = "open", _("À examiner")
        DISMISSED = "dismissed", _("Personnes différentes")

    person_a = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    person_b = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    score = models.PositiveSmallIntegerField(_("score"))
    # [{"part": "prénom", "detail": "Jean / Jean", "points": 30}, …]: why they look alike.
    reasons = models.JSONField(default=list)
    batch = models.ForeignKey(
        ImportBatch, on_delete=models.SET_NULL, null=True, blank=True, related_name="candidates"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = DuplicateCandidateQuerySet.as_manager()

    class Meta:
        ordering = ["-score", "id"]
        verbose_name = _("doublon possible")
        constraints = [
            models.UniqueConstraint(fields=["person_a", "person_b"], name="unique_candidate_pair"),
            models.CheckConstraint(
                condition=models.Q(person_a__lt=models.F("person_b")), name="candidate_ordered"
            ),
        ]
        indexes = [models.Index(fields=["status", "-score"], name="candidate_queue")]

    def __str__(self) -> str:
        return f"{self.person_a_id}~{self.person_b_id} ({self.score})"


class Merge(models.Model):
    """One person merged into another, with what is needed to undo it.

    ``snapshot`` holds the merged-away person exactly (fields, consents, tags, other
    e-mails and phones, duplicate candidates) and the ids of every row moved to the
    survivor (timeline events…); ``survivor_before`` / ``survivor_after`` hold the
    survivor's values around the merge, so that an undo restores only what nobody changed
    since. Deleted with the survivor: erasing someone erases their merge history too.
    """

    survivor = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    merged_id = models.BigIntegerField(_("fiche fusionnée"))
    snapshot = models.JSONField()
    survivor_before = models.JSONField()
    survivor_after = models.JSONField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True)
    at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("fusion")

    def __str__(self) -> str:
        return f"#{self.merged_id} → #{self.survivor_id}"

    @property
    def merged_name(self) -> str:
        person = self.snapshot.get("person", {})
        return f"{person.get('first_name', '')} {person.get('last_name', '')}".strip()
