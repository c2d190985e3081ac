-- The facts the per-file checks compare: staged records, keys without a cache row, and staged
-- records with no listen of their track at their second.
SELECT
    (SELECT count(*) FROM koito_import.staged_scrobbles WHERE file_id = %(file_id)s) AS staged,
    (SELECT count(*) FROM koito_import.file_keys fk
      WHERE fk.file_id = %(file_id)s
        AND NOT EXISTS (SELECT 1 FROM koito_import.track_lookup tl WHERE tl.lookup_key = fk.lookup_key)
    ) AS unresolved_keys,
    (SELECT count(*) FROM koito_import.staged_scrobbles s
      LEFT JOIN koito_import.track_lookup tl ON tl.lookup_key = s.lookup_key
      LEFT JOIN listens l ON l.track_id = tl.track_id AND l.listened_at = to_timestamp(s.listened_at)
      WHERE s.file_id = %(file_id)s AND l.track_id IS NULL
    ) AS missing_listens
