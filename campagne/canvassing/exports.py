"""CSV and XLSX export of a field campaign's door (or call) results, scoped and audited.

The file holds every record the user may read — superseded and held-back ones too, with
their state in two columns, so the file explains the dashboard rather than repeats it.
Political opinions given at the door (support, issues, answers, notes) are only written
for roles that may read them (``scope.can_read_opinions``), and only for people who
agreed to have them recorded. Files are written by ``people.exports`` (same CSV dialect,
formula neutralisation, XLSX writer) so every export of Campagne opens the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from campagne.accounts.scopes import Scope
from campagne.audit import actions as audit
from campagne.audit.models import AuditEntry
from campagne.canvassing.models import Canvass, Channel, FieldCampaign, Outcome
from campagne.canvassing.stats import Filters
from campagne.people import exports as people_exports


def export_rows(
    scope: Scope, campaign: FieldCampaign, filters: Filters | None = None
) -> QuerySet[Canvass]:
    """The records of ``campaign`` this user may export, oldest first."""
    rows = scope.canvasses().filter(campaign=campaign)
    if filters:
        rows = filters.apply(rows)
    return rows.order_by("recorded_at", "pk")


class _RowMaker:
    """A record as a row of strings; labels translated once, before streaming starts."""

    def __init__(self, *, opinions: bool) -> None:
        self.opinions = opinions
        self.outcome = {value: str(label) for value, label in Outcome.choices}
        self.channel = {value: str(label) for value, label in Channel.choices}
        self.review = {value: str(label) for value, label in Canvass.Review.choices}
        self.yes_no = {True: _("oui"), False: _("non")}
        self.headers = [
            _("identifiant"),
            _("noté le"),
            _("type"),
            _("bureau de vote"),
            _("secteur"),
            _("adresse"),
            _("porte"),
            _("code INSEE"),
            _("commune"),
            _("militant"),
            _("résultat"),
            _("personne (id)"),
            _("veut devenir militant"),
            _("veut être recontacté"),
            _("vérification"),
            _("remplacé par un relevé plus récent"),
        ]
        if opinions:
            self.headers += [
                _("accepte que son avis soit enregistré"),
                _("soutien (1 à 5)"),
                _("sujets importants"),
                _("réponses"),
                _("notes"),
            ]

    def __call__(self, canvass: Canvass) -> list[str]:
        address = canvass.address
        turf = canvass.turf
        commune = canvass.commune
        volunteer = canvass.volunteer
        values = [
            str(canvass.client_uuid),
            timezone.localtime(canvass.recorded_at).strftime("%Y-%m-%d %H:%M"),
            self.channel.get(canvass.channel, canvass.channel),
            (turf.station_id or "") if turf else "",
            (turf.name or str(turf.number)) if turf else "",
            " ".join(
                part
                for part in (
                    str(address.number or "") + (address.suffix or ""),
                    address.street,
                    address.postal_code,
                )
                if part
            )
            if address
            else "",
            canvass.door,
            commune.code if commune else "",
            commune.name if commune else "",
            f"{volunteer.first_name} {volunteer.last_name}".strip() if volunteer else "",
            self.outcome.get(canvass.outcome, canvass.outcome),
            str(canvass.person_id or ""),
            self.yes_no[canvass.wants_to_volunteer],
            self.yes_no[canvass.wants_contact],
            self.review.get(canvass.review, canvass.review),
            self.yes_no[canvass.superseded],
        ]
        if self.opinions:
            consent = canvass.opinion_consent
            values += [
                self.yes_no[consent],
                str(canvass.support or "") if consent else "",
                ", ".join(str(issue) for issue in canvass.issues) if consent else "",
                _answers_text(canvass.answers) if consent else "",
                canvass.notes,
            ]
        return [people_exports.safe_cell(value) for value in values]


def _answers_text(answers: dict[str, Any]) -> str:
    parts = []
    for key, value in sorted((answers or {}).items()):
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{key}: {shown}")
    return " ; ".join(parts)


def _rows(records: Iterator[Canvass], make_row: _RowMaker) -> Iterator[list[str]]:
    for canvass in records:
        yield make_row(canvass)


def export_canvasses(
    *, scope: Scope, campaign: FieldCampaign, filters: Filters | None, fmt: str
) -> HttpResponseBase:
    """The download of ``campaign``'s records in ``fmt`` ("csv" or "xlsx"), audited.

    The caller loads ``campaign`` through ``scope.field_campaigns()`` (404 outside it).
    403 (PermissionDenied) for roles that may not export field results (HQ staff,
    volunteers); ValidationError when there are too many rows for XLSX.
    """
    scope.require(scope.can_export_field, _("Votre rôle ne permet pas d'exporter."))
    if fmt not in people_exports.FORMATS:
        raise ValueError(f"Unknown export format: {fmt}")
    records = export_rows(scope, campaign, filters)
    # Counted when the export starts, as for the people list (see people.exports).
    row_count = records.count()
    if fmt == "xlsx" and row_count > people_exports.XLSX_MAX_ROWS:
        raise ValidationError(_("Trop de lignes pour un fichier XLSX : exportez en CSV."))
    opinions = scope.can_read_opinions
    audit.record(
        actor=scope.user,
        action=AuditEntry.Action.EXPORT,
        subject=f"canvasses:{campaign.pk}",
        row_count=row_count,
        details={
            "campaign": campaign.name,
            "filters": filters.as_query() if filters else {},
            "format": fmt,
            "opinions": opinions,
        },
    )
    make_row = _RowMaker(opinions=opinions)
    rows = _rows(
        records.select_related("turf", "address", "commune", "volunteer").iterator(
            chunk_size=people_exports.CHUNK_SIZE
        ),
        make_row,
    )
    stem = f"terrain-{slugify(campaign.name) or campaign.pk}"
    return people_exports.table_file(make_row.headers, rows, fmt=fmt, stem=stem)
