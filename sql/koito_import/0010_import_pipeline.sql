-- koito_import 0010: the import pipeline's own tables (owned by koito_assets/defs/imports).

-- The import ledger: one row per export file (= Dagster partition). The sensor and the CLI read
-- it to know what is done; every stage writes its counts and timings here.
CREATE TABLE koito_import.import_files (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    file_key text NOT NULL UNIQUE,          -- the partition key: the file's name
    path text NOT NULL,                     -- where it was read from last
    size_bytes bigint,
    mtime_ns bigint,
    sha256 text,
    format text,
    status text NOT NULL DEFAULT 'registered'
        CHECK (status IN ('registered', 'staged', 'keyed', 'resolved', 'loaded', 'complete', 'failed')),
    records integer,
    accepted integer,
    skipped jsonb,                          -- reason -> count
    unique_keys integer,
    cache_hits integer,
    artists_created integer,
    albums_created integer,
    tracks_created integer,
    listens_inserted integer,
    duplicates integer,
    error text,
    stage_seconds jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz
);

-- Staging (this table and file_keys) is UNLOGGED: it lives only while a file is imported and is
-- rebuilt by raw_scrobbles, so writing it to the WAL would buy nothing. A server crash empties
-- it; the next run of the file starts from raw_scrobbles again.
-- Accepted records of a file, slim: one row per record. The full record is kept only for the
-- first occurrence of each lookup key (payload), which is all resolution needs.
CREATE UNLOGGED TABLE koito_import.staged_scrobbles (
    file_id integer NOT NULL REFERENCES koito_import.import_files(id) ON DELETE CASCADE,
    seq integer NOT NULL,                   -- order in the file
    lookup_key text NOT NULL,
    listened_at bigint NOT NULL,            -- unix seconds (cheaper to COPY than a timestamp)
    client text,
    duration_s integer NOT NULL DEFAULT 0,
    payload jsonb                           -- the normalised record, first occurrence of a key only
    -- no index: every query reads one whole file's rows, and an index costs a third of the COPY
);

-- Records that were read but not accepted, with where and why.
CREATE TABLE koito_import.skipped_records (
    file_id integer NOT NULL REFERENCES koito_import.import_files(id) ON DELETE CASCADE,
    position text NOT NULL,
    reason text NOT NULL,
    detail text NOT NULL DEFAULT ''
);
CREATE INDEX skipped_records_file_idx ON koito_import.skipped_records (file_id);

-- The distinct lookup keys of a file with their first record (the pre-deduplication step).
CREATE UNLOGGED TABLE koito_import.file_keys (
    file_id integer NOT NULL REFERENCES koito_import.import_files(id) ON DELETE CASCADE,
    lookup_key text NOT NULL,
    first_seq integer NOT NULL,
    payload jsonb NOT NULL,
    cache_hit boolean NOT NULL,
    PRIMARY KEY (file_id, lookup_key)
);
