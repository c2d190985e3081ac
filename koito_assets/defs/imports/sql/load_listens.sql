-- listens_loaded: every staged record of the file becomes a listen of its cached track, in one
-- statement. File order decides which client wins when one second repeats (Koito keeps the first).
INSERT INTO listens (track_id, listened_at, client, user_id)
SELECT tl.track_id, to_timestamp(s.listened_at), s.client, %(user_id)s
FROM koito_import.staged_scrobbles s
JOIN koito_import.track_lookup tl ON tl.lookup_key = s.lookup_key
WHERE s.file_id = %(file_id)s
ORDER BY s.seq
ON CONFLICT DO NOTHING
