-- insert_unmatched.sql, when a listen was inserted meanwhile (Koito's own, live): the same rows,
-- each checked for a conflict; one whose second was taken that way counts as a duplicate.
INSERT INTO public.listens (track_id, listened_at, client, user_id)
SELECT n.track_id, n.at, n.client, %(user_id)s
FROM dedupe_new n
WHERE n.state = 'new'
  AND NOT EXISTS (SELECT 1 FROM dedupe_match m WHERE m.seq = n.seq)
ORDER BY n.track_id, n.at
ON CONFLICT DO NOTHING
