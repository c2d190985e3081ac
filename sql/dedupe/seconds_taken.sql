-- The new listens whose second is already taken. By a listen of the same source: Koito's rule,
-- a duplicate (a re-import, two overlapping exports of one service), also when that listen had
-- to be stored a few seconds later (listen_provenance.shifted_s). By a listen of another
-- source: 'taken'; the matching decides whether it is the same play, and if not the new one is
-- stored a second or two later (insert_shifted.sql). Only such rows are written.
UPDATE dedupe_new n
SET state = CASE WHEN hit.same_source THEN 'duplicate' ELSE 'taken' END
FROM (
    SELECT seq, bool_or(same_source) AS same_source
    FROM (
        SELECT n2.seq,
            COALESCE(p.source, koito_import.source_of_client(l.client)) = %(source)s
                AS same_source
        FROM dedupe_new n2
        JOIN public.listens l ON l.track_id = n2.track_id AND l.listened_at = n2.at
        LEFT JOIN koito_import.listen_provenance p
            ON p.track_id = l.track_id AND p.listened_at = l.listened_at
        UNION ALL
        SELECT n2.seq, true
        FROM dedupe_new n2
        JOIN koito_import.listen_provenance p
            ON p.track_id = n2.track_id
           AND p.listened_at > n2.at
           AND p.listened_at <= n2.at + make_interval(secs => %(max_shift)s)
        WHERE p.shifted_s > 0
          AND p.listened_at = n2.at + make_interval(secs => p.shifted_s)
          AND p.source = %(source)s
    ) hits
    GROUP BY seq
) hit
WHERE hit.seq = n.seq
