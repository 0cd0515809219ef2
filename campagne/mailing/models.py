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
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("validé par"),
    )
    validated_at = models.DateTimeField(_("validé le"), null=True, blank=True)
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


class Approval(models.TextChoices):
    NONE = "", _("Non soumis")
    SUBMITTED = "submitted", _("À valider")
    APPROVED = "approved", _("Validé")
    REJECTED = "rejected", _("Refusé")


class Mailing(models.Model):
    Approval = Approval

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
    # When a worker last found this sending stalled and queued its tasks again
    # (recover_stalled_sendings): at most once per MAILING_CLAIM_TIMEOUT, by one worker.
    recovered_at = models.DateTimeField(null=True, blank=True, editable=False)
    # HQ approval (when MailingSettings.approval_required): independent of ``status``,
    # which the workers move; see campagne.mailing.approval.
    approval = models.CharField(
        _("validation"), max_length=10, choices=Approval.choices, blank=True, default=""
    )
    approval_comment = models.TextField(_("commentaire de validation"), blank=True, default="")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("examiné par"),
    )
    reviewed_at = models.DateTimeField(_("examiné le"), null=True, blank=True)
    # A/B test of subjects (campagne.mailing.ab_test): off while subject_b is empty.
    subject_b = models.CharField(_("objet B (test A/B)"), max_length=200, blank=True, default="")
    ab_sample_percent = models.PositiveSmallIntegerField(
        _("échantillon du test A/B (%)"), default=20
    )
    ab_wait_minutes = models.PositiveIntegerField(_("durée du test A/B (minutes)"), default=240)
    ab_winner = models.CharField(_("objet gagnant"), max_length=1, blank=True, default="")

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

    def delivery_counts(self) -> dict[str, int]:
        """Hard and soft bounces and complaints (one query)."""
        return self.recipients.aggregate(
            hard_bounces=Count("id", filter=models.Q(bounce=Recipient.Bounce.HARD)),
            soft_bounces=Count("id", filter=models.Q(bounce=Recipient.Bounce.SOFT)),
            complaints=Count("id", filter=models.Q(complained_at__isnull=False)),
        )


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
        # Outside the sample of an A/B test: released (→ queued) once the winner is known.
        HELD = "held", _("Retenu (test A/B)")

    class Bounce(models.TextChoices):
        HARD = "hard", _("Définitif")
        SOFT = "soft", _("Temporaire")

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
    # A/B test: the subject this row gets ("A" or "B"); "" when the mailing has no test.
    # db_default: the audience freeze inserts rows with raw SQL that does not name it.
    variant = models.CharField(max_length=1, blank=True, default="", db_default="")
    # Hard: the address does not exist (5xx, or the e-mail service said "bounced"); soft: a
    # temporary refusal (4xx, "deferred"), kept even when a later attempt got through.
    # db_default: the audience is frozen by an INSERT … SELECT that names its columns.
    bounce = models.CharField(
        max_length=4, choices=Bounce.choices, blank=True, default="", db_default=""
    )
    complained_at = models.DateTimeField(null=True, blank=True)
    # The e-mail service's own id of the message (sends through django-anymail), which its
    # webhooks quote back; ours (message_id) is enough for SMTP sends.
    esp_message_id = models.CharField(max_length=200, blank=True, default="", db_default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailing", "email"], name="unique_mailing_recipient")
        ]
        indexes = [
            # Claiming: the next queued rows of a mailing, in id order.
            models.Index(fields=["mailing", "status", "id"], name="recipient_claim"),
            models.Index(fields=["claimed_by"], name="recipient_claimed_by"),
            models.Index(
                fields=["esp_message_id"],
                name="recipient_esp_message_id",
                condition=~models.Q(esp_message_id=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.mailing_id} {self.email} {self.status}"


class ThrottleBucket(models.Model):
    """Shared send rate of one receiving domain ("*": every domain), as the time at which
    its bucket is empty again (GCRA, the token bucket as one timestamp). One row per
    throttled domain, updated under a row lock by every worker of every machine."""

    key = models.CharField(max_length=255, unique=True)
    empty_until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.key} {self.empty_until}"


class MailingSettings(models.Model):
    """Site-wide mailing rules the HQ admin sets (one row, see ``current``)."""

    approval_required = models.BooleanField(
        _("les e-mails des organisateurs doivent être validés par le QG"), default=False
    )
    updated_at = models.DateTimeField(_("modifié le"), default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("modifié par"),
    )

    class Meta:
        verbose_name = _("réglages des e-mails")

    def __str__(self) -> str:
        return "mailing settings"

    @classmethod
    def current(cls) -> MailingSettings:
        """The one row (pk=1), created with the defaults on first use."""
        return cls.objects.get_or_create(pk=1)[0]
