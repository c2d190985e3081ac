-- listens_loaded: every staged record of the file becomes a listen of its cached track, in one
-- statement. Koito keeps the first listen of a track at a second: DISTINCT ON keeps the first in
-- file order (seq), NOT EXISTS leaves out listens already there. Rows go in in the primary key's
-- order, so its index grows at one end. A plain INSERT is a third faster than ON CONFLICT's
-- speculative insertion; a listen inserted concurrently makes it fail, and the caller then runs
-- load_listens_on_conflict.sql, which gives the same rows.
-- The same statement records which listens this file added (koito_import.file_listens, one row
-- of two arrays) and returns how many: no row when it added none.
WITH inserted AS (
    INSERT INTO listens (track_id, listened_at, client, user_id)
    SELECT DISTINCT ON (tl.track_id, s.listened_at)
        tl.track_id, to_timestamp(s.listened_at), s.client, %(user_id)s
    FROM koito_import.staged_scrobbles s
    JOIN koito_import.track_lookup tl ON tl.lookup_key = s.lookup_key
    WHERE s.file_id = %(file_id)s
      AND NOT EXISTS (
          SELECT 1 FROM listens l
          WHERE l.track_id = tl.track_id AND l.listened_at = to_timestamp(s.listened_at)
      )
    ORDER BY tl.track_id, s.listened_at, s.seq
    RETURNING track_id, listened_at
)
INSERT INTO koito_import.file_listens (file_id, track_ids, listened_at)
SELECT %(file_id)s, array_agg(track_id), array_agg(listened_at)
FROM inserted
HAVING count(*) > 0
RETURNING cardinality(track_ids)
