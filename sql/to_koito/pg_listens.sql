-- merge-into-sqlite, on our database: the merged listens (unix seconds, as Koito's SQLite keeps them).
SELECT l.track_id, floor(extract(epoch FROM l.listened_at))::bigint, l.client
FROM listens l, merge_selection s
WHERE l.user_id = s.user_id
  AND (s.since IS NULL OR l.listened_at >= s.since)
  AND (s.until IS NULL OR l.listened_at <= s.until)
  AND (s.file_id IS NULL OR EXISTS (
      SELECT 1 FROM merge_file_listens f
      WHERE f.track_id = l.track_id AND f.listened_at = l.listened_at
  ))
