"""Reading a public file in chunks, whatever its rendition: CSV or XLSX, any encoding.

``open_table`` sniffs the file (gzip, XLSX, encoding, separator, quoting) and returns a
``Table`` with its first line split into fields; ``Table.chunks`` then yields blocks of
rows as polars DataFrames of strings named by position (``c0``, ``c1``…), so that an
importer finds its columns by position and never depends on how a tool renamed them.

CSV chunks are cut on line boundaries in Python (cheap) and parsed by polars (fast): the
whole file is never in memory, and lines with more fields than the header (the Ministry's
unnamed candidate blocks, municipales 2020's stray tabs) simply widen their chunk.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from queue import Empty, Queue
from typing import IO, Any, TypeVar

import polars as pl
from django.utils.translation import gettext as _

from campagne.lib.import_registry import ImportFileError

CHUNK_BYTES = 8 << 20
CHUNK_ROWS = 50_000
_SAMPLE_BYTES = 256 * 1024
_QUOTED_FIELD = re.compile(rb'(^|[;\t,])"')
_CANDIDATE_SEPARATORS = (";", "\t", ",")


@dataclass(frozen=True)
class Chunk:
    frame: pl.DataFrame  # String columns named by position (c0…), one row per line
    first_line: int  # 1-based line number of the frame's first row in the file
    fraction: float  # share of the file read once this chunk is done (0–1)
    width: int = 0  # fields of the widest line (the frame may hold only some columns)


# Given a chunk's width, the positions of the columns to parse (None: all).
Wanted = Callable[[int], list[int] | None]


def column(index: int) -> str:
    return f"c{index}"


def _decoder_for(sample: bytes) -> str:
    """UTF-8 if the sample decodes as such (a cut character at its end is allowed)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample, final=False)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _decode(data: bytes, encoding: str) -> tuple[str, str]:
    """Decode one chunk; a UTF-8 guess made on an ASCII start falls back to cp1252/latin-1."""
    if encoding == "utf-8":
        try:
            return data.decode("utf-8"), encoding
        except UnicodeDecodeError:
            encoding = "cp1252"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; latin-1 decodes everything.
        return data.decode("latin-1"), "latin-1"


@dataclass
class Table:
    path: Path
    kind: str  # "csv" or "xlsx"
    header: list[str]  # the first line's fields (the header, or a data line if headerless)
    separator: str = ";"
    encoding: str = "utf-8"
    quoting: bool = False
    sample_rows: list[list[str]] = field(default_factory=list)  # a few lines after the first

    def chunks(
        self,
        *,
        skip_first: bool = True,
        wanted: Wanted | None = None,
        block_bytes: int | None = None,
        rows: int | None = None,
    ) -> Iterator[Chunk]:
        """The rows after the first line (if ``skip_first``), a block at a time: about
        ``block_bytes`` of CSV, or ``rows`` rows of XLSX.

        ``wanted`` lets a CSV chunk skip parsing the columns nobody reads (percentages).
        """
        if self.kind == "xlsx":
            yield from self._xlsx_chunks(skip_first, rows or CHUNK_ROWS)
        else:
            yield from self._csv_chunks(skip_first, block_bytes or CHUNK_BYTES, wanted)

    # --- CSV --------------------------------------------------------------------------
    def _csv_chunks(
        self, skip_first: bool, block_bytes: int, wanted: Wanted | None
    ) -> Iterator[Chunk]:
        size = max(self.path.stat().st_size, 1)
        with self.path.open("rb") as raw:
            stream: IO[bytes] = _maybe_gunzip(raw)
            line_number = 1
            if skip_first:
                stream.readline()
                line_number = 2
            state = _ParseState(encoding=self.encoding, width=0)
            pending = b""
            while True:
                block = stream.read(block_bytes)
                data = pending + block
                if not block:
                    if data.strip():
                        yield self._chunk(data, state, wanted, line_number, 1.0)
                    return
                cut = data.rfind(b"\n") + 1
                # A quoted field may span lines: cut only where every quote is closed.
                if not cut or (self.quoting and data.count(b'"', 0, cut) % 2):
                    pending = data
                    continue
                body, pending = data[:cut], data[cut:]
                yield self._chunk(body, state, wanted, line_number, min(raw.tell() / size, 1.0))
                line_number += body.count(b"\n")

    def _chunk(
        self,
        data: bytes,
        state: _ParseState,
        wanted: Wanted | None,
        line_number: int,
        fraction: float,
    ) -> Chunk:
        if line_number <= 2 and data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
        if state.encoding != "utf-8" or not data.isascii():
            text, state.encoding = _decode(data, state.encoding)
            data = text.encode("utf-8")
        if not state.width:
            state.width = _width(data, self.separator)
        try:
            frame = self._read(data, state.width, wanted)
        except pl.exceptions.ComputeError:
            # A line wider than the chunks before it (more candidate blocks).
            state.width = max(state.width, _width(data, self.separator))
            frame = self._read(data, state.width, wanted)
        return Chunk(frame, line_number, fraction, state.width)

    def _read(self, data: bytes, width: int, wanted: Wanted | None) -> pl.DataFrame:
        # Every line becomes a row, even an empty one, so that row i is line first_line+i.
        return pl.read_csv(
            io.BytesIO(data),
            separator=self.separator,
            has_header=False,
            schema={column(i): pl.String for i in range(width)},
            columns=wanted(width) if wanted else None,
            missing_columns="insert",
            quote_char='"' if self.quoting else None,
            raise_if_empty=False,
        )

    # --- XLSX -------------------------------------------------------------------------
    def _xlsx_chunks(self, skip_first: bool, rows: int) -> Iterator[Chunk]:
        workbook = _load_workbook(self.path)
        try:
            sheet = workbook.worksheets[0]
            total = max(sheet.max_row or 1, 1)
            values = sheet.iter_rows(values_only=True)
            line_number = 1
            if skip_first:
                next(values, None)
                line_number = 2
            batch: list[list[str | None]] = []
            for row in values:
                batch.append([_cell_text(value) for value in row])
                if len(batch) >= rows:
                    frame = _frame(batch)
                    yield Chunk(frame, line_number, min(line_number / total, 1.0), frame.width)
                    line_number += len(batch)
                    batch = []
            if batch:
                frame = _frame(batch)
                yield Chunk(frame, line_number, 1.0, frame.width)
        finally:
            workbook.close()


@dataclass
class _ParseState:
    encoding: str
    width: int  # fields of the widest line met so far (0: not measured yet)


def _width(data: bytes, separator: str) -> int:
    """Fields of the widest line (a quoted separator counts too: a harmless extra column)."""
    mark = separator.encode()
    return max(map(bytes.count, data.split(b"\n"), itertools.repeat(mark))) + 1


_T = TypeVar("_T")


def prefetched(items: Iterator[_T], depth: int = 1) -> Iterator[_T]:
    """Run ``items`` one step ahead in a thread: the next chunk is read and parsed (polars
    and file reads release the GIL) while the caller works on this one. No database
    access may happen in ``items``: the thread has no connection of its own."""
    queue: Queue[tuple[str, Any]] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                queue.put(("item", item))
            queue.put(("end", None))
        except BaseException as exc:  # handed to the consumer, raised there
            queue.put(("error", exc))

    worker = threading.Thread(target=produce, name="import-reader", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while worker.is_alive():
            # Unblock a producer waiting on a full queue, then let it see ``stop``.
            try:
                queue.get_nowait()
            except Empty:
                worker.join(timeout=0.05)


def _frame(rows: list[list[str | None]]) -> pl.DataFrame:
    width = max((len(row) for row in rows), default=0)
    columns = {column(i): [row[i] if i < len(row) else None for row in rows] for i in range(width)}
    return pl.DataFrame(columns, schema={name: pl.String for name in columns})


def _cell_text(value: Any) -> str | None:
    """An XLSX cell as the CSV rendition would have written it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _load_workbook(path: Path) -> Any:
    import openpyxl

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise ImportFileError(_("Classeur XLSX illisible : %(error)s") % {"error": exc}) from exc


def _maybe_gunzip(raw: IO[bytes]) -> IO[bytes]:
    magic = raw.read(2)
    raw.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    return raw


def _split(line: str, separator: str, quoting: bool) -> list[str]:
    if not quoting:
        return [part.strip() for part in line.split(separator)]
    return [part.strip() for part in next(csv.reader([line], delimiter=separator), [])]


def open_table(path: str | Path, *, separator: str | None = None) -> Table:
    """Sniff ``path`` and return its ``Table``; ImportFileError if it is no table at all."""
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(_("Fichier introuvable : %(path)s") % {"path": path})
    with path.open("rb") as raw:
        head = raw.read(4)
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(path)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            _("Ancien format Excel (.xls) : enregistrez le fichier en XLSX ou en CSV.")
        )
    with path.open("rb") as raw:
        sample = _maybe_gunzip(raw).read(_SAMPLE_BYTES)
    if not sample.strip():
        raise ImportFileError(_("Fichier vide : %(name)s") % {"name": path.name})
    if b"\x00" in sample:
        raise ImportFileError(_("Ce n'est pas un fichier texte (CSV) ni un classeur XLSX."))
    if sample.startswith(codecs.BOM_UTF8):
        sample = sample[len(codecs.BOM_UTF8) :]
    encoding = _decoder_for(sample)
    text, encoding = (
        _decode(sample, encoding)
        if encoding != "utf-8"
        else (
            sample.decode("utf-8", errors="ignore"),
            encoding,
        )
    )
    lines = text.splitlines()
    first = lines[0] if lines else ""
    if separator is None:
        separator = max(_CANDIDATE_SEPARATORS, key=first.count)
        if not first.count(separator):
            raise ImportFileError(
                _("Aucun séparateur de colonnes (; , ou tabulation) sur la première ligne.")
            )
    quoting = bool(_QUOTED_FIELD.search(sample[:_SAMPLE_BYTES]))
    # The last sampled line may be cut: keep the complete ones.
    rows = [_split(line, separator, quoting) for line in lines[1:6] if line.strip()]
    return Table(
        path=path,
        kind="csv",
        header=_split(first, separator, quoting),
        separator=separator,
        encoding=encoding,
        quoting=quoting,
        sample_rows=rows[:-1] if len(lines) > 6 else rows,
    )


def _open_xlsx(path: Path) -> Table:
    workbook = _load_workbook(path)
    try:
        if not workbook.worksheets:
            raise ImportFileError(_("Classeur XLSX sans feuille."))
        values = workbook.worksheets[0].iter_rows(values_only=True, max_row=6)
        rows = [[_cell_text(value) or "" for value in row] for row in values]
    finally:
        workbook.close()
    if not rows:
        raise ImportFileError(_("Fichier vide : %(name)s") % {"name": path.name})
    return Table(path=path, kind="xlsx", header=rows[0], sample_rows=rows[1:])
