"""A station's results as horizontal bars, drawn server-side as SVG (no chart library).

The figures come from the counts: each candidate's share of exprimés is voix ÷ exprimés.
The page shows the same figures as a table, for screen readers and for printing.
"""

from __future__ import annotations

from dataclasses import dataclass

from campagne.elections.models import StationResult

WIDTH = 640
LABEL_WIDTH = 190
VALUE_WIDTH = 110
ROW_HEIGHT = 26
BAR_HEIGHT = 18


@dataclass(frozen=True)
class Bar:
    label: str
    nuance: str
    votes: int
    share: float | None
    ours: bool
    y: int
    width: float

    @property
    def text_y(self) -> int:
        return self.y + BAR_HEIGHT - 4

    @property
    def value_x(self) -> float:
        return LABEL_WIDTH + self.width + 6


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    width: int = WIDTH
    label_width: int = LABEL_WIDTH

    @property
    def height(self) -> int:
        return max(len(self.bars), 1) * ROW_HEIGHT + 4


def result_chart(result: StationResult, ours: set[int]) -> Chart:
    """Bars of every candidate of ``result``, the most voted first; ``ours`` highlighted."""
    rows = sorted(result.candidate_votes(), key=lambda pair: (-pair[1], pair[0].panneau or 0))
    top = max((votes for _candidate, votes in rows), default=0)
    room = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars = []
    for index, (candidate, votes) in enumerate(rows):
        bars.append(
            Bar(
                label=candidate.display_name,
                nuance=candidate.nuance,
                votes=votes,
                share=StationResult.rate(votes, result.exprimes),
                ours=candidate.pk in ours,
                y=index * ROW_HEIGHT + 2,
                width=round(room * votes / top, 1) if top else 0.0,
            )
        )
    return Chart(bars=bars)
