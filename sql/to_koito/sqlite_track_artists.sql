-- merge-into-sqlite: each track's artists as Koito artists, each once (first position kept);
-- the first is the one Koito looks the track's release up by and marks primary.

INSERT INTO m_track_sa (our_track, sqlite_artist, position)
SELECT ta.our_track, a.sqlite_id, min(ta.position)
FROM m_track_artist ta
JOIN m_track t ON t.our_id = ta.our_track AND t.skip IS NULL
JOIN m_artist a ON a.our_id = ta.our_artist
GROUP BY ta.our_track, a.sqlite_id;

UPDATE m_track SET
    a0 = (
        SELECT sa.sqlite_artist FROM m_track_sa sa
        WHERE sa.our_track = m_track.our_id ORDER BY sa.position LIMIT 1
    ),
    n_artists = (SELECT count(*) FROM m_track_sa sa WHERE sa.our_track = m_track.our_id)
WHERE skip IS NULL;
