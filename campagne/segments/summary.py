"""A segment's definition in words, for its page: one line per criterion."""

from __future__ import annotations

from datetime import date

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from campagne.people.models import Channel, Status
from campagne.segments.definition import DateRange, Definition
from campagne.segments.models import Segment
from campagne.territory.models import Commune, Departement, Region


def _day(value: date) -> str:
    return date_format(value, "DATE_FORMAT")


def _dates(label: str, dates: DateRange) -> list[tuple[str, str]]:
    parts = []
    if dates.after:
        parts.append(_("à partir du %(date)s") % {"date": _day(dates.after)})
    if dates.before:
        parts.append(_("avant le %(date)s") % {"date": _day(dates.before)})
    return [(label, _(" et ").join(parts))] if parts else []


def _names(model: type, codes: list[str]) -> str:
    found = dict(model.objects.filter(pk__in=codes).values_list("pk", "name"))  # type: ignore[attr-defined]
    return ", ".join(f"{found.get(code, code)} ({code})" for code in codes)


def describe(definition: Definition) -> list[tuple[str, str]]:
    """(criterion, what it asks) pairs, in the order of the form."""
    lines: list[tuple[str, str]] = []
    statuses = dict(Status.choices)
    channels = dict(Channel.choices)
    if definition.status:
        lines.append((_("Statut"), _(" ou ").join(str(statuses[s]) for s in definition.status)))
    tags = definition.tags
    for label, names in (
        (_("Au moins une de ces étiquettes"), tags.any),
        (_("Toutes ces étiquettes"), tags.all),
        (_("Aucune de ces étiquettes"), tags.none),
    ):
        if names:
            lines.append((label, ", ".join(names)))
    territory = definition.territory
    for label, model, codes in (
        (_("Régions"), Region, territory.regions),
        (_("Départements"), Departement, territory.departements),
        (_("Communes"), Commune, territory.communes),
    ):
        if codes:
            lines.append((label, _names(model, codes)))
    if definition.consents:
        lines.append(
            (_("Consentement accordé"), ", ".join(str(channels[c]) for c in definition.consents))
        )
    for label, wanted in (
        (_("Adresse e-mail"), definition.has_email),
        (_("Téléphone"), definition.has_phone),
    ):
        if wanted is not None:
            lines.append((label, _("renseigné") if wanted else _("absent")))
    if definition.origin.contains:
        lines.append((_("Origine contient"), definition.origin.contains))
    if definition.origin.equals:
        lines.append((_("Origine"), definition.origin.equals))
    lines += _dates(_("Fiche créée"), definition.created)
    lines += _dates(_("Dernier contact"), definition.last_contact)
    years = definition.birth_year
    if years.min is not None or years.max is not None:
        lines.append((_("Année de naissance"), f"{years.min or '…'} – {years.max or '…'}"))
    if definition.engaged_days is not None:
        lines.append(
            (
                _("Engagé (clic ou ouverture)"),
                _("dans les %(days)d derniers jours") % {"days": definition.engaged_days},
            )
        )
    lines += _segments(definition)
    return lines


def _segments(definition: Definition) -> list[tuple[str, str]]:
    ids = definition.referenced_ids
    if not ids:
        return []
    names = dict(Segment.objects.filter(pk__in=ids).values_list("pk", "name"))
    lines = []
    for label, refs in (
        (_("Plus les membres de"), definition.include_segments),
        (_("Moins les membres de"), definition.exclude_segments),
    ):
        if refs:
            lines.append((label, ", ".join(names.get(pk, f"#{pk}") for pk in refs)))
    return lines
