-- koito_import 0002: what a cached resolution depends on, so the database can invalidate it.
-- artist_ids: every artist of the resolution, in order (artist_id stays the first of them).
--   A merge or delete of a *featured* artist must drop the row too, not only of the first.
-- mbids: every MBID in the row's key. A key whose MBID matched nothing resolved by names;
--   once some entity gains that MBID, the same key resolves through it instead
--   (docs/koito-reference.md §2.4–§2.8).
--   NULL when the key has no MBIDs (the common case), and then not indexed.
ALTER TABLE koito_import.track_lookup
    ADD COLUMN artist_ids integer[] NOT NULL DEFAULT '{}',
    ADD COLUMN mbids uuid[];
UPDATE koito_import.track_lookup SET artist_ids = ARRAY[artist_id] WHERE artist_ids = '{}';
CREATE INDEX track_lookup_artist_ids_idx ON koito_import.track_lookup USING gin (artist_ids);
CREATE INDEX track_lookup_mbids_idx ON koito_import.track_lookup USING gin (mbids)
    WHERE mbids IS NOT NULL;

-- The track's foreign key stays; the artist's and the release's go, with the artist_id index
-- that served only its foreign key. 0003's triggers delete those rows instead (a deleted
-- artist through artist_ids, which also covers featured artists; a deleted release by
-- album_id), once per statement rather than with a row-level check for every cached key, which
-- was two thirds of the time of writing 15,000 lookup rows.
ALTER TABLE koito_import.track_lookup
    DROP CONSTRAINT track_lookup_artist_id_fkey,
    DROP CONSTRAINT track_lookup_album_id_fkey;
DROP INDEX koito_import.track_lookup_artist_id_idx;
