-- Each track's artists in credit order, once per export: the primary artist first, then the
-- order in which the scrobble that first resolved the track listed them (our lookup cache keeps
-- that list), then artist id (creation order) for tracks we did not resolve. Koito has no index
-- on artist_tracks that starts with track_id, so one pass here beats a scan per page.
CREATE TEMPORARY TABLE export_credits ON COMMIT DROP AS
WITH credit_order AS (
    SELECT DISTINCT ON (track_id) track_id, artist_ids
    FROM koito_import.track_lookup
    ORDER BY track_id, created_at
)
SELECT at.track_id,
       array_agg(at.artist_id ORDER BY at.is_primary DESC,
                 array_position(co.artist_ids, at.artist_id) NULLS LAST, at.artist_id) AS artist_ids
FROM artist_tracks at
LEFT JOIN credit_order co ON co.track_id = at.track_id
GROUP BY at.track_id
