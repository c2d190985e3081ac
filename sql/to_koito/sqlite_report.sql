-- merge-into-sqlite: what the merge matched and created, by kind (Koito's entities).
SELECT
    (SELECT count(DISTINCT sqlite_id) FROM m_artist
     WHERE rank IS NOT NULL AND created = 0 AND via IS NULL) AS artists_matched,
    (SELECT count(*) FROM m_new_artist) AS artists_created,
    (SELECT count(DISTINCT rel_existing) FROM m_track WHERE skip IS NULL) AS releases_matched,
    (SELECT count(*) FROM m_new_release) AS releases_created,
    (SELECT count(DISTINCT sqlite_id) FROM m_track
     WHERE skip IS NULL AND (mbid_found IS NOT NULL OR info_found IS NOT NULL)) AS tracks_matched,
    (SELECT count(*) FROM m_new_track) AS tracks_created,
    (SELECT coalesce(sum(listens), 0) FROM m_track WHERE skip IS NULL) AS listens_merged;
