"""CSV and XLSX exports of a people list, for the list page and the API.

An export is exactly the filtered list the user sees, within their scope, and leaves one
audit row (who, when, which filters, how many rows, which format). It does not add a
timeline event to each exported person, unlike the RGPD export of one person: at 700,000
people that would write 700,000 rows per export, and the audit row already answers "who
exported whom" by replaying its filters.
"""

from __future__ import annotations

import csv
import io
import itertools
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.http import FileResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from campagne.accounts.scopes import Scope
from campagne.audit import actions as audit
from campagne.audit.models import AuditEntry
from campagne.people.filters import PeopleFilters
from campagne.people.models import Channel, Civility, Person, PersonQuerySet, Status

FORMATS = ("csv", "xlsx")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A worksheet holds 1,048,576 rows, the header included.
XLSX_MAX_ROWS = 1_048_575
# Rows read from the database at a time: bounds memory, and tags/consents are prefetched
# per chunk (two queries per chunk, not per person).
CHUNK_SIZE = 2000
# Spreadsheets run a cell starting with one of these as a formula (CSV/formula injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """Neutralise a text that a spreadsheet would run as a formula, as OWASP advises.

    A plain signed number (an E.164 phone, "+33612345678") cannot do harm and is left as is.
    """
    if not value.startswith(_FORMULA_STARTS):
        return value
    if value[0] in "+-" and value[1:].isdigit():
        return value
    return "'" + value


class _RowMaker:
    """Turns a person into a row of strings.

    Labels are translated once, up front: a streamed CSV is written after the view has
    returned, when the request's language may no longer be active.
    """

    def __init__(self) -> None:
        self.civility = {value: str(label) for value, label in Civility.choices}
        self.civility[""] = ""
        self.status = {value: str(label) for value, label in Status.choices}
        self.consent = {True: _("oui"), False: _("non"), None: ""}
        self.channels = list(Channel.values)
        self.headers = [
            _("id"),
            _("civilité"),
            _("prénom"),
            _("nom"),
            _("e-mail"),
            _("téléphone"),
            _("adresse"),
            _("complément d'adresse"),
            _("code postal"),
            _("code INSEE"),
            _("commune"),
            _("statut"),
            _("étiquettes"),
            *[_("consentement %(channel)s") % {"channel": label} for label in Channel.labels],
            _("origine des données"),
            _("créé le"),
        ]

    def __call__(self, person: Person) -> list[str]:
        consents = {c.channel: c.granted for c in person.consents.all()}
        commune = person.commune
        values = [
            str(person.pk),
            self.civility.get(person.civility, person.civility),
            person.first_name,
            person.last_name,
            person.email,
            person.phone,
            person.address_line,
            person.address_extra,
            person.postal_code,
            commune.code if commune else "",
            commune.name if commune else "",
            self.status.get(person.status, person.status),
            ", ".join(tag.name for tag in person.tags.all()),
            *[self.consent[consents.get(channel)] for channel in self.channels],
            person.origin,
            timezone.localtime(person.created_at).strftime("%Y-%m-%d %H:%M"),
        ]
        return [safe_cell(value) for value in values]


def _people_rows(
    people: Iterable[Person], make_row: Callable[[Person], list[str]]
) -> Iterator[list[str]]:
    for person in people:
        yield make_row(person)


def _csv_chunks(header: list[str], rows: Iterator[list[str]]) -> Iterator[str]:
    # The BOM and ";" are what a French spreadsheet expects to open accents and columns
    # correctly by double-click.
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    buffer.write("\ufeff")
    writer.writerow(header)
    for count, row in enumerate(rows, start=1):
        writer.writerow(row)
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _xlsx_file(header: list[str], rows: Iterator[list[str]]) -> Any:
    """The workbook in a temporary file: an XLSX is a zip and cannot be streamed as it grows."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Personnes"))
    sheet.append(header)
    for row in rows:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", value) for value in row])
    output = tempfile.SpooledTemporaryFile(max_size=20 * 1024 * 1024)  # noqa: SIM115
    workbook.save(output)
    output.seek(0)
    return output


def export_people(*, scope: Scope, filters: PeopleFilters, fmt: str) -> HttpResponseBase:
    """The download of the filtered list in ``fmt`` ("csv" or "xlsx"), audited.

    403 (PermissionDenied) for roles that may not export; ValidationError when the list is
    too long for the format.
    """
    scope.require(scope.can_export_people, _("Votre rôle ne permet pas d'exporter."))
    if fmt not in FORMATS:
        raise ValueError(f"Unknown export format: {fmt}")
    # Counted when the export starts: a row added or removed while the file is being
    # written may make the file differ by that row from the audited count.
    row_count = filters.people(scope).count()
    if fmt == "xlsx" and row_count > XLSX_MAX_ROWS:
        raise ValidationError(
            _("Trop de lignes pour un fichier XLSX : exportez en CSV ou affinez les filtres.")
        )
    audit.record(
        actor=scope.user,
        action=AuditEntry.Action.EXPORT,
        subject="people",
        row_count=row_count,
        details={"filters": filters.as_dict(), "format": fmt},
    )
    # Read in the list's order, part after part, so the file matches the pages on screen.
    people = itertools.chain.from_iterable(
        with_export_relations(part).iterator(chunk_size=CHUNK_SIZE) for part in filters.parts(scope)
    )
    return people_file(people, fmt=fmt, stem="personnes")


def with_export_relations(people: PersonQuerySet) -> PersonQuerySet:
    """What a row of the file reads besides the person, in a few queries per chunk."""
    return people.select_related("commune").prefetch_related("tags", "consents")


def people_file(people: Iterable[Person], *, fmt: str, stem: str) -> HttpResponseBase:
    """The download of ``people`` (already scoped, checked and audited) as CSV or XLSX.

    For every export of people (the list, a segment…), so that they all give the same
    columns. Pass ``with_export_relations(queryset).iterator(chunk_size=CHUNK_SIZE)``.
    """
    make_row = _RowMaker()
    rows = _people_rows(people, make_row)
    return table_file(make_row.headers, rows, fmt=fmt, stem=stem)


def table_file(
    headers: list[str], rows: Iterator[list[str]], *, fmt: str, stem: str
) -> HttpResponseBase:
    """A streamed CSV or an XLSX download of ``rows`` (already scoped, checked, audited),
    named ``<stem>-<date>.<fmt>``; every export of the project answers through it."""
    filename = f"{stem}-{timezone.localtime():%Y%m%d-%H%M}.{fmt}"
    if fmt == "csv":
        response: HttpResponseBase = StreamingHttpResponse(
            _csv_chunks(headers, rows), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    elif fmt == "xlsx":
        response = FileResponse(
            _xlsx_file(headers, rows),
            as_attachment=True,
            filename=filename,
            content_type=XLSX_CONTENT_TYPE,
        )
    else:
        raise ValueError(f"Unknown export format: {fmt}")
    response["Cache-Control"] = "no-store"
    return response
