"""The priority list of a profile as CSV or XLSX: what the ranked table shows, all pages.

Scoped like the table (the user's territory and filters); only the roles that may export
people may export it (HQ staff read it on screen only), and each export leaves an audit
row, as the people exports do: the list says where the campaign's supporters live.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from typing import Any

from django.http import FileResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from campagne.accounts.scopes import Scope
from campagne.audit import actions as audit
from campagne.audit.models import AuditEntry
from campagne.people.exports import XLSX_CONTENT_TYPE, safe_cell
from campagne.targeting.filters import StationFilters, with_people_counts
from campagne.targeting.models import StationScore, TargetingProfile

FORMATS = ("csv", "xlsx")
CHUNK_SIZE = 2000


def headers() -> list[str]:
    return [
        _("rang"),
        _("score"),
        _("bureau"),
        _("nom du bureau"),
        _("code INSEE"),
        _("commune"),
        _("circonscription"),
        _("inscrits"),
        _("abstentions"),
        _("abstention (%)"),
        _("voix de notre camp"),
        _("part des exprimés (%)"),
        _("part des inscrits (%)"),
        _("réservoir d'abstentionnistes"),
        _("évolution de la participation (points)"),
        _("personnes rattachées"),
    ]


def _percent(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 2)


def row(score: StationScore) -> list[Any]:
    station = score.station
    commune = station.commune
    return [
        score.rank,
        round(score.score, 2),
        station.pk,
        station.name,
        commune.code if commune else "",
        commune.name if commune else "",
        station.circonscription_id or "",
        score.inscrits,
        score.abstentions,
        _percent(score.abstention_rate),
        score.side_votes,
        _percent(score.share_exprimes),
        _percent(score.share_inscrits),
        None if score.reservoir is None else round(score.reservoir, 1),
        _percent(score.turnout_change),
        getattr(score, "people", 0),
    ]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        # A French spreadsheet reads "12,5" as a number; "12.5" as text.
        return f"{value:g}".replace(".", ",")
    return safe_cell(str(value))


def _csv_chunks(header: list[str], rows: Iterator[list[Any]]) -> Iterator[str]:
    # Written after the view has returned: the header was translated before, in the
    # request's language.
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    buffer.write("\ufeff")
    writer.writerow(header)
    for count, values in enumerate(rows, start=1):
        writer.writerow([_text(value) for value in values])
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _xlsx(rows: Iterator[list[Any]]) -> Any:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Bureaux prioritaires"))
    sheet.append(headers())
    for values in rows:
        sheet.append([safe_cell(v) if isinstance(v, str) else v for v in values])
    output = tempfile.SpooledTemporaryFile(max_size=20 * 1024 * 1024)  # noqa: SIM115
    workbook.save(output)
    output.seek(0)
    return output


def export_scores(
    *, scope: Scope, profile: TargetingProfile, filters: StationFilters, fmt: str
) -> HttpResponseBase:
    """The download of the filtered priority list, audited; 403 for roles that may not."""
    scope.require(scope.can_export_people, _("Votre rôle ne permet pas d'exporter."))
    if fmt not in FORMATS:
        raise ValueError(f"Unknown export format: {fmt}")
    scores = filters.scores(scope, profile)
    row_count = scores.count()
    audit.record(
        actor=scope.user,
        action=AuditEntry.Action.EXPORT,
        subject="targeting",
        row_count=row_count,
        details={"profile": profile.pk, "filters": filters.as_dict(), "format": fmt},
    )
    queryset = with_people_counts(
        scores.select_related("station__commune", "station__circonscription").defer(
            "station__polygon"
        ),
        scope,
    )
    rows = (row(score) for score in queryset.iterator(chunk_size=CHUNK_SIZE))
    filename = f"bureaux-prioritaires-{profile.pk}-{timezone.localtime():%Y%m%d-%H%M}.{fmt}"
    if fmt == "csv":
        response: HttpResponseBase = StreamingHttpResponse(
            _csv_chunks(headers(), rows), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    else:
        response = FileResponse(
            _xlsx(rows), as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE
        )
    response["Cache-Control"] = "no-store"
    return response
