-- merge-into-sqlite, one round for the releases of tracks whose release has no MBID. Koito looks
-- such a release up by primary title and first artist, and a release gains artist links as it
-- goes: on creation (every artist of the creating listen) and with every track created on it
-- (that track's artists). So a later track may find a release through an artist that a track
-- before it brought. This round answers every track from the previous round's links:
--   1. the lowest-id release that existed, titled so, linked to its first artist before the
--      merge or by an earlier track of ours;
--   2. else the first release created in this merge, titled so, linked to that artist by an
--      earlier track;
--   3. else the track creates one.
-- A track's answer depends only on the tracks before it, so the rounds, repeated until nothing
-- changes, end with what Koito's one-listen-at-a-time importer does.

DELETE FROM m_link;

-- Links a track brings: its artists, from its rank on; unless its track was found by MBID
-- (then no track is created on the release, and only a release it created links artists).
INSERT INTO m_link (existing, creator, artist, since)
SELECT t.rel_existing, t.rel_creator, sa.sqlite_artist, min(t.rank)
FROM m_track t JOIN m_track_sa sa ON sa.our_track = t.our_id
WHERE t.skip IS NULL AND (t.mbid_found IS NULL OR t.rel_creator = t.our_id)
GROUP BY t.rel_existing, t.rel_creator, sa.sqlite_artist;

DELETE FROM m_release_step;

INSERT INTO m_release_step (our_id, existing, creator)
SELECT x.our_id, found.existing, CASE WHEN found.existing IS NULL THEN coalesce((
        SELECT l.creator
        FROM m_link l
        JOIN m_track ct ON ct.our_id = l.creator
        JOIN m_release cr ON cr.our_id = ct.our_release
        WHERE l.artist = x.a0 AND l.creator IS NOT NULL AND l.since < x.rank
          AND cr.title = xr.title
        ORDER BY ct.rank LIMIT 1
    ), x.our_id) END
FROM m_track x
JOIN m_release xr ON xr.our_id = x.our_release AND xr.mbid IS NULL
JOIN (
    SELECT t.our_id,
           coalesce(
               t.holder,
               min(coalesce(t.ex_static, d.dynamic), coalesce(d.dynamic, t.ex_static))
           ) AS existing
    FROM m_track t
    JOIN m_release tr ON tr.our_id = t.our_release AND tr.mbid IS NULL
    LEFT JOIN (
        SELECT t2.our_id, min(l.existing) AS dynamic
        FROM m_track t2
        JOIN m_release r2 ON r2.our_id = t2.our_release AND r2.mbid IS NULL
        JOIN m_link l ON l.artist = t2.a0 AND l.existing IS NOT NULL AND l.since < t2.rank
        WHERE t2.skip IS NULL
          AND EXISTS (
              SELECT 1 FROM main.release_aliases ra
              WHERE ra.release_id = l.existing AND ra.is_primary = 1 AND ra.alias = r2.title
          )
        GROUP BY t2.our_id
    ) AS d ON d.our_id = t.our_id
    WHERE t.skip IS NULL
) AS found ON found.our_id = x.our_id
WHERE x.skip IS NULL;

UPDATE m_track SET rel_existing = s.existing, rel_creator = s.creator
FROM m_release_step s
WHERE s.our_id = m_track.our_id
  AND (m_track.rel_existing IS NOT s.existing OR m_track.rel_creator IS NOT s.creator);
