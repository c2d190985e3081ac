-- Tracks of one page of listens with their credited artists (credits.sql's order). The second
-- ANY lets the planner probe export_credits by index instead of hashing all of it per page.
SELECT t.id, t.musicbrainz_id::text, t.duration, t.release_id, coalesce(c.artist_ids, '{}')
FROM tracks t
LEFT JOIN export_credits c ON c.track_id = t.id AND c.track_id = ANY(%(ids)s::int[])
WHERE t.id = ANY(%(ids)s::int[])
