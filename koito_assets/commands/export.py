"""``koito-import export OUT [--since T] [--until T] [--file NAME]``: a Koito export file.

Writes every listen of the database (or those of an inclusive time window, or those one import
file added) as a Koito export v1 file that a running Koito >= 0.3 imports from its ``import/``
folder. OUT is a file, or a folder in which the file gets a name Koito's importer picks up.
Exit codes as every command: 0 written; 1 not written (OUT cannot be written, or ``--file``
names no recorded import), with one line saying why; 3 the database is unreachable.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import psycopg

from koito_assets.db.bootstrap import prepare_database
from koito_assets.db.connection import open_database
from koito_assets.settings import Settings
from koito_assets.to_koito.export_file import (
    ExportResult,
    ExportScope,
    ExportTargetError,
    UnknownImportFile,
    write_export,
)

EXIT_OK, EXIT_FAILED, EXIT_UNREACHABLE = 0, 1, 3


def _summary(result: ExportResult) -> dict[str, object]:
    return {
        "path": str(result.path),
        "listens": result.listens,
        "bytes": result.bytes,
        "skipped": dict(result.skipped),
        "repaired": dict(result.repaired),
        "seconds": round(result.seconds, 3),
    }


def _lines(result: ExportResult) -> list[str]:
    rate = result.listens / result.seconds if result.seconds else 0.0
    lines = [
        f"{result.path}: {result.listens:,} listens, {result.bytes / 1e6:,.1f} MB "
        f"in {result.seconds:.1f} s ({rate:,.0f} listens/s)"
    ]
    if result.skipped:
        reasons = ", ".join(f"{n:,} {reason}" for reason, n in sorted(result.skipped.items()))
        lines.append(f"  left out (Koito's importer would fail on them): {reasons}")
    if result.repaired:
        repairs = ", ".join(f"{n:,} {what}" for what, n in sorted(result.repaired.items()))
        lines.append(f"  repaired in the file: {repairs}")
    return lines


def run_export_command(
    out: str,
    *,
    since: datetime | None,
    until: datetime | None,
    file_key: str | None,
    as_json: bool,
    settings: Settings,
) -> int:
    scope = ExportScope(since, until, Path(file_key).name if file_key else None)
    try:
        with open_database(settings) as url:
            prepare_database(url, settings)
            result = write_export(url, out, scope)  # text: a trailing / means a folder
    except (ExportTargetError, UnknownImportFile) as exc:
        print(f"koito-import: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except psycopg.OperationalError as exc:  # the connection was lost part-way
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else "connection lost"
        print(
            f"koito-import: lost the database while exporting, nothing was written: {reason}",
            file=sys.stderr,
        )
        return EXIT_UNREACHABLE
    for note in result.notes:
        print(f"koito-import: note: {note}", file=sys.stderr)
    if as_json:
        print(json.dumps(_summary(result), indent=2))
    else:
        print("\n".join(_lines(result)))
    return EXIT_OK
