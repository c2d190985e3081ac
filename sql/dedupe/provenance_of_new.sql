-- Provenance rows for the listens just inserted that their client alone would misplace: another
-- source than the client says, a play shorter or longer than its track, or a shifted second.
INSERT INTO koito_import.listen_provenance (track_id, listened_at, source, played_s, shifted_s)
SELECT n.track_id, n.at + make_interval(secs => n.shifted_s), %(source)s,
    CASE WHEN n.played_s > 0 AND abs(n.played_s - tr.duration) > %(played_differs)s
         THEN n.played_s ELSE 0 END,
    n.shifted_s
FROM dedupe_new n
JOIN public.tracks tr ON tr.id = n.track_id
WHERE (n.state = 'shifted'
       OR (n.state = 'new' AND NOT EXISTS (SELECT 1 FROM dedupe_match m WHERE m.seq = n.seq)))
  AND (n.shifted_s > 0
       OR %(source)s <> koito_import.source_of_client(n.client)
       OR (n.played_s > 0 AND abs(n.played_s - tr.duration) > %(played_differs)s))
ON CONFLICT (track_id, listened_at) DO UPDATE
    SET source = EXCLUDED.source, played_s = EXCLUDED.played_s, shifted_s = EXCLUDED.shifted_s
