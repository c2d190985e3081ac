"""A file's report facts: aggregated from its staging rows when its load finishes, kept after.

The load drops a file's staging rows once the file is complete, and nothing else says which
listens came from which file (a listen is a track and a second). So ``finish_file`` calls
:func:`record_file_facts` just before the drop: one server-side statement turns the file's rows
into a few hundred bytes (months, top tracks and artists, plays and what was already there)
in ``koito_import.file_reports``, which ``listening_report`` reads at any time afterwards.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import dict_row

from koito_assets.db.sql_files import sql_text
from koito_assets.defs.reports.months import Month

TOP = 10  # artists and tracks kept per file


@dataclass(frozen=True)
class FileFacts:
    """What ``record_file_facts`` stored for one file."""

    listens: int  # accepted records: the file's listens
    plays: int  # distinct (track, second) among them
    already_present: int  # plays that were in the database before the load
    first_listened_at: datetime | None
    last_listened_at: datetime | None
    months: dict[Month, int]  # months with listens only
    top_tracks: list[tuple[int, int]]  # (track id, listens), most first
    top_artists: list[tuple[int, int]]  # (artist id, listens), most first

    @property
    def repeats_in_file(self) -> int:
        """Listens of a track at a second the file already had (Koito keeps one)."""
        return self.listens - self.plays


def record_file_facts(conn: psycopg.Connection, file_id: int, inserted: int) -> float:
    """Aggregate the file's staging rows into its facts (replacing earlier ones); seconds taken.

    ``inserted`` is how many listens the load just inserted for the file.
    """
    started = time.perf_counter()
    conn.execute(
        sql_text("reports", "record_file_facts"),
        {"file_id": file_id, "inserted": inserted, "top": TOP},
    )
    return time.perf_counter() - started


def read_file_facts(conn: psycopg.Connection, file_id: int) -> FileFacts | None:
    """The facts recorded for the file, or None if its load never finished."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "SELECT * FROM koito_import.file_reports WHERE file_id = %s", (file_id,)
        ).fetchone()
    if row is None:
        return None
    return FileFacts(
        listens=row["listens"],
        plays=row["plays"],
        already_present=row["already_present"],
        first_listened_at=row["first_listened_at"],
        last_listened_at=row["last_listened_at"],
        months={Month.parse(month): count for month, count in row["months"]},
        top_tracks=[(track, count) for track, count in row["top_tracks"]],
        top_artists=[(artist, count) for artist, count in row["top_artists"]],
    )
