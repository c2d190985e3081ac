"""``koito-import merge-into-sqlite KOITO_DB``: what we imported, into a Koito >= 0.3 database.

Opens our database as every command does (embedded unless KOITO_DATABASE_URL is set), then
merges (koito_assets/to_koito/sqlite_merge.py): all our listens, or those of an inclusive time
window, or those one import file added. Koito must be stopped. Prints a summary, or the report
as one JSON object with ``--json``.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from datetime import datetime
from pathlib import Path

from koito_assets.db.bootstrap import prepare_database
from koito_assets.db.connection import open_database
from koito_assets.settings import Settings
from koito_assets.to_koito.export_file import UnknownImportFile
from koito_assets.to_koito.sqlite_mapping import MergeCheckFailed
from koito_assets.to_koito.sqlite_merge import merge_into_sqlite
from koito_assets.to_koito.sqlite_source import Selection
from koito_assets.to_koito.sqlite_target import KoitoMissing, SqliteRefused

EXIT_OK, EXIT_FAILED, EXIT_UNREADABLE, EXIT_REFUSED = 0, 1, 2, 4


def run_merge_command(
    koito_db: str,
    *,
    since: datetime | None,
    until: datetime | None,
    file_key: str | None,
    backup: bool,
    as_json: bool,
    settings: Settings,
) -> int:
    """Merge and report; the exit code says how it went (module docstring of cli.py)."""
    path = Path(koito_db).expanduser().absolute()
    with open_database(settings) as url:
        prepare_database(url, settings)
        try:
            report = merge_into_sqlite(url, path, Selection(since, until, file_key), backup=backup)
        except UnknownImportFile as exc:
            print(f"koito-import: {exc}", file=sys.stderr)
            return EXIT_FAILED
        except KoitoMissing as exc:
            print(f"koito-import: {exc}", file=sys.stderr)
            return EXIT_UNREADABLE
        except SqliteRefused as exc:
            print(f"koito-import: {exc}", file=sys.stderr)
            return EXIT_REFUSED
        except (MergeCheckFailed, sqlite3.Error) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            print(
                f"koito-import: {path}: the merge was rolled back, nothing changed: {reason}",
                file=sys.stderr,
            )
            return EXIT_FAILED
    if as_json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print("\n".join(report.lines()))
    return EXIT_OK
