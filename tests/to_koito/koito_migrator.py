"""What Koito's one-shot migrator makes of one of our databases: the same rows in its SQLite file.

Koito >= 0.3 started with KOITO_DATABASE_URL copies every table of a v0.1.x PostgreSQL database
into its fresh SQLite database, ids kept: UUIDs as text, booleans as 0/1, times as unix seconds,
a NULL client as ''. This does the same for the tables a merge reads, so a test can merge into
the database Koito would have made from ours.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg

from tests.to_koito.koito_sqlite import create_koito_db

_COPIES = (
    ("users", "SELECT id, username, role::text, password FROM users", 4),
    ("artists", "SELECT id, musicbrainz_id::text, image::text, image_source FROM artists", 4),
    ("artist_aliases", "SELECT artist_id, alias, source, is_primary::int FROM artist_aliases", 4),
    (
        "releases",
        "SELECT id, musicbrainz_id::text, image::text, image_source, various_artists::int "
        "FROM releases",
        5,
    ),
    (
        "release_aliases",
        "SELECT release_id, alias, source, is_primary::int FROM release_aliases",
        4,
    ),
    (
        "artist_releases",
        "SELECT artist_id, release_id, is_primary::int FROM artist_releases",
        3,
    ),
    ("tracks", "SELECT id, musicbrainz_id::text, release_id, duration FROM tracks", 4),
    ("track_aliases", "SELECT track_id, alias, source, is_primary::int FROM track_aliases", 4),
    ("artist_tracks", "SELECT artist_id, track_id, is_primary::int FROM artist_tracks", 3),
    (
        "listens",
        "SELECT track_id, floor(extract(epoch FROM listened_at))::bigint, user_id, "
        "coalesce(client, '') FROM listens",
        4,
    ),
)

_COLUMNS = {
    "users": "id, username, role, password",
    "artists": "id, musicbrainz_id, image, image_source",
    "artist_aliases": "artist_id, alias, source, is_primary",
    "releases": "id, musicbrainz_id, image, image_source, various_artists",
    "release_aliases": "release_id, alias, source, is_primary",
    "artist_releases": "artist_id, release_id, is_primary",
    "tracks": "id, musicbrainz_id, release_id, duration",
    "track_aliases": "track_id, alias, source, is_primary",
    "artist_tracks": "artist_id, track_id, is_primary",
    "listens": "track_id, listened_at, user_id, client",
}


def migrate_to_sqlite(url: str, path: Path) -> Path:
    """A Koito SQLite file at ``path`` with our database's rows, as Koito's migrator copies them."""
    create_koito_db(path, admin=False)
    target = sqlite3.connect(path, isolation_level=None)
    try:
        target.execute("BEGIN")
        with psycopg.connect(url) as conn:
            for table, query, width in _COPIES:
                marks = ", ".join("?" * width)
                rows = [tuple(row) for row in conn.execute(query).fetchall()]
                target.executemany(
                    f"INSERT INTO {table} ({_COLUMNS[table]}) VALUES ({marks})", rows
                )
        target.execute("COMMIT")
    finally:
        target.close()
    return path
