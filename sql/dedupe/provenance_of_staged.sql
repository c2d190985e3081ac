-- Provenance rows for a file loaded by Koito's rule alone (no other source nearby): the same
-- rule as provenance_of_new.sql, over the file's first record of each (track, second). A
-- listen that was there already came from this source too, so a row it lacks says nothing new.
INSERT INTO koito_import.listen_provenance (track_id, listened_at, source, played_s)
SELECT track_id, to_timestamp(t), %(source)s,
    CASE WHEN played_s > 0 AND abs(played_s - duration) > %(played_differs)s
         THEN played_s ELSE 0 END
FROM (
    SELECT DISTINCT ON (tl.track_id, s.listened_at)
        tl.track_id, s.listened_at AS t, s.client, s.played_s, tr.duration
    FROM koito_import.staged_scrobbles s
    JOIN koito_import.track_lookup tl ON tl.lookup_key = s.lookup_key
    JOIN public.tracks tr ON tr.id = tl.track_id
    WHERE s.file_id = %(file_id)s
    ORDER BY tl.track_id, s.listened_at, s.seq
) firsts
WHERE %(source)s <> koito_import.source_of_client(client)
   OR (played_s > 0 AND abs(played_s - duration) > %(played_differs)s)
ON CONFLICT (track_id, listened_at) DO NOTHING
