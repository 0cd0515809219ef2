"""Writes on segments. Pages and API call these verbs; each runs in one transaction.

A definition is checked against the database before it is saved: its tags and territories
exist, the segments it includes or excludes are visible to the user, and following them
never comes back to the segment itself (a cycle would have no members to compute).
"""

from __future__ import annotations

from functools import reduce
from operator import or_
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError, Q
from django.utils.translation import gettext as _

from campagne.accounts.scopes import Scope
from campagne.people.models import Tag
from campagne.segments.definition import Definition
from campagne.segments.models import (
    Segment,
    SegmentLink,
    build_condition,
    can_edit_segments,
    load_graph,
)
from campagne.territory.models import Commune, Departement, Region

NAME_MAX = 120
DESCRIPTION_MAX = 2000


def check_definition(
    *, scope: Scope, definition: Definition, segment: Segment | None = None, lock: bool = False
) -> Definition:
    """``definition`` with its tag names as stored, or ValidationError saying what is wrong.

    ``segment`` is the segment being edited, if any: the segments it already referred to
    stay allowed even if the user could not pick them (an HQ admin may have added them).
    """
    errors: dict[str, list[str]] = {}
    tags = _canonical_tags(definition, errors)
    _check_territories(definition, errors)
    refs = set(definition.referenced_ids)
    allowed = set(
        Segment.objects.visible_to(scope).filter(pk__in=refs).values_list("pk", flat=True)
    )
    if segment is not None:
        allowed |= set(segment.criteria.referenced_ids)
    if unknown := refs - allowed:
        errors.setdefault("segments", []).append(
            _("Segment introuvable : %(ids)s.") % {"ids": ", ".join(map(str, sorted(unknown)))}
        )
    if errors:
        raise ValidationError(errors)
    definition = definition.model_copy(
        update={
            "tags": definition.tags.model_copy(
                update={
                    kind: [tags[name.lower()] for name in getattr(definition.tags, kind)]
                    for kind in ("any", "all", "none")
                }
            )
        }
    )
    segment_id = segment.pk if segment is not None else None
    graph = load_graph(definition, segment_id=segment_id, lock=lock)
    # Walks the whole graph: refuses a cycle among the referenced segments too.
    build_condition(definition, graph, path=(segment_id,) if segment_id else ())
    return definition


def _canonical_tags(definition: Definition, errors: dict[str, list[str]]) -> dict[str, str]:
    """Tags are matched ignoring case, as on people (``people.actions``)."""
    names = {*definition.tags.any, *definition.tags.all, *definition.tags.none}
    if not names:
        return {}
    condition = reduce(or_, (Q(name__iexact=name) for name in names))
    stored = {
        name.lower(): name for name in Tag.objects.filter(condition).values_list("name", flat=True)
    }
    unknown = sorted(name for name in names if name.lower() not in stored)
    if unknown:
        errors["tags"] = [_("Étiquette inconnue : %(names)s.") % {"names": ", ".join(unknown)}]
    return stored


def _check_territories(definition: Definition, errors: dict[str, list[str]]) -> None:
    territory = definition.territory
    for field, model, codes, message in (
        ("regions", Region, territory.regions, _("Région inconnue : %(codes)s.")),
        (
            "departements",
            Departement,
            territory.departements,
            _("Département inconnu : %(codes)s."),
        ),
        ("communes", Commune, territory.communes, _("Commune inconnue : %(codes)s.")),
    ):
        if not codes:
            continue
        known = set(model.objects.filter(pk__in=codes).values_list("pk", flat=True))
        if unknown := [code for code in codes if code not in known]:
            errors[field] = [message % {"codes": ", ".join(unknown)}]


def _clean_text(name: str, description: str) -> tuple[str, str]:
    name = " ".join(name.split())
    description = description.strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("Donnez un nom au segment.")]
    elif len(name) > NAME_MAX:
        errors["name"] = [_("%(max)d caractères au plus.") % {"max": NAME_MAX}]
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = [_("%(max)d caractères au plus.") % {"max": DESCRIPTION_MAX}]
    if errors:
        raise ValidationError(errors)
    return name, description


def _sync_links(segment: Segment, definition: Definition) -> None:
    SegmentLink.objects.filter(segment=segment).delete()
    SegmentLink.objects.bulk_create(
        [
            SegmentLink(segment=segment, target_id=pk, kind=kind)
            for kind, ids in (
                (SegmentLink.Kind.INCLUDE, definition.include_segments),
                (SegmentLink.Kind.EXCLUDE, definition.exclude_segments),
            )
            for pk in ids
        ]
    )


@transaction.atomic
def create_segment(
    *, scope: Scope, name: str, definition: Definition, description: str = ""
) -> Segment:
    scope.require(can_edit_segments(scope), _("Votre rôle ne permet pas de créer un segment."))
    name, description = _clean_text(name, description)
    definition = check_definition(scope=scope, definition=definition, lock=True)
    segment = Segment.objects.create(
        name=name, description=description, owner=scope.user, definition=definition.to_json()
    )
    _sync_links(segment, definition)
    return segment


@transaction.atomic
def update_segment(
    *,
    scope: Scope,
    segment: Segment,
    name: str | None = None,
    description: str | None = None,
    definition: Definition | None = None,
) -> Segment:
    """Change what is given (``None``: unchanged). The caller loaded ``segment`` with
    ``segment_for_write``; the row is locked here so that edits do not interleave."""
    scope.require(can_edit_segments(scope), _("Votre rôle ne permet pas de modifier un segment."))
    locked = Segment.objects.select_for_update().get(pk=segment.pk)
    name, description = _clean_text(
        locked.name if name is None else name,
        locked.description if description is None else description,
    )
    changes: dict[str, Any] = {"name": name, "description": description}
    if definition is not None:
        definition = check_definition(scope=scope, definition=definition, segment=locked, lock=True)
        changes["definition"] = definition.to_json()
        _sync_links(locked, definition)
    for field, value in changes.items():
        setattr(locked, field, value)
    locked.save()
    for field in (*changes, "updated_at"):
        setattr(segment, field, getattr(locked, field))
    return segment


def delete_segment(*, scope: Scope, segment: Segment) -> None:
    """Delete a segment, unless another segment (or a mailing…) still uses it."""
    scope.require(can_edit_segments(scope), _("Votre rôle ne permet pas de supprimer un segment."))
    try:
        with transaction.atomic():
            segment.delete()
    except ProtectedError as exc:
        referrers = {
            obj.segment_id for obj in exc.protected_objects if isinstance(obj, SegmentLink)
        }
        names = sorted(
            Segment.objects.visible_to(scope)
            .filter(pk__in=referrers)
            .values_list("name", flat=True)
        )
        message = _("Ce segment est utilisé ailleurs : retirez-le d'abord de ce qui l'utilise.")
        if names:
            message += " " + _("Utilisé par : %(names)s.") % {"names": ", ".join(names)}
        raise ValidationError(message) from None
