-- The plays no other source had become listens, in the primary key's order. A second already
-- taken (by another source's listen that is a different play, or by a listen inserted
-- meanwhile) leaves the new listen for insert_shifted.sql.
WITH inserted AS (
    INSERT INTO public.listens (track_id, listened_at, client, user_id)
    SELECT track_id, at, client, %(user_id)s
    FROM dedupe_new
    WHERE state = 'new'
    ORDER BY track_id, at
    ON CONFLICT DO NOTHING
    RETURNING track_id, listened_at
)
UPDATE dedupe_new n SET state = 'inserted'
FROM inserted i
WHERE n.track_id = i.track_id AND n.at = i.listened_at
