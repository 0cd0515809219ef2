"""Template filters of the import pages: explain a duplicate's score in words."""

from typing import Any

from django import template
from django.db import models
from django.utils.translation import gettext as _

register = template.Library()

_PARTS = {
    "last_name": lambda: _("même nom"),
    "first_name": lambda: _("prénom proche"),
    "first_name_differs": lambda: _("prénom différent"),
    "commune": lambda: _("même commune"),
    "postal_code": lambda: _("même code postal"),
    "birth_year": lambda: _("même année de naissance"),
    "birth_year_differs": lambda: _("années de naissance différentes"),
    "email": lambda: _("même e-mail"),
    "phone": lambda: _("même téléphone"),
    "out_of_scope": lambda: _("fiche existante hors du périmètre de l'importateur"),
}


@register.filter
def reason_label(part: dict[str, Any]) -> str:
    """``{"part": "first_name", "detail": "jean / jeanne (91 %)", "points": 27}`` in words."""
    label = _PARTS.get(str(part.get("part")), lambda: str(part.get("part")))()
    detail = part.get("detail")
    points = part.get("points", 0)
    text = f"{label} ({detail})" if detail else label
    return f"{text} : {points:+d}" if points else text


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, "")


@register.inclusion_tag("imports/person_duplicates.html")
def person_duplicates(scope: Any, person: Any) -> dict[str, Any]:
    """The person page's "possible duplicates" panel: open pairs within the user's scope."""
    from campagne.imports import actions

    candidates = (
        actions.candidates_for(scope)
        .filter(models.Q(person_a=person) | models.Q(person_b=person))
        .select_related("person_a__commune", "person_b__commune")[:10]
    )
    pairs = [
        {"candidate": c, "other": c.person_b if c.person_a_id == person.pk else c.person_a}
        for c in candidates
    ]
    return {"scope": scope, "person": person, "pairs": pairs}
