-- The aliases of one page's tracks, grouped by track: primary first, then Canonical ones, then
-- by text, the order in which the export picks the one primary alias it writes.
SELECT track_id, alias, source, is_primary
FROM track_aliases
WHERE track_id = ANY(%(ids)s::int[])
ORDER BY track_id, is_primary DESC, source = 'Canonical' DESC, alias
