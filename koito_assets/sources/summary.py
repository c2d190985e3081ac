"""The ``parse`` command: read one export file without touching a database, and say what is in it.

A handful of counters and two timestamps, gathered in the one pass that reads the file: plain
Python does this at reading speed (a DataFrame would hold every record, or cost a pass of its own).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from koito_assets.settings import Settings
from koito_assets.sources.errors import ExportError
from koito_assets.sources.export import Export, open_export
from koito_assets.sources.record import Scrobble, SkipReason

EXIT_OK = 0
EXIT_UNREADABLE = 2


@dataclass(frozen=True)
class Summary:
    """What reading one file found."""

    format: str
    records: int
    accepted: int
    skipped: dict[str, int]  # every skip reason, in SkipReason order, zeros included
    first_listened_at: int | None  # earliest accepted listen (unix seconds)
    last_listened_at: int | None
    nul_stripped: int
    notes: list[str]

    def as_json(self) -> dict[str, object]:
        return {
            "format": self.format,
            "records": self.records,
            "accepted": self.accepted,
            "skipped": self.skipped,
            "first_listened_at": _iso(self.first_listened_at),
            "last_listened_at": _iso(self.last_listened_at),
        }


def summarise(export: Export) -> Summary:
    """Read the whole export; ExportError if it breaks on the way."""
    first = last = None
    for record in export:
        if record.__class__ is Scrobble:
            listened_at = record.listened_at
            if first is None or listened_at < first:
                first = listened_at
            if last is None or listened_at > last:
                last = listened_at
    stats = export.stats
    return Summary(
        format=export.format,
        records=stats.records,
        accepted=stats.accepted,
        skipped={reason.value: stats.skipped.get(reason.value, 0) for reason in SkipReason},
        first_listened_at=first,
        last_listened_at=last,
        nul_stripped=stats.nul_stripped,
        notes=list(export.notes),
    )


def run_parse_command(path: str, *, as_json: bool, settings: Settings) -> int:
    """Print what ``path`` holds: 0 when it was read, 2 (one line on stderr) when it cannot be."""
    try:
        summary = summarise(open_export(Path(path), settings))
    except ExportError as exc:
        print(f"koito-import: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    if as_json:
        for note in summary.notes:
            print(f"koito-import: {Path(path).name}: note: {note}", file=sys.stderr)
        print(json.dumps(summary.as_json()))
    else:
        print(render_text(Path(path).name, summary))
    return EXIT_OK


def render_text(name: str, summary: Summary) -> str:
    """The human-readable report of one file."""
    lines = [
        f"{name}: {summary.format}",
        f"  records   {summary.records:>12,}",
        f"  accepted  {summary.accepted:>12,}",
        f"  skipped   {summary.records - summary.accepted:>12,}",
    ]
    lines += [f"    {reason:<22}{count:>10,}" for reason, count in summary.skipped.items() if count]
    lines += [
        f"  first listen  {_iso(summary.first_listened_at) or '-'}",
        f"  last listen   {_iso(summary.last_listened_at) or '-'}",
    ]
    if summary.nul_stripped:
        lines.append(f"  NUL characters stripped from text: {summary.nul_stripped:,}")
    lines += [f"  note: {note}" for note in summary.notes]
    return "\n".join(lines)


def _iso(unix: int | None) -> str | None:
    if unix is None:
        return None
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
