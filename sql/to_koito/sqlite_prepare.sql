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
