-- The time range of the file's staged plays (unix seconds), to look for other sources' listens.
SELECT min(listened_at), max(listened_at)
FROM koito_import.staged_scrobbles
WHERE file_id = %(file_id)s
