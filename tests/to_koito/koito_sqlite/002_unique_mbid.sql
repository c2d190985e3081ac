-- Koito's SQLite schema, goose version 2 (db/migrations_sqlite/002_unique_mbid.sql), written
-- from the facts of that migration, not copied. Matches Koito at commit f7dc41c (2026-05-21).
-- It rebuilds artists, releases and tracks so that each declares UNIQUE(musicbrainz_id); on a
-- fresh database the rows and constraints come out as they went in. Releases leave it with the
-- column order id, musicbrainz_id, image, image_source, various_artists. Run with foreign keys
-- off (the rebuild drops tables that others reference), as Koito's migration does. The views and
-- the trigger name the rebuilt tables, so they are dropped first and made again at the end.

DROP VIEW artists_with_name;
DROP VIEW releases_with_title;
DROP VIEW tracks_with_title;
DROP TRIGGER trg_delete_orphan_releases;

CREATE TABLE artists_rebuilt (
    id INTEGER PRIMARY KEY,
    musicbrainz_id TEXT UNIQUE,
    image TEXT,
    image_source TEXT
);
INSERT INTO artists_rebuilt (id, musicbrainz_id, image, image_source)
    SELECT id, musicbrainz_id, image, image_source FROM artists;
DROP TABLE artists;
ALTER TABLE artists_rebuilt RENAME TO artists;

CREATE TABLE releases_rebuilt (
    id INTEGER PRIMARY KEY,
    musicbrainz_id TEXT UNIQUE,
    image TEXT,
    image_source TEXT,
    various_artists INTEGER NOT NULL DEFAULT 0
);
INSERT INTO releases_rebuilt (id, musicbrainz_id, image, image_source, various_artists)
    SELECT id, musicbrainz_id, image, image_source, various_artists FROM releases;
DROP TABLE releases;
ALTER TABLE releases_rebuilt RENAME TO releases;

CREATE TABLE tracks_rebuilt (
    id INTEGER PRIMARY KEY,
    musicbrainz_id TEXT UNIQUE,
    release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    duration INTEGER NOT NULL DEFAULT 0
);
INSERT INTO tracks_rebuilt (id, musicbrainz_id, release_id, duration)
    SELECT id, musicbrainz_id, release_id, duration FROM tracks;
DROP TABLE tracks;
ALTER TABLE tracks_rebuilt RENAME TO tracks;
CREATE INDEX idx_tracks_release_id ON tracks (release_id);

CREATE VIEW artists_with_name AS
    SELECT a.id, a.musicbrainz_id, a.image, a.image_source, aa.alias AS name
    FROM artists a JOIN artist_aliases aa ON aa.artist_id = a.id AND aa.is_primary = 1;

CREATE VIEW releases_with_title AS
    SELECT r.id, r.musicbrainz_id, r.image, r.various_artists, r.image_source, ra.alias AS title
    FROM releases r JOIN release_aliases ra ON ra.release_id = r.id AND ra.is_primary = 1;

CREATE VIEW tracks_with_title AS
    SELECT t.id, t.musicbrainz_id, t.release_id, t.duration, ta.alias AS title
    FROM tracks t JOIN track_aliases ta ON ta.track_id = t.id AND ta.is_primary = 1;

CREATE TRIGGER trg_delete_orphan_releases
AFTER DELETE ON artist_releases
FOR EACH ROW
WHEN NOT EXISTS (SELECT 1 FROM artist_releases WHERE release_id = OLD.release_id)
BEGIN
    DELETE FROM releases WHERE id = OLD.release_id;
END;
