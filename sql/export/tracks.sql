-- Tracks of one page of listens with their credited artists and aliases. Aliases come primary
-- first, then Canonical ones, then by text: the order the export picks a primary alias in.
SELECT t.id, t.musicbrainz_id::text, t.duration, t.release_id, coalesce(c.artist_ids, '{}'),
       a.aliases, a.sources, a.primaries
FROM tracks t
LEFT JOIN export_credits c ON c.track_id = t.id
LEFT JOIN LATERAL (
    SELECT array_agg(ta.alias ORDER BY ta.is_primary DESC, ta.source = 'Canonical' DESC, ta.alias),
           array_agg(ta.source ORDER BY ta.is_primary DESC, ta.source = 'Canonical' DESC, ta.alias),
           array_agg(ta.is_primary ORDER BY ta.is_primary DESC, ta.source = 'Canonical' DESC, ta.alias)
    FROM track_aliases ta
    WHERE ta.track_id = t.id
) a(aliases, sources, primaries) ON true
WHERE t.id = ANY(%(ids)s::int[])
