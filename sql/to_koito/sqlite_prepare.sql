-- merge-into-sqlite, after loading: the listens that cannot be merged, and the order of the rest.
-- The skips are the records our Koito-export reader refuses (Koito itself panics or aborts).

UPDATE m_track SET skip = 'track_without_title' WHERE title IS NULL;

UPDATE m_track SET skip = 'track_without_artists'
WHERE skip IS NULL
  AND NOT EXISTS (SELECT 1 FROM m_track_artist ta WHERE ta.our_track = m_track.our_id);

UPDATE m_track SET skip = 'artist_without_name'
WHERE skip IS NULL
  AND EXISTS (
      SELECT 1 FROM m_track_artist ta JOIN m_artist a ON a.our_id = ta.our_artist
      WHERE ta.our_track = m_track.our_id AND a.name IS NULL
  );

-- An artist Koito's importer would resolve to one listed before it on the same track is listed
-- once, as our export file lists it (export_entities._same_to_koito): the same MBID, or, without
-- an MBID, named by an alias of the other. Koito would otherwise create it again or fail.
DELETE FROM m_track_artist
WHERE EXISTS (
    SELECT 1
    FROM m_track_artist e
    JOIN m_artist ea ON ea.our_id = e.our_artist
    JOIN m_artist la ON la.our_id = m_track_artist.our_artist
    WHERE e.our_track = m_track_artist.our_track
      AND e.position < m_track_artist.position
      AND CASE
          WHEN ea.mbid IS NOT NULL AND la.mbid IS NOT NULL THEN ea.mbid = la.mbid
          ELSE (la.mbid IS NULL AND EXISTS (
                    SELECT 1 FROM m_artist_alias x WHERE x.our_id = ea.our_id AND x.alias = la.name))
            OR (ea.mbid IS NULL AND EXISTS (
                    SELECT 1 FROM m_artist_alias x WHERE x.our_id = la.our_id AND x.alias = ea.name))
      END
);

-- Koito's importer reads an export in time order and creates an entity at the first listen that
-- needs it, so "first" decides ids, which release a title lookup finds, and which track of ours
-- gives a new track its aliases. A track's rank is the order of its first listen (ties: our id,
-- the export's order); an artist's is the first track it is on, then its place in that list.
UPDATE m_track SET rank = r.n
FROM (
    SELECT our_id, row_number() OVER (ORDER BY first_at, our_id) AS n
    FROM m_track WHERE skip IS NULL
) AS r
WHERE r.our_id = m_track.our_id;

UPDATE m_artist SET rank = r.rank
FROM (
    SELECT ta.our_artist, min(t.rank * 1048576 + ta.position) AS rank
    FROM m_track_artist ta JOIN m_track t ON t.our_id = ta.our_track
    WHERE t.skip IS NULL
    GROUP BY ta.our_artist
) AS r
WHERE r.our_artist = m_artist.our_id;

CREATE INDEX temp.m_artist_alias_alias ON m_artist_alias (alias);
CREATE INDEX temp.m_track_release_rank ON m_track (our_release, rank);
