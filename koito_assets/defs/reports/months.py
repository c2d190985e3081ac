"""Calendar months of a listening history: the span, every month in it, and the empty ones."""

from __future__ import annotations

from typing import NamedTuple


class Month(NamedTuple):
    """A calendar month (UTC), ordered by time."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """``"2024-03"`` → Month(2024, 3)."""
        year, month = text.split("-")
        return cls(int(year), int(month))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)


def every_month(counts: dict[Month, int]) -> list[tuple[Month, int]]:
    """Every month from the first to the last of ``counts``, in order, 0 where it has none."""
    if not counts:
        return []
    month, last = min(counts), max(counts)
    span = []
    while month <= last:
        span.append((month, counts.get(month, 0)))
        month = month.next()
    return span


def empty_runs(span: list[tuple[Month, int]]) -> list[tuple[Month, Month]]:
    """The runs of consecutive months without listens inside ``span``: (first, last) each."""
    runs: list[tuple[Month, Month]] = []
    for month, count in span:
        if count:
            continue
        if runs and runs[-1][1].next() == month:
            runs[-1] = (runs[-1][0], month)
        else:
            runs.append((month, month))
    return runs


def months_between(first: Month, last: Month) -> int:
    """How many months ``first`` … ``last`` covers, both included."""
    return (last.year - first.year) * 12 + last.month - first.month + 1
