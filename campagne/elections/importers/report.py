"""What an import tells its caller: counters, anomalies and progress.

Anomalies are rows or stations that break a check (an identity between the counts, an
unknown commune, a duplicate…). They are reported one by one, never silently dropped: the
command prints each on stderr, the upload page lists them, ``ImportJob.anomalies`` keeps
them (up to ``MAX_KEPT``; the count is always exact).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Called after each chunk with the rows read so far and the share of the file read (0–1).
Progress = Callable[[int, float], None]
MAX_KEPT = 20_000


def no_progress(rows: int, fraction: float) -> None:
    """The default ``Progress``: report nothing."""


@dataclass
class Report:
    kind: str
    file: str
    counts: Counter[str] = field(default_factory=Counter)
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    anomaly_count: int = 0
    anomalies_by_kind: Counter[str] = field(default_factory=Counter)
    details: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def anomaly(
        self,
        kind: str,
        message: str,
        *,
        line: int | None = None,
        station: str | None = None,
        election: str | None = None,
    ) -> None:
        self.anomaly_count += 1
        self.anomalies_by_kind[kind] += 1
        if len(self.anomalies) < MAX_KEPT:
            entry: dict[str, Any] = {"kind": kind, "message": message}
            if line is not None:
                entry["line"] = line
            if station:
                entry["station"] = station
            if election:
                entry["election"] = election
            self.anomalies.append(entry)

    def summary(self) -> dict[str, Any]:
        """The JSON line: ``{"rows": N, "stations": N, "candidates": N, "anomalies": N, …}``."""
        result: dict[str, Any] = {
            "kind": self.kind,
            "file": self.file,
            "rows": self.counts.get("rows", 0),
            "stations": self.counts.get("stations", 0),
            "candidates": self.counts.get("candidates", 0),
            "anomalies": self.anomaly_count,
        }
        result.update(
            {key: value for key, value in sorted(self.counts.items()) if key not in result}
        )
        result.update(self.details)
        if self.anomalies_by_kind:
            result["anomalies_by_kind"] = dict(sorted(self.anomalies_by_kind.items()))
        result["seconds"] = round(time.monotonic() - self.started, 3)
        return result


def format_anomaly(entry: dict[str, Any]) -> str:
    """One anomaly as a line of text for the terminal."""
    where = []
    if "line" in entry:
        where.append(f"ligne {entry['line']}")
    if "station" in entry:
        where.append(f"bureau {entry['station']}")
    prefix = f"[{entry['kind']}] " + (", ".join(where) + " : " if where else "")
    return prefix + entry["message"]
