-- The aliases of one page's artists, grouped by artist: primary first, then Canonical ones, then
-- by text, the order in which the export picks the one primary alias it writes.
SELECT artist_id, alias, source, is_primary
FROM artist_aliases
WHERE artist_id = ANY(%(ids)s::int[])
ORDER BY artist_id, is_primary DESC, source = 'Canonical' DESC, alias
