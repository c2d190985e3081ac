"""The Koito SQLite file a merge writes into: taken for ourselves, recognised, backed up.

Koito (>= 0.3) keeps everything in one SQLite file in WAL mode, and every connection it holds
keeps a shared lock on that file. So a connection in exclusive locking mode that cannot begin
an exclusive transaction within a few seconds means Koito (or anything else) is using the
database: we refuse, having changed nothing. Once it begins, exclusive locking mode keeps the
lock until the connection closes, so nothing can read a half-written database or write
between our backup and our merge.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

# Koito's SQLite migrations this merge knows the schema of (goose versions).
KNOWN_GOOSE_VERSIONS = (1, 2)
# The SQL the merge runs: UPDATE … FROM (3.33), window functions, upserts.
MIN_SQLITE = (3, 33, 0)

# The tables and columns the merge reads or writes; anything else of Koito's it leaves alone.
REQUIRED_COLUMNS = {
    "artists": {"id", "musicbrainz_id", "image", "image_source"},
    "artist_aliases": {"artist_id", "alias", "source", "is_primary"},
    "releases": {"id", "musicbrainz_id", "image", "image_source", "various_artists"},
    "release_aliases": {"release_id", "alias", "source", "is_primary"},
    "artist_releases": {"artist_id", "release_id", "is_primary"},
    "tracks": {"id", "musicbrainz_id", "release_id", "duration"},
    "track_aliases": {"track_id", "alias", "source", "is_primary"},
    "artist_tracks": {"artist_id", "track_id", "is_primary"},
    "listens": {"track_id", "listened_at", "user_id", "client"},
    "users": {"id"},
}

KOITO_USER_ID = 1  # the user Koito's importers write for (its first admin)


class SqliteRefused(RuntimeError):
    """The Koito database was left untouched; the message says why and what to do."""


class KoitoMissing(SqliteRefused):
    """There is no file at the path, or it is not an SQLite database."""


class DatabaseInUse(SqliteRefused):
    """Another process holds the database: Koito is running."""


class UnknownKoitoDatabase(SqliteRefused):
    """Not a Koito database, or one of a Koito version we do not know."""


@dataclass(frozen=True)
class KoitoTarget:
    """An open, exclusively locked, recognised Koito database."""

    path: Path
    conn: sqlite3.Connection
    goose_version: int


def _check_sqlite_library() -> None:
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        wanted = ".".join(map(str, MIN_SQLITE))
        raise SqliteRefused(
            f"this Python's SQLite is {sqlite3.sqlite_version}; the merge needs {wanted} or newer"
        )


def open_koito(path: Path, *, lock_timeout: float = 3.0) -> KoitoTarget:
    """Open ``path`` for a merge: lock it exclusively, then check it is a Koito we know.

    Raises a :class:`SqliteRefused` (the file unchanged) when it is missing, in use, not Koito's,
    of an unknown goose version, or has no user 1.
    """
    _check_sqlite_library()
    path = path.expanduser().absolute()
    if not path.is_file():
        raise KoitoMissing(
            f"{path}: no such file (Koito's database is koito.db in its KOITO_CONFIG_DIR)"
        )
    if not (os.access(path, os.R_OK | os.W_OK) and os.access(path.parent, os.W_OK)):
        raise SqliteRefused(
            f"{path}: not writable by this user (the file, and its folder for SQLite's journal "
            "and the backup); run as the user that owns Koito's files"
        )
    # mode=rw: never create a database where none is.
    conn = sqlite3.connect(
        f"{path.as_uri()}?mode=rw", uri=True, isolation_level=None, timeout=lock_timeout
    )
    try:
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        conn.execute("PRAGMA foreign_keys = ON")  # as Koito opens it
        _lock(conn, path, lock_timeout)
        version = _goose_version(conn, path)
        _check_tables(conn, path)
        if conn.execute("SELECT 1 FROM users WHERE id = ?", (KOITO_USER_ID,)).fetchone() is None:
            raise UnknownKoitoDatabase(
                f"{path}: Koito has no user {KOITO_USER_ID} yet; start Koito once so it creates "
                "its admin, stop it, then merge"
            )
    except BaseException:
        conn.close()
        raise
    return KoitoTarget(path, conn, version)


def _lock(conn: sqlite3.Connection, path: Path, lock_timeout: float) -> None:
    try:
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("COMMIT")  # exclusive locking mode keeps the lock after the commit
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise DatabaseInUse(
                f"{path}: the database is in use (no exclusive lock within {lock_timeout:g} s); "
                "stop Koito first, then merge, then start it again"
            ) from None
        raise
    except sqlite3.DatabaseError as exc:  # "file is not a database"
        raise KoitoMissing(f"{path}: not an SQLite database ({exc})") from None


def _goose_version(conn: sqlite3.Connection, path: Path) -> int:
    """goose's current version: the highest version whose latest row says applied."""
    has_goose = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'goose_db_version'"
    ).fetchone()
    if not has_goose:
        raise UnknownKoitoDatabase(f"{path}: not a Koito database (no goose_db_version table)")
    rows = conn.execute(
        "SELECT version_id, is_applied FROM goose_db_version ORDER BY id"
    ).fetchall()
    latest: dict[int, bool] = {}
    for version_id, is_applied in rows:
        latest[int(version_id)] = bool(is_applied)
    applied = [v for v, ok in latest.items() if ok]
    version = max(applied, default=0)
    if version not in KNOWN_GOOSE_VERSIONS:
        known = "–".join(str(v) for v in (KNOWN_GOOSE_VERSIONS[0], KNOWN_GOOSE_VERSIONS[-1]))
        raise UnknownKoitoDatabase(
            f"{path}: Koito schema version {version} is not one this merge knows (versions "
            f"{known}, Koito's SQLite migrations up to 0.3's); nothing was changed"
        )
    return version


def _check_tables(conn: sqlite3.Connection, path: Path) -> None:
    for table, columns in REQUIRED_COLUMNS.items():
        found = {row[1] for row in conn.execute(f"PRAGMA main.table_info({table})")}
        missing = columns - found
        if missing:
            raise UnknownKoitoDatabase(
                f"{path}: table {table} lacks {', '.join(sorted(missing))}; not the Koito "
                "schema this merge knows; nothing was changed"
            )


def backup_path_for(path: Path, now: datetime | None = None) -> Path:
    """``koito.db.before-import-<UTC time>`` beside ``path``; a free name if that is taken."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    candidate = path.with_name(f"{path.name}.before-import-{stamp}")
    number = 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}.before-import-{stamp}-{number}")
    return candidate


def write_backup(target: KoitoTarget) -> tuple[Path, float]:
    """A consistent copy of the locked database next to it (SQLite's online backup API).

    Written under a temporary name and renamed when complete, so a file of the final name is
    always a whole backup. Returns its path and the seconds it took.
    """
    started = time.perf_counter()
    final = backup_path_for(target.path)
    partial = final.with_name(final.name + ".partial")
    destination = sqlite3.connect(partial)
    try:
        target.conn.backup(destination)
    finally:
        destination.close()
    partial.replace(final)
    return final, time.perf_counter() - started
