-- Every listen in an inclusive time window (a NULL bound is open), in Koito's export order:
-- (listened_at, track_id), a total order since that is the primary key. Read through a
-- server-side cursor, so nothing is skipped at page boundaries. Time as whole unix seconds.
SELECT l.track_id, floor(extract(epoch FROM l.listened_at))::bigint, coalesce(l.client, '')
FROM listens l
WHERE (%(since)s::timestamptz IS NULL OR l.listened_at >= %(since)s::timestamptz)
  AND (%(until)s::timestamptz IS NULL OR l.listened_at <= %(until)s::timestamptz)
ORDER BY l.listened_at, l.track_id
