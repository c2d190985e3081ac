-- The listens one import file added (koito_import.file_listens) that are still there, in an
-- inclusive time window (a NULL bound is open), in Koito's export order. A listen recorded twice
-- (deleted and added again by the same file) is written once.
SELECT DISTINCT ON (l.listened_at, l.track_id)
    l.track_id, floor(extract(epoch FROM l.listened_at))::bigint, coalesce(l.client, '')
FROM koito_import.file_listens fl
CROSS JOIN LATERAL unnest(fl.track_ids, fl.listened_at) AS added(track_id, listened_at)
JOIN listens l ON l.track_id = added.track_id AND l.listened_at = added.listened_at
WHERE fl.file_id = %(file_id)s
  AND (%(since)s::timestamptz IS NULL OR l.listened_at >= %(since)s::timestamptz)
  AND (%(until)s::timestamptz IS NULL OR l.listened_at <= %(until)s::timestamptz)
ORDER BY l.listened_at, l.track_id
