"""Segments: saved, composable audiences that mailings, canvassing and volunteers target.

A segment is a name and a ``definition`` (``segments.definition.Definition``). Its members
are always computed in SQL, at the time of asking, within the asker's scope: the same
segment has fewer members for an organizer than for HQ, and never anyone outside the
organizer's territories whatever its definition says.

Including or excluding other segments follows them as they are edited (by reference, not
by copy). ``SegmentLink`` mirrors these references in a table so that the database
refuses to delete a segment another one uses; the definition stays the source of truth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campagne.accounts.models import Role
from campagne.segments.definition import Definition

if TYPE_CHECKING:
    from campagne.accounts.scopes import Scope
    from campagne.people.models import PersonQuerySet

# Segments within segments: deeper than this is refused (and would make unreadable SQL).
MAX_DEPTH = 8


class SegmentQuerySet(models.QuerySet["Segment"]):
    def visible_to(self, scope: Scope) -> SegmentQuerySet:
        """HQ sees every segment; an organizer, the segments they own; others, none."""
        if scope.is_hq:
            return self
        if scope.role == Role.ORGANIZER:
            return self.filter(owner=scope.user)
        return self.none()


class Segment(models.Model):
    name = models.CharField(_("nom"), max_length=120)
    description = models.TextField(_("description"), blank=True, max_length=2000)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="segments",
        verbose_name=_("propriétaire"),
    )
    definition = models.JSONField(_("définition"), default=dict, blank=True)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    objects = SegmentQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("segment")

    def __str__(self) -> str:
        return self.name

    @property
    def criteria(self) -> Definition:
        return Definition.model_validate(self.definition)

    def members(self, scope: Scope) -> PersonQuerySet:
        """The people of ``scope`` in this segment, as one SQL query."""
        return members(self.criteria, scope, segment_id=self.pk)

    def count(self, scope: Scope) -> int:
        """How many people of ``scope`` are in this segment: one ``SELECT COUNT(*)``
        (plus one small query per level of included or excluded segments)."""
        return self.members(scope).count()


class SegmentLink(models.Model):
    """That ``segment`` includes or excludes ``target`` (a copy of its definition's ids)."""

    class Kind(models.TextChoices):
        INCLUDE = "include", _("inclut")
        EXCLUDE = "exclude", _("exclut")

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="links")
    # PROTECT: a segment used by another cannot disappear from under it.
    target = models.ForeignKey(Segment, on_delete=models.PROTECT, related_name="used_by")
    kind = models.CharField(max_length=10, choices=Kind.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "target"], name="unique_segment_link")
        ]

    def __str__(self) -> str:
        return f"{self.segment_id} {self.kind} {self.target_id}"


# --- access -------------------------------------------------------------------------------
def segment_for(scope: Scope, pk: Any) -> Segment:
    """The segment with this id if ``scope`` may see it, else Http404."""
    try:
        return Segment.objects.visible_to(scope).select_related("owner").get(pk=pk)
    except (ValueError, TypeError, Segment.DoesNotExist):
        raise Http404("No such segment.") from None


def segment_for_write(scope: Scope, pk: Any) -> Segment:
    """As ``segment_for``, then 403 if this role may only read segments."""
    segment = segment_for(scope, pk)
    scope.require(
        can_edit_segments(scope), gettext("Votre rôle ne permet pas de modifier un segment.")
    )
    return segment


def can_read_segments(scope: Scope) -> bool:
    return scope.can_read_people


def can_edit_segments(scope: Scope) -> bool:
    """HQ admin and organizers (their own segments: the others are not visible to them)."""
    return scope.can_write_people


# --- members --------------------------------------------------------------------------------
def members(
    definition: Definition, scope: Scope, *, segment_id: int | None = None
) -> PersonQuerySet:
    """The people of ``scope`` that ``definition`` selects (lazy; one query when evaluated).

    ``segment_id`` is the id of the segment being evaluated, if saved: reaching it again
    through included or excluded segments is a cycle.
    """
    people = scope.people()
    if not scope.can_read_people:
        return people
    graph = load_graph(definition, segment_id=segment_id)
    condition = build_condition(definition, graph, path=(segment_id,) if segment_id else ())
    return people.filter(condition) if condition is not None else people


def load_graph(
    definition: Definition, *, segment_id: int | None = None, lock: bool = False
) -> dict[int, Definition]:
    """The definitions of every segment ``definition`` reaches, by id: one query per level.

    Raises ValidationError for a missing segment, a cycle back to ``segment_id`` or nesting
    deeper than MAX_DEPTH. ``lock`` (inside a transaction) locks the rows read, so that two
    simultaneous edits cannot each add half of a cycle.
    """
    graph: dict[int, Definition] = {}
    pending = set(definition.referenced_ids)
    depth = 0
    while pending:
        if segment_id is not None and segment_id in pending:
            raise _cycle_error()
        depth += 1
        if depth > MAX_DEPTH:
            raise ValidationError(
                {
                    "segments": gettext("Trop de niveaux de segments imbriqués (%(max)d au plus).")
                    % {"max": MAX_DEPTH}
                }
            )
        rows = Segment.objects.filter(pk__in=pending).order_by("pk")
        if lock:
            rows = rows.select_for_update()
        found = dict(rows.values_list("pk", "definition"))
        missing = pending - found.keys()
        if missing:
            raise ValidationError(
                {
                    "segments": gettext("Segment introuvable : %(ids)s.")
                    % {"ids": ", ".join(str(pk) for pk in sorted(missing))}
                }
            )
        for pk, raw in found.items():
            graph[pk] = Definition.model_validate(raw)
        pending = {ref for pk in found for ref in graph[pk].referenced_ids} - graph.keys()
    return graph


def build_condition(
    definition: Definition, graph: dict[int, Definition], *, path: tuple[int | None, ...] = ()
) -> Q | None:
    """The WHERE of ``definition`` with its segments inlined; None selects everyone.

    (own criteria OR included segments) AND NOT excluded segments. A definition with
    no criteria of its own selects the union of the segments it includes, or everyone
    when it includes none.
    """
    alternatives: list[Q | None] = [definition.criteria_q()]
    if alternatives[0] is None and definition.include_segments:
        alternatives = []
    for pk in definition.include_segments:
        alternatives.append(_reference(pk, graph, path))
    condition: Q | None
    if any(alternative is None for alternative in alternatives):
        condition = None  # one of the alternatives is "everyone"
    else:
        condition = alternatives[0]
        for alternative in alternatives[1:]:
            condition = condition | alternative  # type: ignore[operator]
    for pk in definition.exclude_segments:
        excluded = _reference(pk, graph, path)
        # Excluding "everyone" leaves nobody; ~Q() would wrongly match everyone.
        negated = ~excluded if excluded is not None else Q(pk__in=[])
        condition = negated if condition is None else condition & negated
    return condition


def _reference(pk: int, graph: dict[int, Definition], path: tuple[int | None, ...]) -> Q | None:
    if pk in path:
        raise _cycle_error()
    return build_condition(graph[pk], graph, path=(*path, pk))


def _cycle_error() -> ValidationError:
    return ValidationError(
        {
            "segments": gettext(
                "Ce segment se retrouverait dans ses propres segments inclus ou exclus "
                "(cycle) : retirez ce renvoi."
            )
        }
    )
