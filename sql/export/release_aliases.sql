-- The aliases of one page's releases, grouped by release: primary first, then Canonical ones, then
-- by text, the order in which the export picks the one primary alias it writes.
SELECT release_id, alias, source, is_primary
FROM release_aliases
WHERE release_id = ANY(%(ids)s::int[])
ORDER BY release_id, is_primary DESC, source = 'Canonical' DESC, alias
