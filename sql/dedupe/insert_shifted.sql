-- A play whose second holds another play of its track from another source (one service's end
-- is the other's start in a back-to-back repeat) is stored a second later, or two, up to the
-- limit, because Koito's key allows one listen of a track per second; its provenance row keeps
-- the shift. Run once per shift while such listens are left.
WITH inserted AS (
    INSERT INTO public.listens (track_id, listened_at, client, user_id)
    SELECT n.track_id, n.at + make_interval(secs => %(shift)s), n.client, %(user_id)s
    FROM dedupe_new n
    WHERE n.state = 'taken'
      AND NOT EXISTS (SELECT 1 FROM dedupe_match m WHERE m.seq = n.seq)
    ORDER BY n.track_id, n.at
    ON CONFLICT DO NOTHING
    RETURNING track_id, listened_at
)
UPDATE dedupe_new n SET state = 'shifted', shifted_s = %(shift)s
FROM inserted i
WHERE n.state = 'taken'
  AND n.track_id = i.track_id AND n.at + make_interval(secs => %(shift)s) = i.listened_at
