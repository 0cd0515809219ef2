"""The audit log: who exported, erased or merged what, and when."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """One sensitive action (an export, an erasure, a purge…), kept for accountability.

    ``details`` holds what is needed to answer "who saw what": the filter of an export,
    the number of rows, the format. It never holds the personal data itself.
    """

    class Action(models.TextChoices):
        EXPORT = "export", _("Export")
        ERASE = "erase", _("Effacement")
        PURGE = "purge", _("Purge de rétention")
        DATA_EXPORT = "data_export", _("Export RGPD d'une personne")
        MERGE = "merge", _("Fusion de fiches")
        MERGE_UNDO = "merge_undo", _("Annulation de fusion")

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_entries",
    )
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=30, choices=Action.choices)
    subject = models.CharField(_("objet"), max_length=100)
    row_count = models.PositiveIntegerField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("entrée d'audit")
        verbose_name_plural = _("journal d'audit")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.subject}"
