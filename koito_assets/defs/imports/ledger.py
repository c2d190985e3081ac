"""The import ledger (``koito_import.import_files``): one row per export file, its status and counts.

The sensor reads it to know which files are new or changed; the CLI reads it for its summary;
each stage writes its counts and seconds to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

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

# jsonb columns: reason -> count (skipped), source -> records recognised (same_play)
JSON_COLUMNS = frozenset({"skipped", "same_play"})


@dataclass(frozen=True)
class FileVersion:
    """What the sensor knows of a file from a stat: enough to tell "changed" without reading it."""

    size_bytes: int
    mtime_ns: int


def register_file(conn: psycopg.Connection, file_key: str, path: Path) -> int:
    """Insert or refresh the file's ledger row (status back to 'registered'); return its id."""
    stat = path.stat()
    row = conn.execute(
        """
        INSERT INTO koito_import.import_files (file_key, path, size_bytes, mtime_ns)
        VALUES (%s, %s, %s, %s)
        ON CONFLICT (file_key) DO UPDATE
            SET path = EXCLUDED.path, size_bytes = EXCLUDED.size_bytes,
                mtime_ns = EXCLUDED.mtime_ns, status = 'registered', error = NULL,
                updated_at = now(), completed_at = NULL
        RETURNING id
        """,
        (file_key, str(path.absolute()), stat.st_size, stat.st_mtime_ns),
    ).fetchone()
    return row[0]


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
    status: str | None = None,
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
        params.append(status)
        if status == "complete":
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
        "UPDATE koito_import.import_files SET status = 'failed', error = %s, updated_at = now() "
        "WHERE file_key = %s",
        (error[:2000], file_key),
    )


FINISHED = frozenset({"complete", "failed"})


@dataclass(frozen=True)
class KnownFile:
    """What the ledger says of a file: the version it last saw, where that import got to, when."""

    version: FileVersion
    status: str
    updated_at: datetime


def known_versions(conn: psycopg.Connection, file_keys: list[str]) -> dict[str, KnownFile]:
    """Ledger version, status and last update of each named file, in one query."""
    rows = conn.execute(
        "SELECT file_key, size_bytes, mtime_ns, status, updated_at FROM koito_import.import_files "
        "WHERE file_key = ANY(%s)",
        (file_keys,),
    ).fetchall()
    return {r[0]: KnownFile(FileVersion(r[1] or -1, r[2] or -1), r[3], r[4]) for r in rows}
