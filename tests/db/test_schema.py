"""The schema we create is Koito v0.1.x's, column by column, as information_schema sees it.

Koito's schema: docs/koito-reference.md §1.
"""

from __future__ import annotations

import psycopg
import pytest

# (table, column) -> (data_type, nullable, default-substring or None)
EXPECTED_COLUMNS: dict[tuple[str, str], tuple[str, bool, str | None]] = {
    ("artists", "id"): ("integer", False, None),
    ("artists", "musicbrainz_id"): ("uuid", True, None),
    ("artists", "image"): ("uuid", True, None),
    ("artists", "image_source"): ("text", True, None),
    ("artist_aliases", "artist_id"): ("integer", False, None),
    ("artist_aliases", "alias"): ("text", False, None),
    ("artist_aliases", "source"): ("text", False, None),
    ("artist_aliases", "is_primary"): ("boolean", False, None),
    ("releases", "id"): ("integer", False, None),
    ("releases", "musicbrainz_id"): ("uuid", True, None),
    ("releases", "image"): ("uuid", True, None),
    ("releases", "various_artists"): ("boolean", False, "false"),
    ("releases", "image_source"): ("text", True, None),
    ("release_aliases", "release_id"): ("integer", False, None),
    ("release_aliases", "alias"): ("text", False, None),
    ("release_aliases", "source"): ("text", False, None),
    ("release_aliases", "is_primary"): ("boolean", False, None),
    ("artist_releases", "artist_id"): ("integer", False, None),
    ("artist_releases", "release_id"): ("integer", False, None),
    ("artist_releases", "is_primary"): ("boolean", False, "false"),
    ("tracks", "id"): ("integer", False, None),
    ("tracks", "musicbrainz_id"): ("uuid", True, None),
    ("tracks", "duration"): ("integer", False, "0"),
    ("tracks", "release_id"): ("integer", False, None),
    ("track_aliases", "track_id"): ("integer", False, None),
    ("track_aliases", "alias"): ("text", False, None),
    ("track_aliases", "is_primary"): ("boolean", False, None),
    ("track_aliases", "source"): ("text", False, None),
    ("artist_tracks", "artist_id"): ("integer", False, None),
    ("artist_tracks", "track_id"): ("integer", False, None),
    ("artist_tracks", "is_primary"): ("boolean", False, "false"),
    ("listens", "track_id"): ("integer", False, None),
    ("listens", "listened_at"): ("timestamp with time zone", False, None),
    ("listens", "client"): ("text", True, None),
    ("listens", "user_id"): ("integer", False, None),
    ("users", "id"): ("integer", False, None),
    ("users", "username"): ("text", False, None),
    ("users", "role"): ("USER-DEFINED", False, "'user'::role"),
    ("users", "password"): ("bytea", False, None),
    ("api_keys", "id"): ("integer", False, None),
    ("api_keys", "key"): ("text", False, None),
    ("api_keys", "user_id"): ("integer", False, None),
    ("api_keys", "created_at"): ("timestamp without time zone", False, "now()"),
    ("api_keys", "label"): ("text", False, None),
    ("sessions", "id"): ("uuid", False, None),
    ("sessions", "user_id"): ("integer", False, None),
    ("sessions", "created_at"): ("timestamp without time zone", False, "now()"),
    ("sessions", "expires_at"): ("timestamp without time zone", False, None),
    ("sessions", "persistent"): ("boolean", False, "false"),
}

IDENTITY_TABLES = {"artists", "releases", "tracks", "users", "api_keys"}

PRIMARY_KEYS = {
    "artists": ["id"],
    "artist_aliases": ["artist_id", "alias"],
    "releases": ["id"],
    "release_aliases": ["release_id", "alias"],
    "artist_releases": ["artist_id", "release_id"],
    "tracks": ["id"],
    "track_aliases": ["track_id", "alias"],
    "artist_tracks": ["artist_id", "track_id"],
    "listens": ["track_id", "listened_at"],
    "users": ["id"],
    "api_keys": ["id"],
    "sessions": ["id"],
}

UNIQUE = {
    ("artists", "musicbrainz_id"),
    ("releases", "musicbrainz_id"),
    ("tracks", "musicbrainz_id"),
    ("users", "username"),
    ("api_keys", "key"),
}

# (table, column) -> (referenced table, delete rule)
FOREIGN_KEYS = {
    ("artist_aliases", "artist_id"): ("artists", "CASCADE"),
    ("release_aliases", "release_id"): ("releases", "CASCADE"),
    ("artist_releases", "artist_id"): ("artists", "CASCADE"),
    ("artist_releases", "release_id"): ("releases", "CASCADE"),
    ("tracks", "release_id"): ("releases", "CASCADE"),
    ("track_aliases", "track_id"): ("tracks", "CASCADE"),
    ("artist_tracks", "artist_id"): ("artists", "CASCADE"),
    ("artist_tracks", "track_id"): ("tracks", "CASCADE"),
    ("listens", "track_id"): ("tracks", "CASCADE"),
    ("listens", "user_id"): ("users", "CASCADE"),
    ("api_keys", "user_id"): ("users", "CASCADE"),
    ("sessions", "user_id"): ("users", "CASCADE"),
}

VIEWS = {
    "artists_with_name": {"id", "musicbrainz_id", "image", "image_source", "name"},
    "releases_with_title": {
        "id",
        "musicbrainz_id",
        "image",
        "various_artists",
        "image_source",
        "title",
    },
    "tracks_with_title": {"id", "musicbrainz_id", "duration", "release_id", "title"},
}


def test_every_koito_column_has_koitos_type_nullability_and_default(conn: psycopg.Connection):
    rows = conn.execute(
        "SELECT table_name, column_name, data_type, is_nullable = 'YES', column_default, "
        "is_identity = 'YES', identity_generation "
        "FROM information_schema.columns WHERE table_schema = 'public' "
        "AND table_name = ANY(%s)",
        (sorted({t for t, _ in EXPECTED_COLUMNS}),),
    ).fetchall()
    actual = {(r[0], r[1]): r[2:] for r in rows}
    assert set(actual) == set(EXPECTED_COLUMNS)
    for key, (data_type, nullable, default) in EXPECTED_COLUMNS.items():
        got_type, got_nullable, got_default, is_identity, generation = actual[key]
        assert (got_type, got_nullable) == (data_type, nullable), key
        if default is None:
            assert got_default is None, key
        else:
            assert got_default is not None and default in got_default, key
        table, column = key
        expect_identity = column == "id" and table in IDENTITY_TABLES
        assert is_identity == expect_identity, key
        if expect_identity:
            assert generation == "ALWAYS", key


def test_primary_unique_and_foreign_keys_match_koito(conn: psycopg.Connection):
    pk_rows = conn.execute(
        "SELECT tc.table_name, array_agg(kcu.column_name::text ORDER BY kcu.ordinal_position) "
        "FROM information_schema.table_constraints tc "
        "JOIN information_schema.key_column_usage kcu USING (constraint_schema, constraint_name) "
        "WHERE tc.table_schema = 'public' AND tc.constraint_type = 'PRIMARY KEY' "
        "GROUP BY tc.table_name"
    ).fetchall()
    assert {t: cols for t, cols in pk_rows if t != "goose_db_version"} == PRIMARY_KEYS
    assert conn.execute("SELECT 1 FROM pg_constraint WHERE conname = 'listens_pkey'").fetchone()

    unique_rows = conn.execute(
        "SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc "
        "JOIN information_schema.key_column_usage kcu USING (constraint_schema, constraint_name) "
        "WHERE tc.table_schema = 'public' AND tc.constraint_type = 'UNIQUE'"
    ).fetchall()
    assert set(unique_rows) == UNIQUE

    fk_rows = conn.execute(
        "SELECT kcu.table_name, kcu.column_name, ccu.table_name, rc.delete_rule "
        "FROM information_schema.referential_constraints rc "
        "JOIN information_schema.key_column_usage kcu "
        "  ON kcu.constraint_schema = rc.constraint_schema "
        "  AND kcu.constraint_name = rc.constraint_name "
        "JOIN information_schema.constraint_column_usage ccu "
        "  ON ccu.constraint_schema = rc.unique_constraint_schema "
        " AND ccu.constraint_name = rc.unique_constraint_name "
        "WHERE kcu.table_schema = 'public'"
    ).fetchall()
    assert {(r[0], r[1]): (r[2], r[3]) for r in fk_rows} == FOREIGN_KEYS
    assert conn.execute(
        "SELECT 1 FROM pg_constraint WHERE conname = 'track_release_id_fkey'"
    ).fetchone()


def test_views_expose_primary_names(conn: psycopg.Connection):
    rows = conn.execute(
        "SELECT table_name, array_agg(column_name::text) FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = ANY(%s) GROUP BY table_name",
        (list(VIEWS),),
    ).fetchall()
    assert {t: set(cols) for t, cols in rows} == VIEWS
    conn.execute("INSERT INTO artists DEFAULT VALUES")
    conn.execute(
        "INSERT INTO artist_aliases VALUES "
        "(1, 'Alias', 'Manual', false), (1, 'Name', 'Canonical', true)"
    )
    assert conn.execute("SELECT id, name FROM artists_with_name").fetchall() == [(1, "Name")]


def test_functions_trigger_and_extension(conn: psycopg.Connection):
    functions = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT routine_name, data_type FROM information_schema.routines "
            "WHERE routine_schema = 'public' AND routine_name = ANY(%s)",
            (["delete_orphan_releases", "get_artists_for_release", "get_artists_for_track"],),
        )
    }
    assert functions == {
        "delete_orphan_releases": "trigger",
        "get_artists_for_release": "jsonb",
        "get_artists_for_track": "jsonb",
    }
    trigger = conn.execute(
        "SELECT event_manipulation, action_timing, action_orientation, event_object_table "
        "FROM information_schema.triggers WHERE trigger_name = 'trg_delete_orphan_releases'"
    ).fetchall()
    assert trigger == [("DELETE", "AFTER", "ROW", "artist_releases")]
    assert conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").fetchone()
    trgm = conn.execute(
        "SELECT count(*) FROM pg_indexes "
        "WHERE schemaname = 'public' AND indexdef LIKE '%gin_trgm_ops%'"
    ).fetchone()[0]
    assert trgm == 3


def test_orphan_release_trigger_and_artist_json(conn: psycopg.Connection):
    conn.execute("INSERT INTO artists DEFAULT VALUES")  # 1
    conn.execute("INSERT INTO artists DEFAULT VALUES")  # 2
    conn.execute(
        "INSERT INTO artist_aliases VALUES "
        "(1, 'Bee', 'Canonical', true), (2, 'Ay', 'Canonical', true)"
    )
    conn.execute("INSERT INTO releases DEFAULT VALUES")
    conn.execute("INSERT INTO artist_releases VALUES (1, 1, true), (2, 1, false)")
    assert conn.execute("SELECT get_artists_for_release(1)").fetchone()[0] == [
        {"id": 1, "name": "Bee"},
        {"id": 2, "name": "Ay"},
    ]
    conn.execute("DELETE FROM artist_releases WHERE artist_id = 1")
    assert conn.execute("SELECT count(*) FROM releases").fetchone()[0] == 1
    conn.execute("DELETE FROM artist_releases WHERE artist_id = 2")
    assert conn.execute("SELECT count(*) FROM releases").fetchone()[0] == 0


def test_goose_rows_say_versions_zero_to_five_applied(conn: psycopg.Connection):
    rows = conn.execute(
        "SELECT version_id, is_applied FROM goose_db_version ORDER BY id"
    ).fetchall()
    assert rows == [(v, True) for v in range(6)]


def test_identity_rejects_explicit_ids_like_koito(conn: psycopg.Connection):
    with pytest.raises(psycopg.errors.GeneratedAlways):
        conn.execute("INSERT INTO artists (id) VALUES (99)")


def test_default_admin_can_log_in_with_bcrypt(conn: psycopg.Connection):
    import bcrypt

    username, role, password = conn.execute(
        "SELECT username, role::text, password FROM users WHERE id = 1"
    ).fetchone()
    assert (username, role) == ("admin", "admin")
    assert bcrypt.checkpw(b"changeme", bytes(password))
