-- Every pair (new listen, listen of another source already stored) whose plays may have started
-- within the tolerance of each other. A range join: for each new listen, Koito's index on
-- listens(listened_at) yields the listens in its window w_lo..w_hi, nothing else is read. The
-- stored listen's readings are made as the new one's (new_listens.sql), from its provenance row
-- or, without one, from its client and its track's duration. gap_s is the least distance
-- between a reading of one and a reading of the other. The tolerance shrinks to half the
-- shorter play's length, so the neighbour in a back-to-back repeat never qualifies.
CREATE TEMP TABLE dedupe_pairs ON COMMIT DROP AS
SELECT seq, new_track, track_id, listened_at, source, gap_s, apart_s, new_track = track_id AS same_track
FROM (
    SELECT
        n.seq, n.track_id AS new_track, e.track_id, e.listened_at, e.source,
        LEAST(
            GREATEST(n.a_lo - e.a_hi, e.a_lo - n.a_hi, 0),
            GREATEST(n.a_lo - e.b_hi, e.b_lo - n.a_hi, 0),
            GREATEST(n.b_lo - e.a_hi, e.a_lo - n.b_hi, 0),
            GREATEST(n.b_lo - e.b_hi, e.b_lo - n.b_hi, 0)
        ) AS gap_s,
        abs(n.t - e.t0) AS apart_s,
        LEAST(NULLIF(n.len, 0), NULLIF(e.len, 0)) / 2 AS half_play
    FROM dedupe_new n
    CROSS JOIN LATERAL (
        SELECT x.track_id, x.listened_at, x.source, x.t0, x.len,
            CASE WHEN x.conv = 'e' THEN x.end_lo ELSE x.t0 END AS a_lo,
            CASE WHEN x.conv = 'e' THEN x.end_hi ELSE x.t0 + x.prec END AS a_hi,
            CASE WHEN x.end_reading THEN x.end_lo ELSE x.t0 END AS b_lo,
            CASE WHEN x.end_reading THEN x.end_hi ELSE x.t0 + x.prec END AS b_hi
        FROM (
            SELECT r.*,
                CASE WHEN r.len > 0 THEN r.t0 - r.len ELSE r.t0 - %(unknown_length)s END AS end_lo,
                CASE WHEN r.len > 0 THEN r.t0 - r.len + r.prec ELSE r.t0 + r.prec END AS end_hi,
                r.conv = 'e' OR (r.conv = 'x' AND r.len > 0) AS end_reading
            FROM (
                SELECT s.*,
                    koito_import.time_convention(s.source, s.client) AS conv,
                    CASE WHEN s.source IN ('spotify', 'lastfm') AND mod(s.t0, 60) = 0
                         THEN %(minute_slack)s ELSE 0 END AS prec
                FROM (
                    SELECT l.track_id, l.listened_at, l.client,
                        COALESCE(p.source, koito_import.source_of_client(l.client)) AS source,
                        floor(extract(epoch FROM l.listened_at))::bigint
                            - COALESCE(p.shifted_s, 0) AS t0,
                        COALESCE(NULLIF(p.played_s, 0), tr.duration) AS len
                    FROM public.listens l
                    JOIN public.tracks tr ON tr.id = l.track_id
                    LEFT JOIN koito_import.listen_provenance p
                        ON p.track_id = l.track_id AND p.listened_at = l.listened_at
                    WHERE l.listened_at BETWEEN to_timestamp(n.w_lo) AND to_timestamp(n.w_hi)
                      AND l.user_id = %(user_id)s
                ) s
                WHERE s.source <> %(source)s
            ) r
        ) x
    ) e
    WHERE n.state = 'new'
) pair
WHERE gap_s <= CASE WHEN half_play IS NULL THEN %(tolerance)s
                    ELSE LEAST(%(tolerance)s, GREATEST(half_play, %(min_tolerance)s)) END
