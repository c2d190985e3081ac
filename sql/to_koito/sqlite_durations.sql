-- merge-into-sqlite: a Koito track of unknown length (0) takes the first known length of ours,
-- in listen order, as our Koito-export reader does (Koito's own importer never fills one).
UPDATE main.tracks SET duration = (
    SELECT x.duration FROM m_track x
    WHERE x.sqlite_id = tracks.id AND x.duration > 0 AND x.skip IS NULL
    ORDER BY x.rank LIMIT 1
)
WHERE duration = 0
  AND id IN (SELECT sqlite_id FROM m_track WHERE duration > 0 AND skip IS NULL);
