-- Koito's SQLite schema, goose version 1 (db/migrations_sqlite/001_initial_schema.sql), written
-- from the facts of that schema, not copied. Matches Koito at commit f7dc41c (2026-05-21).
-- Differences from Koito's PostgreSQL schema that matter to a merge: ids are rowids (a new row
-- takes max(id) + 1), UUIDs are TEXT, booleans INTEGER 0/1, times INTEGER unix seconds, and a
-- listen's client is '' instead of NULL.

CREATE TABLE artists (
    id INTEGER PRIMARY KEY,
    musicbrainz_id TEXT UNIQUE,
    image TEXT,
    image_source TEXT
);

CREATE TABLE artist_aliases (
    artist_id INTEGER NOT NULL REFERENCES artists(id) ON DELETE CASCADE,
    alias TEXT NOT NULL,
    source TEXT NOT NULL,
    is_primary INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (artist_id, alias)
);

-- Before 002 the flag sits between image and image_source, as on PostgreSQL.
CREATE TABLE releases (
    id INTEGER PRIMARY KEY,
    musicbrainz_id TEXT UNIQUE,
    image TEXT,
    various_artists INTEGER NOT NULL DEFAULT 0,
    image_source TEXT
);

CREATE TABLE artist_releases (
    artist_id INTEGER NOT NULL REFERENCES artists(id) ON DELETE CASCADE,
    release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    is_primary INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (artist_id, release_id)
);

CREATE TABLE release_aliases (
    release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    alias TEXT NOT NULL,
    source TEXT NOT NULL,
    is_primary INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (release_id, alias)
);

CREATE TABLE tracks (
    id INTEGER PRIMARY KEY,
    musicbrainz_id TEXT UNIQUE,
    release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    duration INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE artist_tracks (
    artist_id INTEGER NOT NULL REFERENCES artists(id) ON DELETE CASCADE,
    track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    is_primary INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (artist_id, track_id)
);

CREATE TABLE track_aliases (
    track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    alias TEXT NOT NULL,
    source TEXT NOT NULL,
    is_primary INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (track_id, alias)
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user')),
    password BLOB NOT NULL
);

CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    label TEXT NOT NULL DEFAULT ''
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    persistent INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE listens (
    track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    listened_at INTEGER NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (track_id, listened_at)
);

-- An entity's name is its primary alias; without one it is invisible through these views.
CREATE VIEW artists_with_name AS
    SELECT a.id, a.musicbrainz_id, a.image, a.image_source, aa.alias AS name
    FROM artists a JOIN artist_aliases aa ON aa.artist_id = a.id AND aa.is_primary = 1;

CREATE VIEW releases_with_title AS
    SELECT r.id, r.musicbrainz_id, r.image, r.various_artists, r.image_source, ra.alias AS title
    FROM releases r JOIN release_aliases ra ON ra.release_id = r.id AND ra.is_primary = 1;

CREATE VIEW tracks_with_title AS
    SELECT t.id, t.musicbrainz_id, t.release_id, t.duration, ta.alias AS title
    FROM tracks t JOIN track_aliases ta ON ta.track_id = t.id AND ta.is_primary = 1;

-- A release left without any artist link goes with it.
CREATE TRIGGER trg_delete_orphan_releases
AFTER DELETE ON artist_releases
FOR EACH ROW
WHEN NOT EXISTS (SELECT 1 FROM artist_releases WHERE release_id = OLD.release_id)
BEGIN
    DELETE FROM releases WHERE id = OLD.release_id;
END;

CREATE INDEX idx_listens_listened_at ON listens (listened_at);
CREATE INDEX idx_listens_track_id ON listens (track_id);
CREATE INDEX idx_listens_track_listened ON listens (track_id, listened_at);
CREATE INDEX idx_listens_user_id ON listens (user_id);
CREATE INDEX idx_artist_tracks_track_id ON artist_tracks (track_id);
CREATE INDEX idx_artist_tracks_artist_id ON artist_tracks (artist_id);
CREATE INDEX idx_artist_releases_release_id ON artist_releases (release_id);
CREATE INDEX idx_tracks_release_id ON tracks (release_id);
CREATE INDEX idx_artist_aliases_artist_id ON artist_aliases (artist_id);
CREATE INDEX idx_artist_aliases_alias ON artist_aliases (alias);
CREATE INDEX idx_release_aliases_alias ON release_aliases (alias);
CREATE INDEX idx_track_aliases_alias ON track_aliases (alias);
CREATE INDEX idx_sessions_expires_at ON sessions (expires_at);
