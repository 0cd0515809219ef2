"""Markers that tell the demo campaign's rows apart from a real campaign's.

The demo may be loaded (with ``--force``) into a database that already holds real people;
these markers let ``campagne demo --reset`` delete exactly what the demo created.
"""

import email
import email.policy
from email.message import EmailMessage

from django.db import models
from django.utils import timezone

from campagne.people.models import Person


class DemoLoad(models.Model):
    """One row per loaded demo: its presence is what "the demo is loaded" means."""

    loaded_at = models.DateTimeField(default=timezone.now)
    seed = models.IntegerField()
    people = models.PositiveIntegerField()
    seconds = models.FloatField()

    class Meta:
        ordering = ["-loaded_at"]

    def __str__(self) -> str:
        return f"demo {self.loaded_at:%Y-%m-%d %H:%M} ({self.people} people)"


class DemoPerson(models.Model):
    """A person made up by the demo; deleting the person deletes the marker."""

    person = models.OneToOneField(
        Person, on_delete=models.CASCADE, primary_key=True, related_name="demo_marker"
    )

    def __str__(self) -> str:
        return f"demo person {self.person_id}"


class DemoMessage(models.Model):
    """A message the demo's SMTP sink received (``campagne rundemo``), shown at /demo/boite/."""

    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    mail_from = models.CharField(max_length=254)
    rcpt_to = models.CharField(max_length=254)
    subject = models.CharField(max_length=500, blank=True)
    raw = models.BinaryField()

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.rcpt_to}: {self.subject}"

    def parsed(self) -> EmailMessage:
        message = email.message_from_bytes(bytes(self.raw), policy=email.policy.default)
        return message  # type: ignore[return-value]

    def parts(self) -> tuple[str, str]:
        """(HTML, text) bodies, each "" when absent."""
        message = self.parsed()
        found = []
        for kind in ("html", "plain"):
            part = message.get_body((kind,))
            found.append(part.get_content() if part is not None else "")  # type: ignore[union-attr]
        return found[0], found[1]
