-- koito_import 0080: what a file's listening report shows (owned by koito_assets/defs/reports).
-- Recorded when the file's load finishes, from its staging rows, which are dropped right after:
-- a few hundred bytes per file instead of keeping a row per listen.
CREATE TABLE koito_import.file_reports (
    file_id integer PRIMARY KEY REFERENCES koito_import.import_files(id) ON DELETE CASCADE,
    listens integer NOT NULL,               -- the file's accepted records (its listens)
    plays integer NOT NULL,                 -- distinct (track, second) among them: Koito's rule
    already_present integer NOT NULL,       -- plays that were in the database before this load
    first_listened_at timestamptz,
    last_listened_at timestamptz,
    months jsonb NOT NULL,                  -- [["YYYY-MM", listens], ...] in UTC, months with listens
    top_tracks jsonb NOT NULL,              -- [[track_id, listens], ...], most listened first
    top_artists jsonb NOT NULL,             -- [[artist_id, listens], ...], every credited artist
    recorded_at timestamptz NOT NULL DEFAULT now()
);
