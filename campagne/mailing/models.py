"""E-mail campaigns: senders, mailings and their recipients.

A mailing's audience is frozen when sending starts into ``Recipient`` rows, one per
distinct address: these rows are the work items that workers claim and send (see
``campagne.mailing.sending`` for the states and the exactly-once rule). Counters are
computed from the rows, never stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models import Count
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campagne.accounts.models import Role

if TYPE_CHECKING:
    from campagne.accounts.scopes import Scope


class Sender(models.Model):
    """A From identity. Organizers may only use the ones an HQ admin has validated."""

    name = models.CharField(_("nom affiché"), max_length=120)
    address = models.EmailField(_("adresse d'expédition"))
    reply_to = models.EmailField(_("adresse de réponse"), blank=True)
    validated = models.BooleanField(_("validé par le QG"), default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("expéditeur")

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>"

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2].lower()


class MailingQuerySet(models.QuerySet["Mailing"]):
    def visible_to(self, scope: Scope) -> MailingQuerySet:
        """HQ sees every mailing; an organizer, the ones they created; others, none."""
        if scope.is_hq:
            return self
        if scope.role == Role.ORGANIZER:
            return self.filter(created_by=scope.user)
        return self.none()


class Mailing(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Brouillon")
        SCHEDULED = "scheduled", _("Programmé")
        SENDING = "sending", _("En cours d'envoi")
        PAUSED = "paused", _("En pause")
        SENT = "sent", _("Envoyé")
        CANCELLED = "cancelled", _("Annulé")

    sender = models.ForeignKey(
        Sender, on_delete=models.PROTECT, related_name="mailings", verbose_name=_("expéditeur")
    )
    subject = models.CharField(_("objet"), max_length=200)
    preheader = models.CharField(_("texte d'aperçu"), max_length=200, blank=True)
    body = models.TextField(_("message (Markdown)"))
    # Why the recipients receive it (CNIL): shown in the footer of every message.
    reason = models.CharField(
        _("pourquoi les destinataires le reçoivent"),
        max_length=300,
        default=_("Vous avez accepté de recevoir les e-mails de la campagne."),
    )
    segments = models.ManyToManyField(
        "segments.Segment", related_name="mailings", verbose_name=_("segments")
    )
    excluded_segments = models.ManyToManyField(
        "segments.Segment",
        blank=True,
        related_name="excluded_from_mailings",
        verbose_name=_("segments exclus"),
    )
    status = models.CharField(
        _("état"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    scheduled_at = models.DateTimeField(_("programmé pour"), null=True, blank=True)
    started_at = models.DateTimeField(_("envoi commencé le"), null=True, blank=True)
    finished_at = models.DateTimeField(_("envoi terminé le"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="mailings",
        verbose_name=_("créé par"),
    )
    created_at = models.DateTimeField(_("créé le"), default=timezone.now, editable=False)

    objects = MailingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("envoi d'e-mails")

    def __str__(self) -> str:
        return self.subject

    def counts(self) -> dict[str, int]:
        """Recipients by status, every status present (one GROUP BY query)."""
        found = dict(
            self.recipients.order_by()
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        return {status: found.get(status, 0) for status in Recipient.Status.values}


def mailing_for(scope: Scope, pk: Any) -> Mailing:
    """The mailing with this id if ``scope`` may see it, else Http404."""
    try:
        return Mailing.objects.visible_to(scope).select_related("sender").get(pk=pk)
    except (ValueError, TypeError, Mailing.DoesNotExist):
        raise Http404("No such mailing.") from None


class Recipient(models.Model):
    """One message to send: the work item of the workers."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("En attente")
        CLAIMED = "claimed", _("Pris par un worker")
        # The SMTP transaction is under way: the body has been transmitted, the final
        # "." is about to be. A row left here by a crash may or may not have been
        # delivered, so it is never sent again (see sending.py).
        SENDING = "sending", _("En cours de remise")
        SENT = "sent", _("Envoyé")
        FAILED = "failed", _("Échec")
        BOUNCED = "bounced", _("Rejeté (adresse invalide)")

    mailing = models.ForeignKey(Mailing, on_delete=models.CASCADE, related_name="recipients")
    # CASCADE, not SET_NULL: erasing or purging a person must not leave their address
    # behind in the send log (RGPD art. 17); their rows leave the statistics with them.
    person = models.ForeignKey(
        "people.Person", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    email = models.CharField(max_length=254)
    merge = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=40, blank=True, default="")
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True, default="")
    message_id = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailing", "email"], name="unique_mailing_recipient")
        ]
        indexes = [
            # Claiming: the next queued rows of a mailing, in id order.
            models.Index(fields=["mailing", "status", "id"], name="recipient_claim"),
            models.Index(fields=["claimed_by"], name="recipient_claimed_by"),
        ]

    def __str__(self) -> str:
        return f"{self.mailing_id} {self.email} {self.status}"
