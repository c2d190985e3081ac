"""The import ledger (``koito_import.import_files``): one row per export file, its status, counts.

A file is its content: a row is found by the file's SHA-256, so two different files of one name
are two rows (two partitions), and one content reached by two paths is one. ``file_key`` is the
row's partition key, readable in the UI: the file's name, or the name with a short content hash
when another content took that name first. The sensor reads the ledger to know which files are
new or changed; the CLI reads it for its summary; each stage writes its counts and seconds to it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from koito_assets.sources.reader import open_regular


class ImportStatus(StrEnum):
    """Where a file's import got to: the one list of statuses (the table's CHECK agrees)."""

    REGISTERED = "registered"  # claimed for a run, nothing staged yet
    STAGED = "staged"  # raw_scrobbles: records in staging
    KEYED = "keyed"  # unique_entity_keys: distinct keys collected
    RESOLVED = "resolved"  # resolved_lookup: every key has entities
    LOADED = "loaded"  # listens inserted, not yet checked and finished
    COMPLETE = "complete"  # every accepted record loaded; staging dropped
    FAILED = "failed"  # the file could not be read; the error says why


FINISHED = frozenset({ImportStatus.COMPLETE, ImportStatus.FAILED})

COUNT_COLUMNS = (
    "records",
    "accepted",
    "unique_keys",
    "cache_hits",
    "artists_created",
    "albums_created",
    "tracks_created",
    "listens_inserted",
    "duplicates",
)
MAX_ERROR_CHARS = 2000
SHORT_HASH = 8  # hex digits of the content hash a colliding name is told apart by
# Dagster refuses partition keys holding these (a file may be named "a...json").
_UNSAFE_IN_KEYS = ("...", "\a", "\b", "\f", "\n", "\r", "\t", "\v", "\0")

# jsonb columns: reason -> count (skipped), source -> records recognised (same_play)
JSON_COLUMNS = frozenset({"skipped", "same_play"})


@dataclass(frozen=True)
class FileVersion:
    """What the sensor knows of a file from a stat: enough to tell "changed" without reading it."""

    size_bytes: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileVersion:
        stat = path.stat()
        return cls(stat.st_size, stat.st_mtime_ns)


@dataclass(frozen=True)
class Claim:
    """A file's ledger row: its id and partition key."""

    file_id: int
    file_key: str


def content_sha256(path: Path) -> str:
    """The SHA-256 of the regular file at ``path`` (ExportError if it is none or unreadable)."""
    with open_regular(path) as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def partition_key(name: str, sha256: str | None = None) -> str:
    """The partition key of a file ``name``: the name as Dagster accepts it, followed by a short
    content hash when ``sha256`` is given (the name was taken by another content)."""
    key = name
    for unsafe in _UNSAFE_IN_KEYS:
        key = key.replace(unsafe, "…" if unsafe == "..." else "?")
    return key if sha256 is None else f"{key} ({sha256[:SHORT_HASH]})"


def claim_file(
    conn: psycopg.Connection,
    path: Path,
    sha256: str,
    version: FileVersion,
    *,
    preferred_key: str | None = None,
) -> Claim:
    """The ledger row of the content ``sha256``, now found at ``path``: the existing one (its
    path and version updated), or the row of the file's name (``preferred_key``) if that is
    free, or a failed attempt at another content (a file fixed and dropped again), or a new row
    keyed by the name and a short hash when another content holds the name.

    Safe against a concurrent claim: the unique keys on ``sha256`` and ``file_key`` decide, and
    a lost race finds the winner's row.
    """
    name = path.name
    wanted = [preferred_key or partition_key(name), partition_key(name, sha256)]
    for _ in range(4):
        row = conn.execute(
            "UPDATE koito_import.import_files SET path = %s, size_bytes = %s, mtime_ns = %s, "
            "updated_at = now() WHERE sha256 = %s RETURNING id, file_key",
            (str(path), version.size_bytes, version.mtime_ns, sha256),
        ).fetchone()
        if row is not None:
            return Claim(row[0], row[1])
        # The row of this key is this file's when it never got a content (registered before
        # contents were known) or holds a failed attempt (nothing of it was loaded): the file
        # fixed and dropped again keeps its partition.
        try:
            row = conn.execute(
                "UPDATE koito_import.import_files SET sha256 = %s, name = %s, path = %s, "
                "size_bytes = %s, mtime_ns = %s, updated_at = now() "
                "WHERE file_key = %s AND (sha256 IS NULL OR status = %s) RETURNING id, file_key",
                (
                    sha256,
                    name,
                    str(path),
                    version.size_bytes,
                    version.mtime_ns,
                    wanted[0],
                    ImportStatus.FAILED,
                ),
            ).fetchone()
        except psycopg.errors.UniqueViolation:  # the content was claimed meanwhile: find it
            continue
        if row is not None:
            return Claim(row[0], row[1])
        for key in wanted:
            row = conn.execute(
                "INSERT INTO koito_import.import_files "
                "(file_key, name, sha256, path, size_bytes, mtime_ns) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id, file_key",
                (key, name, sha256, str(path), version.size_bytes, version.mtime_ns),
            ).fetchone()
            if row is not None:
                return Claim(row[0], row[1])
    raise RuntimeError(f"{name}: could not claim a ledger row for content {sha256[:12]}")


def claim_files(
    conn: psycopg.Connection, files: list[tuple[Path, str, FileVersion]]
) -> dict[Path, Claim]:
    """:func:`claim_file` for many (path, sha256, version) at once, in two statements for the
    usual case (the sensor's tick over a folder of thousands of new files); the rest one by one.
    """
    claims: dict[Path, Claim] = {}
    if not files:
        return claims
    paths = [str(path) for path, _, _ in files]
    shas = [sha for _, sha, _ in files]
    sizes = [version.size_bytes for _, _, version in files]
    mtimes = [version.mtime_ns for _, _, version in files]
    by_sha: dict[str, Claim] = {}
    for sha, row_id, key in conn.execute(
        "UPDATE koito_import.import_files f SET path = u.path, size_bytes = u.size, "
        "mtime_ns = u.mtime, updated_at = now() "
        "FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bigint[]) "
        "AS u(sha, path, size, mtime) WHERE f.sha256 = u.sha "
        "RETURNING f.sha256, f.id, f.file_key",
        (shas, paths, sizes, mtimes),
    ).fetchall():
        by_sha[sha] = Claim(row_id, key)
    fresh = [item for item in files if item[1] not in by_sha]
    if fresh:
        for sha, row_id, key in conn.execute(
            "INSERT INTO koito_import.import_files "
            "(file_key, name, sha256, path, size_bytes, mtime_ns) "
            "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], "
            "%s::bigint[], %s::bigint[]) ON CONFLICT DO NOTHING "
            "RETURNING sha256, id, file_key",
            (
                [partition_key(path.name) for path, _, _ in fresh],
                [path.name for path, _, _ in fresh],
                [sha for _, sha, _ in fresh],
                [str(path) for path, _, _ in fresh],
                [version.size_bytes for _, _, version in fresh],
                [version.mtime_ns for _, _, version in fresh],
            ),
        ).fetchall():
            by_sha[sha] = Claim(row_id, key)
    for path, sha, version in files:
        found = by_sha.get(sha)
        if found is None:  # its name was taken, or a claim raced ours: the careful way
            found = by_sha[sha] = claim_file(conn, path, sha, version)
        claims[path] = found
    return claims


def start_run(conn: psycopg.Connection, file_key: str) -> None:
    """A run of the file begins: status back to 'registered', and nothing an earlier run
    counted or said is left to be reported as this run's."""
    counts = ", ".join(f"{column} = NULL" for column in (*COUNT_COLUMNS, *JSON_COLUMNS))
    conn.execute(
        f"UPDATE koito_import.import_files SET status = %s, error = NULL, format = NULL, "
        f"{counts}, stage_seconds = '{{}}'::jsonb, completed_at = NULL, "
        "updated_at = now() WHERE file_key = %s",
        (ImportStatus.REGISTERED, file_key),
    )


def register_file(conn: psycopg.Connection, file_key: str, path: Path) -> int:
    """Claim ``path`` under ``file_key`` (its content hashed) and start a run; return its id.

    For callers that name the partition themselves (tests, a partition added by hand)."""
    claim = claim_file(
        conn, path, content_sha256(path), FileVersion.of(path), preferred_key=file_key
    )
    start_run(conn, claim.file_key)
    return claim.file_id


def file_id(conn: psycopg.Connection, file_key: str) -> int | None:
    row = conn.execute(
        "SELECT id FROM koito_import.import_files WHERE file_key = %s", (file_key,)
    ).fetchone()
    return row[0] if row else None


def get_file(conn: psycopg.Connection, file_key: str) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT * FROM koito_import.import_files WHERE file_key = %s", (file_key,)
        ).fetchone()


def update_file(
    conn: psycopg.Connection,
    file_key: str,
    *,
    status: ImportStatus | None = None,
    stage: str | None = None,
    seconds: float | None = None,
    **values: Any,
) -> None:
    """Set counts/fields (only known columns), the status and one stage's seconds."""
    allowed = set(COUNT_COLUMNS) | {"format", "sha256", "error", "path"} | JSON_COLUMNS
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"unknown ledger columns: {sorted(unknown)}")
    assignments = ["updated_at = now()"]
    params: list[Any] = []
    for column, value in values.items():
        assignments.append(f"{column} = %s")
        is_json = column in JSON_COLUMNS and value is not None
        params.append(json.dumps(value) if is_json else value)
    if status is not None:
        assignments.append("status = %s")
        params.append(ImportStatus(status))
        if status == ImportStatus.COMPLETE:
            assignments.append("completed_at = now()")
    if stage is not None and seconds is not None:
        assignments.append(
            "stage_seconds = stage_seconds || jsonb_build_object(%s::text, %s::float8)"
        )
        params += [stage, round(seconds, 4)]
    params.append(file_key)
    conn.execute(
        f"UPDATE koito_import.import_files SET {', '.join(assignments)} WHERE file_key = %s",
        params,
    )


def mark_failed(conn: psycopg.Connection, file_key: str, error: str) -> None:
    conn.execute(
        "UPDATE koito_import.import_files SET status = %s, error = %s, updated_at = now() "
        "WHERE file_key = %s",
        (ImportStatus.FAILED, error[:MAX_ERROR_CHARS], file_key),
    )


@dataclass(frozen=True)
class KnownFile:
    """What the ledger says of a path: the version it last saw, its row, where that import got
    to, and when."""

    version: FileVersion
    file_key: str
    status: ImportStatus
    updated_at: datetime


def known_versions(conn: psycopg.Connection, paths: list[Path]) -> dict[Path, KnownFile]:
    """Ledger version, partition, status and last update of each path, in one query."""
    rows = conn.execute(
        "SELECT path, size_bytes, mtime_ns, file_key, status, updated_at "
        "FROM koito_import.import_files WHERE path = ANY(%s)",
        ([str(path) for path in paths],),
    ).fetchall()
    return {
        Path(r[0]): KnownFile(FileVersion(r[1] or -1, r[2] or -1), r[3], ImportStatus(r[4]), r[5])
        for r in rows
    }
