-- credits.sql for a Koito database without our lookup cache: primary artist first, then by id.
CREATE TEMPORARY TABLE export_credits ON COMMIT DROP AS
SELECT track_id, array_agg(artist_id ORDER BY is_primary DESC, artist_id) AS artist_ids
FROM artist_tracks
GROUP BY track_id
