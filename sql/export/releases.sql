-- Releases of one page of listens.
SELECT r.id, r.musicbrainz_id::text, coalesce(r.image_source, ''), r.various_artists
FROM releases r
WHERE r.id = ANY(%(ids)s::int[])
