-- merge-into-sqlite, one round for the releases of tracks whose release has no MBID. Koito looks
-- such a release up by primary title and first artist, and a release gains artist links as it
-- goes: on creation (every artist of the creating listen) and with every track created on it
-- (that track's artists). So a later track may find a release through an artist that a track
-- before it brought. This round answers every track from the previous round's links:
--   0. the release that existed and already holds the track, if one does (fixed beforehand);
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
-- Keyed by artist and the release's title, which is what a lookup asks.
INSERT INTO m_link (existing, creator, creator_rank, artist, title, since)
SELECT NULL, t.rel_creator, ct.rank, sa.sqlite_artist, cr.title, min(t.rank)
FROM m_track t
JOIN m_track_sa sa ON sa.our_track = t.our_id
JOIN m_track ct ON ct.our_id = t.rel_creator
JOIN m_release cr ON cr.our_id = ct.our_release
WHERE t.skip IS NULL AND (t.mbid_found IS NULL OR t.rel_creator = t.our_id)
GROUP BY t.rel_creator, sa.sqlite_artist;

INSERT INTO m_link (existing, creator, creator_rank, artist, title, since)
SELECT t.rel_existing, NULL, NULL, sa.sqlite_artist, ra.alias, min(t.rank)
FROM m_track t
JOIN m_track_sa sa ON sa.our_track = t.our_id
JOIN main.release_aliases ra ON ra.release_id = t.rel_existing AND ra.is_primary = 1
WHERE t.skip IS NULL AND t.mbid_found IS NULL
GROUP BY t.rel_existing, sa.sqlite_artist, ra.alias;

DELETE FROM m_release_step;

INSERT INTO m_release_step (our_id, existing, creator)
SELECT our_id, existing, CASE WHEN existing IS NULL THEN coalesce((
        SELECT l.creator FROM m_link l
        WHERE l.artist = found.a0 AND l.title = found.title AND l.creator IS NOT NULL
          AND l.since < found.rank
        ORDER BY l.creator_rank LIMIT 1
    ), our_id) END
FROM (
    SELECT our_id, a0, rank, title,
           coalesce(holder, min(coalesce(ex_static, dynamic), coalesce(dynamic, ex_static)))
               AS existing
    FROM (
        SELECT x.our_id, x.a0, x.rank, xr.title, x.holder, x.ex_static, (
            SELECT min(l.existing) FROM m_link l
            WHERE l.artist = x.a0 AND l.title = xr.title AND l.existing IS NOT NULL
              AND l.since < x.rank
        ) AS dynamic
        FROM m_track x
        JOIN m_release xr ON xr.our_id = x.our_release AND xr.mbid IS NULL
        WHERE x.skip IS NULL
    )
) AS found;

UPDATE m_track SET rel_existing = s.existing, rel_creator = s.creator
FROM m_release_step s
WHERE s.our_id = m_track.our_id
  AND (m_track.rel_existing IS NOT s.existing OR m_track.rel_creator IS NOT s.creator);
