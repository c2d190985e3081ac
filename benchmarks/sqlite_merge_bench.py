"""merge-into-sqlite benchmark: our imported library into a Koito >= 0.3 SQLite database.

    python -m benchmarks.sqlite_merge_bench [--size seed|large|N] [--pg-url URL]

Builds our library by importing a generated Maloja export of the given size through the asset
graph (or takes an already imported database with --pg-url), then merges it, each merge in a
child process that reports its own peak resident memory:

1. into Koito's fresh database: every artist, release and track created;
2. the same again: everything already there (the idempotent case, nothing written);
3. into a database that already holds as many listens as ours, of other entities: every
   entity created again and every listen appended to a table already that full. For the
   ``large`` size this is the target: 1,000,000 listens into a database holding 1,000,000 in
   under 60 s, with memory bounded;

each with the backup on (its seconds reported apart). ``make bench`` runs it for the seed and
the large workload (benchmarks/run.py); the seed merge's target is under 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

from benchmarks.child import run_child

_CHILD = """
import json, sys
from pathlib import Path
from benchmarks.child import peak_rss_mb
from koito_assets.to_koito.sqlite_merge import merge_into_sqlite
report = merge_into_sqlite(sys.argv[1], Path(sys.argv[2]))
out = report.as_json()
out["peak_rss_mb"] = peak_rss_mb()
print(json.dumps(out))
"""


def fresh_koito(path: Path) -> Path:
    """Koito's database as its first start leaves it (the test suite's schema fixture)."""
    from tests.to_koito.koito_sqlite import create_koito_db

    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    return create_koito_db(path)


def foreign_library(source: Path, target: Path) -> Path:
    """A copy of ``source`` whose catalogue shares nothing with ours: every name changed and
    every MBID dropped, the listens kept. Merging ours into it creates everything again and
    appends as many listens as are already there."""
    shutil.copyfile(source, target)
    conn = sqlite3.connect(target, isolation_level=None)
    try:
        conn.execute("BEGIN")
        for table in ("artist_aliases", "release_aliases", "track_aliases"):
            conn.execute(f"UPDATE {table} SET alias = alias || ' (earlier)'")
        for table in ("artists", "releases", "tracks"):
            conn.execute(f"UPDATE {table} SET musicbrainz_id = NULL")
        conn.execute("COMMIT")
    finally:
        conn.close()
    return target


def child_merge(pg_url: str, sqlite_path: Path) -> dict:
    """One merge in a fresh interpreter: its report, wall time and peak memory."""
    result = run_child(_CHILD, pg_url, str(sqlite_path))
    for backup in sqlite_path.parent.glob(sqlite_path.name + ".before-import-*"):
        backup.unlink()  # keep the disk free for the next run
    return result


def measure(pg_url: str, work: Path) -> dict:
    """The three merges of the module docstring, on the library in ``pg_url``."""
    work.mkdir(parents=True, exist_ok=True)
    koito = fresh_koito(work / "koito.db")
    into_fresh = child_merge(pg_url, koito)
    again = child_merge(pg_url, koito)
    full = foreign_library(koito, work / "koito-full.db")
    into_full = child_merge(pg_url, full)
    return {"into_fresh": into_fresh, "again": again, "into_full": into_full}


def summary(name: str, result: dict) -> dict:
    """The numbers worth a row: seconds (merge and backup), listens, entities, memory."""
    listens = result["listens"]
    return {
        "merge": name,
        "seconds": result["seconds"]["total"],
        "backup_seconds": result["seconds"].get("backup", 0.0),
        "listens_added": listens["added"],
        "listens_already_present": listens["already_present"],
        "created": {k: result[k]["created"] for k in ("artists", "releases", "tracks")},
        "peak_rss_mb": result["peak_rss_mb"],
        "stages": result["seconds"],
    }


def library(size: str, work: Path, admin_url: str) -> str:
    """A database of ours holding a generated Maloja history of ``size``, imported in-process."""
    from benchmarks.run import _fresh_database, import_in_process
    from benchmarks.workload import generate
    from koito_assets.db.bootstrap import prepare_database
    from koito_assets.settings import Settings

    settings = Settings.from_env(
        {"KOITO_CONFIG_DIR": str(work / "koito"), "KOITO_DISABLE_MUSICBRAINZ": "true"}
    )
    os.environ["KOITO_DISABLE_MUSICBRAINZ"] = "true"
    url = _fresh_database(admin_url, f"koito_merge_bench_{size}")
    prepare_database(url, settings)
    export = generate("maloja", size, work / "exports", seed=1)
    import_in_process(export, url, work / "koito")
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="seed", help="seed, large or a scrobble count")
    parser.add_argument("--pg-url", help="an already imported database of ours to merge from")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="koito-merge-bench-"))
    try:
        if args.pg_url:
            results = measure(args.pg_url, work / "sqlite")
        else:
            from koito_assets.db.connection import embedded_server
            from koito_assets.settings import Settings

            settings = Settings.from_env({"KOITO_CONFIG_DIR": str(work / "koito")})
            with embedded_server(settings) as server:
                url = library(args.size, work, server.url())
                results = measure(url, work / "sqlite")
        rows = [summary(name, result) for name, result in results.items()]
        print(json.dumps(rows, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
