"""A tiny reader for the .po files makemessages writes, so the tests need no new library."""

import re
from dataclasses import dataclass, field
from pathlib import Path

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")$")


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: str = ""
    msgstr_plural: dict[int, str] = field(default_factory=dict)

    def translations(self) -> list[str]:
        return list(self.msgstr_plural.values()) if self.msgid_plural else [self.msgstr]


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), text[1:-1])


def read_po(path: Path) -> list[Entry]:
    """Every active entry, the header (msgid "") included; obsolete "#~" entries are left out."""
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int | None] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            entry, target = None, None
            continue
        if line.startswith("#~"):
            continue
        if line.startswith("#,"):
            if entry is None or _started(entry):
                entry = Entry(line=number)
                entries.append(entry)
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        if line.startswith('"'):
            if entry is None or target is None:
                raise ValueError(f"{path}:{number}: continuation line outside an entry")
            _append(entry, target, _unquote(line))
            continue
        match = _KEYWORD.match(line)
        if match is None:
            raise ValueError(f"{path}:{number}: cannot read {line!r}")
        keyword, index, value = match.groups()
        if entry is None or (keyword in ("msgctxt", "msgid") and _started(entry)):
            entry = Entry(line=number)
            entries.append(entry)
        target = (keyword.split("[")[0], int(index) if index is not None else None)
        _append(entry, target, _unquote(value))
    # Flags of an obsolete entry ("#, fuzzy" then "#~ msgid …") make an empty one: drop it.
    return [entry for entry in entries if _started(entry)]


def _started(entry: Entry) -> bool:
    return bool(entry.msgid or entry.msgstr or entry.msgstr_plural or entry.msgid_plural)


def _append(entry: Entry, target: tuple[str, int | None], text: str) -> None:
    name, index = target
    if name == "msgstr" and index is not None:
        entry.msgstr_plural[index] = entry.msgstr_plural.get(index, "") + text
    elif name == "msgid_plural":
        entry.msgid_plural = (entry.msgid_plural or "") + text
    elif name == "msgctxt":
        entry.msgctxt = (entry.msgctxt or "") + text
    else:
        setattr(entry, name, getattr(entry, name) + text)
