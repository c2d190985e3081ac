-- merge-into-sqlite, on our database: the merged tracks' artists in the order our Koito export
-- lists them (sql/export/credits.sql): the primary artist first, then the order in which the
-- scrobble that first resolved the track listed them (the lookup cache keeps that list), then
-- artist id.
WITH credit_order AS (
    SELECT DISTINCT ON (tl.track_id) tl.track_id, tl.artist_ids
    FROM koito_import.track_lookup tl JOIN merge_tracks m ON m.track_id = tl.track_id
    ORDER BY tl.track_id, tl.created_at
)
SELECT at.track_id, at.artist_id,
       (row_number() OVER (
           PARTITION BY at.track_id
           ORDER BY at.is_primary DESC,
                    array_position(co.artist_ids, at.artist_id) NULLS LAST,
                    at.artist_id
       ) - 1)::integer
FROM artist_tracks at
JOIN merge_tracks m ON m.track_id = at.track_id
LEFT JOIN credit_order co ON co.track_id = at.track_id
