-- The plays no other source had become listens, in the primary key's order: every new listen
-- that is neither a same-source duplicate, nor matched, nor on a second already taken.
INSERT INTO public.listens (track_id, listened_at, client, user_id)
SELECT n.track_id, n.at, n.client, %(user_id)s
FROM dedupe_new n
WHERE n.state = 'new'
  AND NOT EXISTS (SELECT 1 FROM dedupe_match m WHERE m.seq = n.seq)
ORDER BY n.track_id, n.at
