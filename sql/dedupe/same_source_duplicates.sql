-- Koito's rule among listens of one source: a new listen whose track and second a listen of the
-- same source already has is a duplicate (a re-import, two overlapping exports of one service),
-- also when that listen had to be stored a few seconds later (listen_provenance.shifted_s).
UPDATE dedupe_new n SET state = 'duplicate'
WHERE EXISTS (
    SELECT 1
    FROM public.listens l
    LEFT JOIN koito_import.listen_provenance p
        ON p.track_id = l.track_id AND p.listened_at = l.listened_at
    WHERE l.track_id = n.track_id AND l.listened_at = n.at
      AND COALESCE(p.source, koito_import.source_of_client(l.client)) = %(source)s
) OR EXISTS (
    SELECT 1
    FROM koito_import.listen_provenance p
    WHERE p.track_id = n.track_id
      AND p.listened_at > n.at
      AND p.listened_at <= n.at + make_interval(secs => %(max_shift)s)
      AND p.shifted_s > 0
      AND p.listened_at = n.at + make_interval(secs => p.shifted_s)
      AND p.source = %(source)s
)
