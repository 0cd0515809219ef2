"""CSV and XLSX export of a segment's members, within the user's scope, audited.

The file has exactly the columns of the people list export: rows are written by
``people.exports`` (its row maker, CSV streamer and XLSX writer), so both exports stay
the same file for whoever opens them.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http.response import HttpResponseBase
from django.utils.text import slugify
from django.utils.translation import gettext as _

from campagne.accounts.scopes import Scope
from campagne.audit import actions as audit
from campagne.audit.models import AuditEntry
from campagne.people import exports as people_exports
from campagne.segments.models import Segment


def export_segment(*, scope: Scope, segment: Segment, fmt: str) -> HttpResponseBase:
    """The download of ``segment``'s members in ``fmt`` ("csv" or "xlsx"), audited.

    403 (PermissionDenied) for roles that may not export; ValidationError when there are
    too many members for the format or the definition cannot be computed.
    """
    scope.require(scope.can_export_people, _("Votre rôle ne permet pas d'exporter."))
    if fmt not in people_exports.FORMATS:
        raise ValueError(f"Unknown export format: {fmt}")
    people = segment.members(scope)
    # Counted when the export starts, as for the people list (see people.exports).
    row_count = people.count()
    if fmt == "xlsx" and row_count > people_exports.XLSX_MAX_ROWS:
        raise ValidationError(_("Trop de membres pour un fichier XLSX : exportez en CSV."))
    audit.record(
        actor=scope.user,
        action=AuditEntry.Action.EXPORT,
        subject=f"segment:{segment.pk}",
        row_count=row_count,
        details={"segment": segment.name, "definition": segment.definition, "format": fmt},
    )
    make_row = people_exports._RowMaker()
    rows = people_exports._people_rows(
        people.order_by("search_name", "id")
        .select_related("commune")
        .prefetch_related("tags", "consents")
        .iterator(chunk_size=people_exports.CHUNK_SIZE),
        make_row,
    )
    stem = f"segment-{slugify(segment.name) or segment.pk}"
    return people_exports.table_file(make_row.headers, rows, fmt=fmt, stem=stem)
