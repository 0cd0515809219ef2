"""What a mailing's messages lead to: tracked links, open and click hits, engagement.

A ``Hit`` is one open (the pixel was fetched) or one click (a tracked link was followed).
Hits are written in batches by ``campagne.tracking.recorder``, never one transaction per
request; each has a unique id made on the request path, so that writing the same batch
twice (a retry, a spool file read again after a crash) records it once.

``Engagement`` is the per-person summary that segments read ("engaged in the last N
days"): maintained in bulk by the hit flusher (last human click and open) and once per
finished mailing (mailings received).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def _open_pixel_default() -> bool:
    return settings.MAILING_OPEN_PIXEL


class MailingTracking(models.Model):
    """Tracking options and bookkeeping of one mailing (one row, made when it is sent)."""

    mailing = models.OneToOneField(
        "mailing.Mailing", on_delete=models.CASCADE, primary_key=True, related_name="tracking"
    )
    open_pixel = models.BooleanField(_("pixel d'ouverture"), default=_open_pixel_default)
    # Set once, in the transaction that adds this mailing to its recipients'
    # ``mailings_received``: the claim that makes counting it idempotent.
    received_counted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.mailing_id} pixel={self.open_pixel}"


class Link(models.Model):
    """A link of a mailing's body, by number (1, 2… in order of first appearance).

    Redirects read their target here, never from the URL they were called with, so a
    tracked link cannot be turned into an open redirect.
    """

    mailing = models.ForeignKey(
        "mailing.Mailing", on_delete=models.CASCADE, related_name="tracked_links"
    )
    number = models.PositiveSmallIntegerField()
    url = models.URLField(max_length=2000)

    class Meta:
        ordering = ["mailing", "number"]
        constraints = [
            models.UniqueConstraint(fields=["mailing", "number"], name="unique_tracked_link")
        ]

    def __str__(self) -> str:
        return f"{self.mailing_id}#{self.number} {self.url}"


class Hit(models.Model):
    class Kind(models.TextChoices):
        OPEN = "open", _("Ouverture")
        CLICK = "click", _("Clic")

    # Made on the request path (uuid4): the key that makes a batch written twice count once.
    id = models.UUIDField(primary_key=True)
    kind = models.CharField(max_length=5, choices=Kind.choices)
    # No index of its own: the report index starts with it.
    mailing = models.ForeignKey(
        "mailing.Mailing", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # CASCADE: a person's erasure removes their recipient rows, and their hits with them.
    recipient = models.ForeignKey(
        "mailing.Recipient", on_delete=models.CASCADE, related_name="tracking_hits"
    )
    link_number = models.PositiveSmallIntegerField(default=0)
    at = models.DateTimeField()
    # A proxy, a security scanner or a prefetch, not a person: kept, but out of the
    # "human" rates. ``agent`` says why ("apple-proxy", "fast", "mimecast"…); neither the
    # IP address nor the user agent is stored.
    machine = models.BooleanField(default=False)
    agent = models.CharField(max_length=30, blank=True, default="")

    class Meta:
        indexes = [
            # Reports: unique openers and clickers of a mailing, human or not.
            models.Index(fields=["mailing", "kind", "machine", "recipient"], name="hit_report"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.mailing_id}/{self.recipient_id} {self.at:%Y-%m-%d %H:%M}"


class Engagement(models.Model):
    """How a person responds to the mailings (human opens and clicks only)."""

    person = models.OneToOneField(
        "people.Person", on_delete=models.CASCADE, primary_key=True, related_name="engagement"
    )
    last_click_at = models.DateTimeField(_("dernier clic"), null=True, blank=True)
    last_human_open_at = models.DateTimeField(_("dernière ouverture"), null=True, blank=True)
    mailings_received = models.PositiveIntegerField(_("e-mails reçus"), default=0)

    class Meta:
        verbose_name = _("engagement")

    def __str__(self) -> str:
        return f"{self.person_id} click={self.last_click_at} open={self.last_human_open_at}"
