"""Merge what we imported into a Koito >= 0.3 SQLite database, in one transaction, with a backup.

For a Koito that already runs: its own importer reads export files only at start-up and spends
about twenty statements per listen; this maps our catalogue onto Koito's by the same rules
(sqlite_mapping.py), set-based, and appends. In order: lock the file or refuse (Koito must be
stopped), recognise it or refuse (sqlite_target.py), write a backup beside it, then in one
transaction load our selection (sqlite_source.py), match, create, insert, check, commit.
Anything failing before the commit leaves the database as it was.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from koito_assets.db.connection import connect
from koito_assets.to_koito.export_file import recorded_file_id
from koito_assets.to_koito.sqlite_mapping import (
    MappingCounts,
    map_and_write,
    register_functions,
    run_script,
)
from koito_assets.to_koito.sqlite_source import Selection, load_selection
from koito_assets.to_koito.sqlite_target import open_koito, write_backup

# SQLite page caches of the merge's connection (KiB): enough to hold the catalogue and the
# listens' indexes of a large library; a fixed bound whatever the history's length.
MAIN_CACHE_KIB = 128 * 1024
TEMP_CACHE_KIB = 32 * 1024


@dataclass
class MergeReport:
    """What a merge did: entities matched and created by kind, listens, the backup, timings."""

    database: str
    backup: str | None
    goose_version: int
    since: str | None
    until: str | None
    file: str | None
    counts: MappingCounts
    listens_selected: int
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def listens_already_present(self) -> int:
        return self.counts.listens_merged - self.counts.listens_added

    def as_json(self) -> dict[str, Any]:
        c = self.counts
        return {
            "database": self.database,
            "backup": self.backup,
            "goose_version": self.goose_version,
            "since": self.since,
            "until": self.until,
            "file": self.file,
            "artists": {"matched": c.artists_matched, "created": c.artists_created},
            "releases": {"matched": c.releases_matched, "created": c.releases_created},
            "tracks": {"matched": c.tracks_matched, "created": c.tracks_created},
            "listens": {
                "selected": self.listens_selected,
                "added": c.listens_added,
                "already_present": self.listens_already_present,
                "skipped": dict(c.skipped_listens),
            },
            "durations_filled": c.durations_filled,
            "rounds": {"artists": c.artist_rounds, "releases": c.release_rounds},
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "step_seconds": {k: round(v, 3) for k, v in c.step_seconds.items()},
        }

    def lines(self) -> list[str]:
        """The summary a person reads."""
        c = self.counts
        out = [
            f"{self.database}: {c.listens_added:,} listens added, "
            f"{self.listens_already_present:,} already there",
            f"  artists  {c.artists_matched:,} matched, {c.artists_created:,} created",
            f"  releases {c.releases_matched:,} matched, {c.releases_created:,} created",
            f"  tracks   {c.tracks_matched:,} matched, {c.tracks_created:,} created",
        ]
        for reason, count in sorted(c.skipped_listens.items()):
            out.append(f"  skipped  {count:,} listens: {reason.replace('_', ' ')}")
        out.append(f"  backup   {self.backup}" if self.backup else "  backup   none (turned off)")
        out.append(f"  {self.seconds.get('total', 0.0):.2f} s")
        return out


@contextmanager
def _our_database(source: str | psycopg.Connection) -> Iterator[psycopg.Connection]:
    """A connection to our database: the one given (its owner closes it), or one to the URL."""
    if isinstance(source, psycopg.Connection):
        yield source
        return
    with connect(source, autocommit=True) as conn:  # the load opens its own snapshot
        yield conn


def merge_into_sqlite(
    ours: str | psycopg.Connection,
    sqlite_path: Path,
    selection: Selection | None = None,
    *,
    backup: bool = True,
    lock_timeout: float = 3.0,
) -> MergeReport:
    """Merge our listens (``selection``, default all) into the Koito SQLite file at ``sqlite_path``.

    ``ours`` is our database: a URL, or a connection outside any transaction.

    Raises ``SqliteRefused`` (file untouched) when Koito is running or the file is not a Koito
    we know, ``DatabaseUnreachable`` when our database does not answer, ``UnknownImportFile``
    (nothing written) when ``selection.file_key`` names no recorded import, ``MergeCheckFailed``
    (rolled back) when a check before commit fails; any other error also rolls back.
    """
    selection = selection or Selection()
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    with _our_database(ours) as pg:
        if selection.file_key:  # an unknown file is refused before Koito's file is touched
            recorded_file_id(pg, selection.file_key)
        target = open_koito(sqlite_path, lock_timeout=lock_timeout)
        conn = target.conn
        try:
            backup_path = None
            if backup:
                backup_path, seconds["backup"] = write_backup(target)
            conn.execute(f"PRAGMA main.cache_size = -{MAIN_CACHE_KIB}")
            conn.execute(f"PRAGMA temp.cache_size = -{TEMP_CACHE_KIB}")
            register_functions(conn)
            conn.execute("BEGIN")
            try:
                step = time.perf_counter()
                run_script(conn, "sqlite_temp_tables")
                selected = load_selection(pg, conn, selection)
                seconds["load"] = time.perf_counter() - step
                step = time.perf_counter()
                counts = map_and_write(conn)
                seconds["map_and_write"] = time.perf_counter() - step
                step = time.perf_counter()
                conn.execute("COMMIT")
                seconds["commit"] = time.perf_counter() - step
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        finally:
            step = time.perf_counter()
            conn.close()  # releases the lock; the last connection folds the WAL into the file
            seconds["close"] = time.perf_counter() - step
    seconds["total"] = time.perf_counter() - started
    return MergeReport(
        database=str(target.path),
        backup=str(backup_path) if backup_path else None,
        goose_version=target.goose_version,
        since=selection.since.isoformat() if selection.since else None,
        until=selection.until.isoformat() if selection.until else None,
        file=selection.file_key,
        counts=counts,
        listens_selected=selected,
        seconds=seconds,
    )
