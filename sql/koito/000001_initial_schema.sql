-- Koito v0.1.x, goose version 1: the initial schema, written from docs/koito-reference.md §1.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

CREATE TYPE role AS ENUM ('admin', 'user');

CREATE FUNCTION delete_orphan_releases() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM artist_releases WHERE release_id = OLD.release_id) THEN
        DELETE FROM releases WHERE id = OLD.release_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TABLE artists (
    id integer GENERATED ALWAYS AS IDENTITY,
    musicbrainz_id uuid UNIQUE,
    image uuid,
    image_source text,
    PRIMARY KEY (id)
);

CREATE TABLE artist_aliases (
    artist_id integer NOT NULL REFERENCES artists(id) ON DELETE CASCADE,
    alias text NOT NULL,
    source text NOT NULL,
    is_primary boolean NOT NULL,
    PRIMARY KEY (artist_id, alias)
);

CREATE TABLE releases (
    id integer GENERATED ALWAYS AS IDENTITY,
    musicbrainz_id uuid UNIQUE,
    image uuid,
    various_artists boolean NOT NULL DEFAULT false,
    image_source text,
    PRIMARY KEY (id)
);

CREATE TABLE artist_releases (
    artist_id integer NOT NULL REFERENCES artists(id) ON DELETE CASCADE,
    release_id integer NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    PRIMARY KEY (artist_id, release_id)
);

CREATE TABLE tracks (
    id integer GENERATED ALWAYS AS IDENTITY,
    musicbrainz_id uuid UNIQUE,
    duration integer NOT NULL DEFAULT 0,
    release_id integer NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT track_release_id_fkey FOREIGN KEY (release_id) REFERENCES releases(id) ON DELETE CASCADE
);

CREATE TABLE artist_tracks (
    artist_id integer NOT NULL REFERENCES artists(id) ON DELETE CASCADE,
    track_id integer NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    PRIMARY KEY (artist_id, track_id)
);

CREATE TABLE users (
    id integer GENERATED ALWAYS AS IDENTITY,
    username text NOT NULL UNIQUE,
    role role NOT NULL DEFAULT 'user',
    password bytea NOT NULL,
    PRIMARY KEY (id)
);

CREATE TABLE api_keys (
    id integer GENERATED ALWAYS AS IDENTITY,
    key text NOT NULL UNIQUE,
    user_id integer NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at timestamp NOT NULL DEFAULT now(),
    label text NOT NULL,
    PRIMARY KEY (id)
);

CREATE TABLE release_aliases (
    release_id integer NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    alias text NOT NULL,
    source text NOT NULL,
    is_primary boolean NOT NULL,
    PRIMARY KEY (release_id, alias)
);

CREATE TABLE sessions (
    id uuid NOT NULL,
    user_id integer NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at timestamp NOT NULL DEFAULT now(),
    expires_at timestamp NOT NULL,
    persistent boolean NOT NULL DEFAULT false,
    PRIMARY KEY (id)
);

CREATE TABLE track_aliases (
    track_id integer NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    alias text NOT NULL,
    is_primary boolean NOT NULL,
    source text NOT NULL,
    PRIMARY KEY (track_id, alias)
);

CREATE TABLE listens (
    track_id integer NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    listened_at timestamptz NOT NULL,
    client text,
    user_id integer NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (track_id, listened_at)
);

CREATE VIEW artists_with_name AS
    SELECT a.id, a.musicbrainz_id, a.image, a.image_source, aa.alias AS name
    FROM artists a
    JOIN artist_aliases aa ON aa.artist_id = a.id
    WHERE aa.is_primary = true;

CREATE VIEW releases_with_title AS
    SELECT r.id, r.musicbrainz_id, r.image, r.various_artists, r.image_source, ra.alias AS title
    FROM releases r
    JOIN release_aliases ra ON ra.release_id = r.id
    WHERE ra.is_primary = true;

CREATE VIEW tracks_with_title AS
    SELECT t.id, t.musicbrainz_id, t.duration, t.release_id, ta.alias AS title
    FROM tracks t
    JOIN track_aliases ta ON ta.track_id = t.id
    WHERE ta.is_primary = true;

CREATE INDEX idx_artist_aliases_alias_trgm ON artist_aliases USING gin (alias gin_trgm_ops);
CREATE INDEX idx_release_aliases_alias_trgm ON release_aliases USING gin (alias gin_trgm_ops);
CREATE INDEX idx_track_aliases_alias_trgm ON track_aliases USING gin (alias gin_trgm_ops);
CREATE INDEX idx_artist_aliases_artist_id ON artist_aliases (artist_id);
CREATE INDEX idx_artist_releases ON artist_releases (artist_id, release_id);
CREATE INDEX idx_tracks_release_id ON tracks (release_id);
CREATE INDEX listens_listened_at_idx ON listens (listened_at);
CREATE INDEX listens_track_id_listened_at_idx ON listens (track_id, listened_at);
CREATE INDEX release_aliases_release_id_idx ON release_aliases (release_id) WHERE is_primary = true;
CREATE INDEX track_aliases_track_id_idx ON track_aliases (track_id) WHERE is_primary = true;

CREATE TRIGGER trg_delete_orphan_releases
    AFTER DELETE ON artist_releases
    FOR EACH ROW EXECUTE FUNCTION delete_orphan_releases();
