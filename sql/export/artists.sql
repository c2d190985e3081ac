-- Artists of one page of listens with their aliases (ordered as in tracks.sql).
SELECT ar.id, ar.musicbrainz_id::text, coalesce(ar.image_source, ''),
       a.aliases, a.sources, a.primaries
FROM artists ar
LEFT JOIN LATERAL (
    SELECT array_agg(aa.alias ORDER BY aa.is_primary DESC, aa.source = 'Canonical' DESC, aa.alias),
           array_agg(aa.source ORDER BY aa.is_primary DESC, aa.source = 'Canonical' DESC, aa.alias),
           array_agg(aa.is_primary ORDER BY aa.is_primary DESC, aa.source = 'Canonical' DESC, aa.alias)
    FROM artist_aliases aa
    WHERE aa.artist_id = ar.id
) a(aliases, sources, primaries) ON true
WHERE ar.id = ANY(%(ids)s::int[])
