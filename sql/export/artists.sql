-- Artists of one page of listens.
SELECT a.id, a.musicbrainz_id::text, coalesce(a.image_source, '')
FROM artists a
WHERE a.id = ANY(%(ids)s::int[])
