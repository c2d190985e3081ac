-- Releases of one page of listens with their aliases (ordered as in tracks.sql).
SELECT r.id, r.musicbrainz_id::text, coalesce(r.image_source, ''), r.various_artists,
       a.aliases, a.sources, a.primaries
FROM releases r
LEFT JOIN LATERAL (
    SELECT array_agg(ra.alias ORDER BY ra.is_primary DESC, ra.source = 'Canonical' DESC, ra.alias),
           array_agg(ra.source ORDER BY ra.is_primary DESC, ra.source = 'Canonical' DESC, ra.alias),
           array_agg(ra.is_primary ORDER BY ra.is_primary DESC, ra.source = 'Canonical' DESC, ra.alias)
    FROM release_aliases ra
    WHERE ra.release_id = r.id
) a(aliases, sources, primaries) ON true
WHERE r.id = ANY(%(ids)s::int[])
