-- koito_import 0070: which listens each import file added, kept after the file is complete.
-- Staging rows are deleted when a file completes, and the ledger keeps only counts, so without
-- this a file's listens could only be told apart by time. `koito-import export --file` and the
-- koito_export asset read it.
--
-- One row per listen insert of a file (normally one per import, more if a load was retried or
-- the file imported again): the (track, second) pairs that insert added, as two parallel
-- arrays. Arrays rather than a row per listen: a million-listen file costs one compressed row,
-- written by the same statement as its listens, instead of a million rows and an index on the
-- load's hot path. No foreign key to listens (Koito's table gains nothing from us): a listen
-- deleted since simply drops out when the pairs are joined back to listens.
CREATE TABLE koito_import.file_listens (
    file_id integer NOT NULL REFERENCES koito_import.import_files(id) ON DELETE CASCADE,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    track_ids integer[] NOT NULL,
    listened_at timestamptz[] NOT NULL,
    CHECK (cardinality(track_ids) = cardinality(listened_at))
);
CREATE INDEX file_listens_file_idx ON koito_import.file_listens (file_id);
