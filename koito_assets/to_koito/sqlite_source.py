"""What a merge brings: our listens and the catalogue they need, from PostgreSQL into SQLite.

One REPEATABLE READ snapshot of our database (a concurrent import cannot make the listens and
the catalogue disagree); every table is streamed with a binary COPY and written into the merge's
TEMP tables in batches, so memory stays flat however long the history. Names are prepared
here as our Koito-export reader would read them from an export: artist names trimmed, blank
aliases left out (Koito refuses them), a blank title or artist name marked as missing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

import psycopg

from koito_assets.db.sql_files import sql_text
from koito_assets.db.users import IMPORT_USER_ID
from koito_assets.to_koito.export_entities import GO_SPACE
from koito_assets.to_koito.export_file import recorded_file_id

FOLDER = "to_koito"
BATCH_ROWS = 50_000


@dataclass(frozen=True)
class Selection:
    """Which of our listens to merge: an inclusive time window (either end open), and only
    those one import file added (its partition key, or its name when that is unambiguous)."""

    since: datetime | None = None
    until: datetime | None = None
    file_key: str | None = None


def _blank(text: str | None) -> bool:
    return text is None or not text.strip(GO_SPACE)


def _copy_rows(pg: psycopg.Connection, name: str, types: list[str]) -> Iterator[tuple[object, ...]]:
    query = sql_text(FOLDER, name).strip().rstrip(";")
    with pg.cursor() as cur, cur.copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)") as copy:
        copy.set_types(types)
        yield from copy.rows()


def _insert(conn: sqlite3.Connection, statement: str, rows: Iterable[tuple[object, ...]]) -> int:
    count = 0
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH_ROWS)):
        conn.executemany(statement, batch)
        count += len(batch)
    return count


def _aliases(rows: Iterable[tuple[object, ...]]) -> Iterator[tuple[object, str]]:
    """Aliases as Koito saves them on creation: trimmed as Go trims, blanks left out."""
    for owner, alias in rows:
        trimmed = str(alias).strip(GO_SPACE)
        if trimmed:
            yield owner, trimmed


def load_selection(pg: psycopg.Connection, conn: sqlite3.Connection, selection: Selection) -> int:
    """Fill the merge's TEMP tables from our database; returns how many listens were selected.

    ``pg`` must not be in a transaction: this opens its own snapshot and ends it, and leaves
    the connection's isolation level as it found it (it may belong to a pool).
    """
    isolation = pg.isolation_level
    pg.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    try:
        return _load(pg, conn, selection)
    finally:
        pg.isolation_level = isolation


def _load(pg: psycopg.Connection, conn: sqlite3.Connection, selection: Selection) -> int:
    with pg.transaction():
        file_id = recorded_file_id(pg, selection.file_key) if selection.file_key else None
        pg.execute(
            sql_text(FOLDER, "pg_merge_selection"),
            {
                "user_id": IMPORT_USER_ID,
                "since": selection.since,
                "until": selection.until,
                "file_id": file_id,
            },
        )
        pg.execute(sql_text(FOLDER, "pg_merge_file_listens"))  # empty without a file
        if file_id is not None:
            pg.execute("ANALYZE merge_file_listens")
        pg.execute(sql_text(FOLDER, "pg_merge_tracks"))
        pg.execute("ANALYZE merge_tracks")

        tracks = (
            (tid, mbid, duration, release, first_at, listens, None if _blank(title) else title)
            for tid, mbid, duration, release, first_at, listens, title in _copy_rows(
                pg, "pg_tracks", ["int4", "text", "int4", "int4", "int8", "int8", "text"]
            )
        )
        _insert(
            conn,
            "INSERT INTO m_track (our_id, mbid, duration, our_release, first_at, listens, title) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            tracks,
        )
        _insert(
            conn,
            "INSERT OR IGNORE INTO m_track_alias (our_id, alias) VALUES (?, ?)",
            _aliases(_copy_rows(pg, "pg_track_aliases", ["int4", "text"])),
        )
        _insert(
            conn,
            "INSERT INTO m_track_artist (our_track, our_artist, position) VALUES (?, ?, ?)",
            _copy_rows(pg, "pg_track_artists", ["int4", "int4", "int4"]),
        )
        releases = (  # a blank title is no title: Koito creates the album titled ""
            (rid, mbid, image or None, int(bool(various)), "" if _blank(title) else title)
            for rid, mbid, image, various, title in _copy_rows(
                pg, "pg_releases", ["int4", "text", "text", "bool", "text"]
            )
        )
        _insert(
            conn,
            "INSERT INTO m_release (our_id, mbid, image_source, various_artists, title) "
            "VALUES (?, ?, ?, ?, ?)",
            releases,
        )
        _insert(
            conn,
            "INSERT OR IGNORE INTO m_release_alias (our_id, alias) VALUES (?, ?)",
            _aliases(_copy_rows(pg, "pg_release_aliases", ["int4", "text"])),
        )
        artists = (
            (aid, mbid, image or None, None if _blank(name) else str(name).strip(GO_SPACE))
            for aid, mbid, image, name in _copy_rows(
                pg, "pg_artists", ["int4", "text", "text", "text"]
            )
        )
        _insert(
            conn,
            "INSERT INTO m_artist (our_id, mbid, image_source, name) VALUES (?, ?, ?, ?)",
            artists,
        )
        _insert(
            conn,
            "INSERT OR IGNORE INTO m_artist_alias (our_id, alias) VALUES (?, ?)",
            _aliases(_copy_rows(pg, "pg_artist_aliases", ["int4", "text"])),
        )
        return _insert(
            conn,
            "INSERT INTO m_listen (our_track, listened_at, client) VALUES (?, ?, ?)",
            _copy_rows(pg, "pg_listens", ["int4", "int8", "text"]),
        )
