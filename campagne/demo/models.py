"""Markers that tell the demo campaign's rows apart from a real campaign's.

The demo may be loaded (with ``--force``) into a database that already holds real people;
these markers let ``campagne demo --reset`` delete exactly what the demo created.
"""

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
