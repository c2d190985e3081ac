-- merge-into-sqlite: the listens, for Koito's user 1, one per (track, second) as Koito keeps
-- them; a listen already there stays as it is. In primary-key order, so that index grows at
-- its end; of two of ours landing on one Koito track in one second the export's first wins.
INSERT INTO main.listens (track_id, listened_at, user_id, client)
SELECT t.sqlite_id, l.listened_at, :user_id, coalesce(l.client, '')
FROM m_listen l JOIN m_track t ON t.our_id = l.our_track
WHERE t.skip IS NULL
ORDER BY t.sqlite_id, l.listened_at, l.our_track
ON CONFLICT (track_id, listened_at) DO NOTHING;
