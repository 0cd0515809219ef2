"""Reading the tables people actually have: CSV in any of its dialects, XLSX and ODS.

``open_table(path)`` sniffs the format from the file's first bytes (not its name), and for
CSV the encoding (UTF-8 with or without BOM, UTF-16 from Excel's "Unicode text",
otherwise cp1252, or latin-1 when cp1252 cannot decode it) and the delimiter (``;`` ``,``
tab ``|``). Rows are streamed: a 700,000-row file is never held in memory.

Every row comes out as a list of strings as wide as the header, with the line (or
spreadsheet row) it started on. What spreadsheets do to a table is undone here: the
leading index column a DataFrame export adds, trailing empty columns, numbers that became
floats (``4000.0``), dates that became date objects. Leading zeros lost by a spreadsheet
(postcodes, phones) are restored later, by the normalisation of the column they are in.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, BinaryIO
from xml.etree.ElementTree import iterparse

from django.utils.translation import gettext as _

from campagne.lib.import_registry import ImportFileError
from campagne.lib.text import search_key

DELIMITERS = (";", ",", "\t", "|")
SAMPLE_ROWS = 50
_BLOCK = 1 << 20
# A cell longer than this is not contact data: the file is not what it claims to be.
csv.field_size_limit(1 << 20)
_INDEX_HEADERS = {"", "unnamed 0", "index", "n", "no", "num"}
_ODS_NS = {
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
}
# Past this many columns a spreadsheet row is only its formatting running to the edge.
_MAX_COLUMNS = 512


class UnreadableFile(ImportFileError):
    """The file cannot be read as a table; the message says why, for the user."""


@dataclass
class Table:
    """A sniffed table: how to read it, its header, and a sample of its first rows."""

    path: Path
    format: str
    encoding: str = ""
    delimiter: str = ""
    headers: list[str] = field(default_factory=list)
    header_line: int = 0
    drop_index_column: bool = False
    estimated_rows: int | None = None
    sample: list[tuple[int, list[str]]] = field(default_factory=list)

    def rows(self, start: int = 0) -> Iterator[tuple[int, list[str]]]:
        """``(line, cells)`` for each non-empty data row, from the ``start``-th one (0-based)."""
        width = len(self.headers)
        index = 0
        drop = 1 if self.drop_index_column else 0
        for line, cells in self._records():
            if line <= self.header_line or not any(cells):
                continue
            if index >= start:
                cells = cells[drop : drop + width]
                if len(cells) < width:
                    cells += [""] * (width - len(cells))
                yield line, cells
            index += 1

    def _records(self) -> Iterator[tuple[int, list[str]]]:
        if self.format == "csv":
            return _csv_records(self.path, self.encoding, self.delimiter)
        if self.format == "xlsx":
            return _xlsx_records(self.path)
        return _ods_records(self.path)


def open_table(path: str | Path) -> Table:
    """Sniff ``path``, read its header and first rows; ``UnreadableFile`` if not a table."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        message = _("Fichier introuvable ou illisible : %(error)s") % {"error": exc}
        raise UnreadableFile(message) from None
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnreadableFile(
            _(
                "Format Excel 97-2003 (.xls) non pris en charge : "
                "enregistrez le fichier en XLSX ou CSV."
            )
        )
    if head.startswith(b"PK\x03\x04"):
        table = Table(path=path, format=_zip_format(path))
    else:
        encoding, lines = _sniff_encoding(path)
        table = Table(path=path, format="csv", encoding=encoding, estimated_rows=lines)
        table.delimiter = _sniff_delimiter(path, encoding)
    _read_header(table)
    return table


# --- format and dialect ---------------------------------------------------------------


def _zip_format(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" in names:
                return "xlsx"
            if "mimetype" in names and b"spreadsheet" in archive.read("mimetype"):
                return "ods"
    except zipfile.BadZipFile as exc:
        raise UnreadableFile(_("Archive endommagée : %(error)s") % {"error": exc}) from None
    raise UnreadableFile(_("Ce fichier compressé n'est ni un classeur XLSX ni un classeur ODS."))


def _sniff_encoding(path: Path) -> tuple[str, int]:
    """The encoding, and the number of line breaks (an estimate of the row count).

    The whole file is checked, in blocks: a cp1252 "é" on line 600,000 of an otherwise
    ASCII file would otherwise break the import near its end.
    """
    with path.open("rb") as handle:
        first = handle.read(_BLOCK)
        if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            newlines = first.count(b"\n\x00") or first.count(b"\x00\n")
            while block := handle.read(_BLOCK):
                newlines += block.count(b"\n")
            return "utf-16", newlines
        if b"\x00" in first:
            raise UnreadableFile(_("Ce fichier n'est pas un tableau (contenu binaire)."))
        decoder = codecs.getincrementaldecoder("utf-8")()
        utf8 = True
        newlines = 0
        block = first
        undefined_in_cp1252 = False
        while block:
            newlines += block.count(b"\n")
            if utf8:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    utf8 = False
            if not utf8 and re.search(rb"[\x81\x8d\x8f\x90\x9d]", block):
                undefined_in_cp1252 = True
            block = handle.read(_BLOCK)
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    if utf8:
        return ("utf-8-sig" if first.startswith(codecs.BOM_UTF8) else "utf-8"), newlines
    return ("latin-1" if undefined_in_cp1252 else "cp1252"), newlines


def _sniff_delimiter(path: Path, encoding: str) -> str:
    """The candidate that splits the first rows into the same number of fields, the most."""
    with path.open("r", encoding=encoding, newline="") as handle:
        sample = handle.read(64 * 1024)
    truncated = len(sample) == 64 * 1024
    best, best_score = ";", (-1.0, 0)
    for delimiter in DELIMITERS:
        counts = [
            len(row) for row in csv.reader(io.StringIO(sample), delimiter=delimiter) if any(row)
        ]
        if truncated and len(counts) > 1:
            counts = counts[:-1]  # The last record may be cut in the middle.
        counts = counts[:SAMPLE_ROWS]
        if not counts:
            continue
        width, hits = Counter(counts).most_common(1)[0]
        if width < 2:
            continue
        score = (hits / len(counts), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


# --- records ----------------------------------------------------------------------------


def _csv_records(path: Path, encoding: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        reader = csv.reader(text, delimiter=delimiter)
        line = 1
        try:
            for record in reader:
                yield line, list(map(str.strip, record))
                line = reader.line_num + 1
        except (csv.Error, UnicodeDecodeError) as exc:
            raise UnreadableFile(
                _("Ligne %(line)s illisible : %(error)s") % {"line": line, "error": exc}
            ) from None


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text its author typed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def _xlsx_records(path: Path) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file.
        raise UnreadableFile(_("Classeur XLSX illisible : %(error)s") % {"error": exc}) from None
    try:
        sheet = next(
            (ws for ws in workbook.worksheets if ws.sheet_state == "visible"),
            workbook.worksheets[0],
        )
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield line, [cell_text(value) for value in values[:_MAX_COLUMNS]]
    finally:
        workbook.close()


def _ods_cell(cell: Any) -> str:
    paragraphs = cell.findall("text:p", _ODS_NS)
    if paragraphs:
        return "\n".join("".join(p.itertext()) for p in paragraphs).strip()
    office = _ODS_NS["office"]
    for name in ("value", "date-value", "boolean-value", "string-value"):
        value = cell.get(f"{{{office}}}{name}")
        if value is not None:
            return value
    return ""


def _ods_records(path: Path) -> Iterator[tuple[int, list[str]]]:
    table_ns, row_tag = _ODS_NS["table"], f"{{{_ODS_NS['table']}}}table-row"
    cell_tags = {f"{{{table_ns}}}table-cell", f"{{{table_ns}}}covered-table-cell"}
    rows_repeated = f"{{{table_ns}}}number-rows-repeated"
    cols_repeated = f"{{{table_ns}}}number-columns-repeated"
    try:
        archive = zipfile.ZipFile(path)
        content: BinaryIO = archive.open("content.xml")  # type: ignore[assignment]
    except (zipfile.BadZipFile, KeyError) as exc:
        raise UnreadableFile(_("Classeur ODS illisible : %(error)s") % {"error": exc}) from None
    line = 1
    tables = 0
    table_element = None
    try:
        # Expat >= 2.4.1 (Python's own since 3.11) refuses entity-expansion bombs.
        for event, element in iterparse(content, events=("start", "end")):  # noqa: S314
            if event == "start":
                if element.tag == f"{{{table_ns}}}table":
                    tables += 1
                    table_element = element
                continue
            if tables != 1 or element.tag != row_tag:
                if element.tag == f"{{{table_ns}}}table":
                    break  # Only the first sheet.
                continue
            cells: list[str] = []
            for cell in element:
                if cell.tag not in cell_tags:
                    continue
                repeat = min(int(cell.get(cols_repeated, "1")), _MAX_COLUMNS)
                cells.extend([_ods_cell(cell)] * repeat)
                if len(cells) >= _MAX_COLUMNS:
                    break
            while cells and not cells[-1]:
                cells.pop()
            repeat = int(element.get(rows_repeated, "1"))
            if cells:
                for _copy in range(min(repeat, 100_000)):
                    yield line, list(cells)
                    line += 1
            else:
                line += repeat  # Empty rows, often repeated to the sheet's end.
            if table_element is not None:
                table_element.clear()  # Keep memory flat: rows already read are dropped.
    except SyntaxError as exc:  # ElementTree's ParseError
        raise UnreadableFile(_("Classeur ODS illisible : %(error)s") % {"error": exc}) from None
    finally:
        content.close()
        archive.close()


# --- header -----------------------------------------------------------------------------


def _read_header(table: Table) -> None:
    """Find the header (skipping a title line above it), the width, the index column."""
    records = table._records()
    first: list[tuple[int, list[str]]] = []
    for line, cells in records:
        if any(cells):
            first.append((line, cells))
            if len(first) > SAMPLE_ROWS + 10:
                break
    if hasattr(records, "close"):
        records.close()
    if not first:
        raise UnreadableFile(_("Le fichier est vide : aucune ligne d'en-tête."))
    # A title ("Export du 12 mars") may sit above the header: the header is the first row
    # with two named columns or more, among the first ten.
    position = next(
        (i for i, (_l, cells) in enumerate(first[:10]) if sum(1 for c in cells if c) >= 2), 0
    )
    table.header_line = first[position][0]
    header = [cell.replace("\ufeff", "").strip() for cell in first[position][1]]
    sample = first[position + 1 : position + 1 + SAMPLE_ROWS]

    def used(column: int) -> bool:
        return bool(column < len(header) and header[column]) or any(
            column < len(cells) and cells[column] for _line, cells in sample
        )

    # Trailing columns empty in the header and in every sampled row are dropped.
    width = max([len(header)] + [_used_width(cells) for _line, cells in sample])
    while width and not used(width - 1):
        width -= 1
    header = (header + [""] * width)[:width]
    table.drop_index_column = _is_index_column(header, sample)
    if table.drop_index_column:
        header = header[1:]
    table.headers = [
        name or _("Colonne %(number)s") % {"number": i + 1} for i, name in enumerate(header)
    ]
    drop = 1 if table.drop_index_column else 0
    table.sample = [
        (line, (cells[drop : drop + len(header)] + [""] * len(header))[: len(header)])
        for line, cells in sample
    ]
    if table.format == "xlsx" and table.estimated_rows is None:
        table.estimated_rows = _xlsx_row_count(table.path)
    elif table.estimated_rows is not None:
        table.estimated_rows = max(table.estimated_rows - position, len(sample))


def _used_width(cells: list[str]) -> int:
    width = len(cells)
    while width and not cells[width - 1]:
        width -= 1
    return width


def _is_index_column(header: list[str], sample: list[tuple[int, list[str]]]) -> bool:
    """A first column with no name (or "Unnamed: 0") holding 0, 1, 2… or 1, 2, 3…."""
    if len(header) < 2 or search_key(header[0]) not in _INDEX_HEADERS or not sample:
        return False
    values = [cells[0] if cells else "" for _line, cells in sample]
    if not all(value.isdigit() for value in values):
        return False
    numbers = [int(value) for value in values]
    return numbers[0] in (0, 1) and all(
        b == a + 1 for a, b in zip(numbers, numbers[1:], strict=False)
    )


def _xlsx_row_count(path: Path) -> int | None:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True)
        try:
            rows = workbook.worksheets[0].max_row
        finally:
            workbook.close()
    except Exception:  # noqa: BLE001 - an estimate only
        return None
    return rows - 1 if rows else None
