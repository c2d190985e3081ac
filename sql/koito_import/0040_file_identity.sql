-- koito_import 0040: a file's identity is its content, not its name.
--
-- Two Spotify downloads both hold Streaming_History_Audio_2023_0.json: two files, two imports.
-- One content reached by two paths (or dropped twice) is one file: one ledger row, found by its
-- SHA-256. file_key stays the partition key Dagster shows: the file's name, or the name with a
-- short content hash when another content took that name first. name is the file's own name.
ALTER TABLE koito_import.import_files ADD COLUMN name text;
UPDATE koito_import.import_files SET name = file_key WHERE name IS NULL;
ALTER TABLE koito_import.import_files ALTER COLUMN name SET NOT NULL;

-- Rows written before this migration may share a content (one file imported under two names):
-- the newest keeps the hash, the older ones forget it (their counts and history stay).
UPDATE koito_import.import_files AS older
SET sha256 = NULL
WHERE sha256 IS NOT NULL
  AND EXISTS (
      SELECT 1 FROM koito_import.import_files AS newer
      WHERE newer.sha256 = older.sha256 AND newer.id > older.id
  );
CREATE UNIQUE INDEX import_files_sha256_key ON koito_import.import_files (sha256);

-- The sensor asks which files of the import folder the ledger has seen, by path.
-- A hash index: a path may be longer than a btree row can hold (PATH_MAX is 4,096 bytes).
CREATE INDEX import_files_path_idx ON koito_import.import_files USING hash (path);
