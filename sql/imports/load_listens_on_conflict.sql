-- listens_loaded, when load_listens.sql met a listen inserted meanwhile: the same rows, each
-- insert checked for a conflict. Within one (track, second) the rows come in file order, so the
-- first in the file is the one kept, as Koito keeps it. Records and counts what it added as
-- load_listens.sql does.
WITH inserted AS (
    INSERT INTO listens (track_id, listened_at, client, user_id)
    SELECT tl.track_id, to_timestamp(s.listened_at), s.client, %(user_id)s
    FROM koito_import.staged_scrobbles s
    JOIN koito_import.track_lookup tl ON tl.lookup_key = s.lookup_key
    WHERE s.file_id = %(file_id)s
    ORDER BY tl.track_id, s.listened_at, s.seq
    ON CONFLICT DO NOTHING
    RETURNING track_id, listened_at
)
INSERT INTO koito_import.file_listens (file_id, track_ids, listened_at)
SELECT %(file_id)s, array_agg(track_id), array_agg(listened_at)
FROM inserted
HAVING count(*) > 0
RETURNING cardinality(track_ids)
