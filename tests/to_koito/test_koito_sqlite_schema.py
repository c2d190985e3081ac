"""The test fixture is Koito's SQLite schema after its migrations 001–002 (Koito f7dc41c)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.to_koito.koito_sqlite import create_koito_db, schema_objects

TABLES = {
    "artists": ["id", "musicbrainz_id", "image", "image_source"],
    "artist_aliases": ["artist_id", "alias", "source", "is_primary"],
    "releases": ["id", "musicbrainz_id", "image", "image_source", "various_artists"],
    "artist_releases": ["artist_id", "release_id", "is_primary"],
    "release_aliases": ["release_id", "alias", "source", "is_primary"],
    "tracks": ["id", "musicbrainz_id", "release_id", "duration"],
    "artist_tracks": ["artist_id", "track_id", "is_primary"],
    "track_aliases": ["track_id", "alias", "source", "is_primary"],
    "users": ["id", "username", "role", "password"],
    "api_keys": ["id", "key", "user_id", "created_at", "label"],
    "sessions": ["id", "user_id", "created_at", "expires_at", "persistent"],
    "listens": ["track_id", "listened_at", "user_id", "client"],
}

# (table, columns) of every index Koito declares
INDEXES = {
    ("listens", ("listened_at",)),
    ("listens", ("track_id",)),
    ("listens", ("track_id", "listened_at")),
    ("listens", ("user_id",)),
    ("artist_tracks", ("track_id",)),
    ("artist_tracks", ("artist_id",)),
    ("artist_releases", ("release_id",)),
    ("tracks", ("release_id",)),
    ("artist_aliases", ("artist_id",)),
    ("artist_aliases", ("alias",)),
    ("release_aliases", ("alias",)),
    ("track_aliases", ("alias",)),
    ("sessions", ("expires_at",)),
}


def test_tables_columns_views_trigger_and_indexes(tmp_path: Path):
    path = create_koito_db(tmp_path / "koito.db")
    objects = schema_objects(path)
    assert objects["table"] == set(TABLES) | {"goose_db_version"}
    assert objects["view"] == {"artists_with_name", "releases_with_title", "tracks_with_title"}
    assert objects["trigger"] == {"trg_delete_orphan_releases"}
    conn = sqlite3.connect(path)
    try:
        for table, columns in TABLES.items():
            assert [r[1] for r in conn.execute(f"PRAGMA table_info({table})")] == columns, table
        declared = set()
        for name in objects["index"]:
            table = conn.execute(
                "SELECT tbl_name FROM sqlite_master WHERE name = ?", (name,)
            ).fetchone()[0]
            columns = tuple(r[2] for r in conn.execute(f"PRAGMA index_info({name})"))
            declared.add((table, columns))
        assert declared == INDEXES
        # MBIDs are unique on all three entity tables after 002
        for table in ("artists", "releases", "tracks"):
            unique = [
                tuple(r[2] for r in conn.execute(f"PRAGMA index_info({idx[1]})"))
                for idx in conn.execute(f"PRAGMA index_list({table})")
                if idx[2] == 1
            ]
            assert ("musicbrainz_id",) in unique, table
        assert conn.execute("SELECT version_id FROM goose_db_version").fetchall() == [
            (0,),
            (1,),
            (2,),
        ]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        conn.close()


def test_the_trigger_deletes_a_release_left_without_artists(tmp_path: Path):
    conn = sqlite3.connect(create_koito_db(tmp_path / "koito.db"), isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("INSERT INTO artists (id) VALUES (1), (2)")
        conn.execute("INSERT INTO releases (id) VALUES (10)")
        conn.execute("INSERT INTO artist_releases (artist_id, release_id) VALUES (1, 10), (2, 10)")
        conn.execute("DELETE FROM artist_releases WHERE artist_id = 1")
        assert conn.execute("SELECT count(*) FROM releases").fetchone()[0] == 1
        conn.execute("DELETE FROM artist_releases WHERE artist_id = 2")
        assert conn.execute("SELECT count(*) FROM releases").fetchone()[0] == 0
    finally:
        conn.close()
