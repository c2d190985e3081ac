"""An export file opened for reading: its format and notes at once, its records when iterated."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from koito_assets.settings import Settings
from koito_assets.sources.context import ExportStats, ReadContext
from koito_assets.sources.detect import detect
from koito_assets.sources.formats import FORMATS
from koito_assets.sources.reader import Record
from koito_assets.sources.record import Scrobble


class Export:
    """One export file. Iterate it once for its records, in file order; ``stats`` fills meanwhile.

    A corrupt container raises ExportError during iteration, possibly after many records (a
    truncated file shows only at its end), so consumers stage records and commit at the end.
    """

    def __init__(self, path: Path, format: str, notes: list[str], settings: Settings) -> None:
        self.path = path
        self.format = format
        self.detection_notes = notes
        self.stats = ExportStats()
        self._read = FORMATS[format].read
        self._context = ReadContext(path, settings, self.stats)
        self._iterated = False

    def __iter__(self) -> Iterator[Record]:
        if self._iterated:
            raise RuntimeError(f"{self.path.name} was read already: open it again to re-read")
        self._iterated = True
        return self._counted(self._read(self.path, self._context))

    @property
    def notes(self) -> list[str]:
        """What a user should know about the file: from detection at once, and what reading
        found so far (text cut, times in the wrong unit), complete once it was read."""
        return [*self.detection_notes, *self.stats.note_lines()]

    def __repr__(self) -> str:
        return f"Export({str(self.path)!r}, format={self.format!r})"

    def _counted(self, records: Iterator[Record]) -> Iterator[Record]:
        stats = self.stats
        skipped = stats.skipped
        for record in records:
            if record.__class__ is Scrobble:
                stats.accepted += 1
            else:
                reason = (
                    record.reason._value_
                )  # the plain attribute: Enum's .value is a slow property
                skipped[reason] = skipped.get(reason, 0) + 1
            yield record


def open_export(path: Path, settings: Settings) -> Export:
    """Detect the format of ``path`` (reading its first bytes); ExportError if we cannot read it."""
    path = Path(path)
    detection = detect(path)
    return Export(path, detection.format, list(detection.notes), settings)
