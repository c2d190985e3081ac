-- merge-into-sqlite, before commit: what Koito's UI relies on, for everything this merge created
-- (ids above the ones the database had) and every track it gave listens. One row per broken
-- rule with how many break it; no row, no problem.
SELECT rule, broken FROM (
    SELECT 'artists without exactly one primary alias' AS rule, count(*) AS broken
    FROM main.artists a
    WHERE a.id > :artists_before
      AND (SELECT count(*) FROM main.artist_aliases p
           WHERE p.artist_id = a.id AND p.is_primary = 1) <> 1
    UNION ALL
    SELECT 'releases without exactly one primary alias', count(*)
    FROM main.releases r
    WHERE r.id > :releases_before
      AND (SELECT count(*) FROM main.release_aliases p
           WHERE p.release_id = r.id AND p.is_primary = 1) <> 1
    UNION ALL
    SELECT 'tracks without exactly one primary alias', count(*)
    FROM main.tracks t
    WHERE t.id > :tracks_before
      AND (SELECT count(*) FROM main.track_aliases p
           WHERE p.track_id = t.id AND p.is_primary = 1) <> 1
    UNION ALL
    SELECT 'releases without an artist', count(*)
    FROM main.releases r
    WHERE r.id > :releases_before
      AND NOT EXISTS (SELECT 1 FROM main.artist_releases ar WHERE ar.release_id = r.id)
    UNION ALL
    SELECT 'tracks without an artist', count(*)
    FROM main.tracks t
    WHERE t.id > :tracks_before
      AND NOT EXISTS (SELECT 1 FROM main.artist_tracks at WHERE at.track_id = t.id)
    UNION ALL
    SELECT 'merged listens pointing at a track without a primary alias', count(*)
    FROM (SELECT DISTINCT sqlite_id FROM m_track WHERE skip IS NULL) m
    WHERE NOT EXISTS (
        SELECT 1 FROM main.track_aliases p WHERE p.track_id = m.sqlite_id AND p.is_primary = 1
    )
)
WHERE broken > 0;
