-- Every pair (new listen, listen of another source already stored) that may be one play: a
-- reading of one and a reading of the other start, or end, within the tolerance of each other.
-- A range join: for each new listen, Koito's index on listens(listened_at) yields the listens in
-- its window w_lo..w_hi, nothing else is read. The stored listen's readings are made as the new
-- one's (new_listens.sql), from its provenance row or, without one, from its client and its
-- track's duration. gap_s is the least such distance, through the usual readings of both when
-- those are within the tolerance (other_reading 0), else through any (other_reading 1). The
-- tolerance shrinks to three quarters of the shorter track (of the shorter play when no
-- duration is known): the next play of a track starts a play later, so the neighbour in a
-- back-to-back repeat does not qualify, and a quarter is left for clock offsets and pauses.
CREATE TEMP TABLE dedupe_pairs ON COMMIT DROP AS
SELECT seq, new_track, track_id, listened_at, source,
    CASE WHEN usual_gap_s <= tolerance THEN 0 ELSE 1 END AS other_reading,
    CASE WHEN usual_gap_s <= tolerance THEN usual_gap_s ELSE gap_s END AS gap_s,
    apart_s, new_track = track_id AS same_track
FROM (
    SELECT pair.*,
        CASE WHEN guard IS NULL THEN %(tolerance)s
             ELSE LEAST(%(tolerance)s, GREATEST(guard, %(min_tolerance)s)) END AS tolerance
    FROM (
    SELECT
        n.seq, n.track_id AS new_track, e.track_id, e.listened_at, e.source,
        -- both read their usual way
        LEAST(
            koito_import.interval_gap(n.as_lo, n.as_hi, e.as_lo, e.as_hi),
            koito_import.interval_gap(n.ae_lo, n.ae_hi, e.ae_lo, e.ae_hi)
        ) AS usual_gap_s,
        -- either read either way
        LEAST(
            koito_import.interval_gap(n.as_lo, n.as_hi, e.as_lo, e.as_hi),
            koito_import.interval_gap(n.ae_lo, n.ae_hi, e.ae_lo, e.ae_hi),
            koito_import.interval_gap(n.as_lo, n.as_hi, e.bs_lo, e.bs_hi),
            koito_import.interval_gap(n.ae_lo, n.ae_hi, e.be_lo, e.be_hi),
            koito_import.interval_gap(n.bs_lo, n.bs_hi, e.as_lo, e.as_hi),
            koito_import.interval_gap(n.be_lo, n.be_hi, e.ae_lo, e.ae_hi),
            koito_import.interval_gap(n.bs_lo, n.bs_hi, e.bs_lo, e.bs_hi),
            koito_import.interval_gap(n.be_lo, n.be_hi, e.be_lo, e.be_hi)
        ) AS gap_s,
        abs(n.t - e.t0) AS apart_s,
        COALESCE(
            LEAST(NULLIF(n.dur, 0), NULLIF(e.dur, 0)), LEAST(NULLIF(n.len, 0), NULLIF(e.len, 0))
        ) * 3 / 4 AS guard
    FROM dedupe_new n
    CROSS JOIN LATERAL (
        SELECT x.track_id, x.listened_at, x.source, x.t0, x.dur, x.len,
            CASE WHEN x.a_is_end THEN x.es_lo ELSE x.ss_lo END AS as_lo,
            CASE WHEN x.a_is_end THEN x.es_hi ELSE x.ss_hi END AS as_hi,
            CASE WHEN x.a_is_end THEN x.ee_lo ELSE x.se_lo END AS ae_lo,
            CASE WHEN x.a_is_end THEN x.ee_hi ELSE x.se_hi END AS ae_hi,
            CASE WHEN x.b_is_end THEN x.es_lo ELSE x.ss_lo END AS bs_lo,
            CASE WHEN x.b_is_end THEN x.es_hi ELSE x.ss_hi END AS bs_hi,
            CASE WHEN x.b_is_end THEN x.ee_lo ELSE x.se_lo END AS be_lo,
            CASE WHEN x.b_is_end THEN x.ee_hi ELSE x.se_hi END AS be_hi
        FROM (
            SELECT r.*,
                r.t0 AS ss_lo, r.t0 + r.prec AS ss_hi,
                CASE WHEN r.len > 0 THEN r.t0 + r.len END AS se_lo,
                CASE WHEN r.len > 0 THEN r.t0 + r.len + r.prec END AS se_hi,
                CASE WHEN r.len > 0 THEN r.t0 - r.len ELSE r.t0 - %(unknown_length)s END AS es_lo,
                CASE WHEN r.len > 0 THEN r.t0 - r.len + r.prec ELSE r.t0 + r.prec END AS es_hi,
                r.t0 AS ee_lo, r.t0 + r.prec AS ee_hi,
                r.conv IN ('e', 'es') AS a_is_end,
                r.conv = 'e' OR (r.conv = 'se' AND r.len > 0) AS b_is_end
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
                        tr.duration AS dur,
                        COALESCE(NULLIF(p.played_s, 0), tr.duration) AS len
                    FROM public.listens l
                    JOIN public.tracks tr ON tr.id = l.track_id
                    LEFT JOIN koito_import.listen_provenance p
                        ON p.track_id = l.track_id AND p.listened_at = l.listened_at
                    WHERE l.listened_at BETWEEN to_timestamp(n.w_lo) AND to_timestamp(n.w_hi)
                      AND l.user_id = %(user_id)s
                    OFFSET 0  -- kept apart, so it runs per new listen as a range probe
                ) s
                WHERE s.source <> %(source)s
                OFFSET 0  -- each level's columns computed once per row, not inlined again
            ) r
            OFFSET 0
        ) x
    ) e
    WHERE n.state IN ('new', 'taken')
    OFFSET 0  -- the distances computed once per pair
    ) pair
) judged
WHERE gap_s <= tolerance
