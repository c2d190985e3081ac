-- The file's listens to be: one per (track, second), the first in file order, as Koito keeps
-- them; with where each play may have been in time in its source's convention. A listen has two
-- readings, A (its usual one) and B, each a start interval (s_lo..s_hi) and an end interval
-- (e_lo..e_hi) in unix seconds: the start reading takes the time as the start and adds the
-- play's length for the end, the end reading takes it as the end and subtracts the length for
-- the start. 's' and 'e' sources read one way (A = B); a mixed source ('se', 'es') reads its
-- usual way as A and the other as B (for 'se' only when the length is known). An end without a
-- length is unknown (NULL); a start without one lies up to unknown_length before. A time cut to
-- the minute widens a reading by the minute's 59 seconds. w_lo..w_hi is the range of
-- listened_at where a listen of the same play from another source can be.
CREATE TEMP TABLE dedupe_new ON COMMIT DROP AS
WITH firsts AS (
    SELECT DISTINCT ON (tl.track_id, s.listened_at)
        s.seq, tl.track_id, s.listened_at AS t, s.client, s.played_s, tr.duration AS dur,
        COALESCE(NULLIF(s.played_s, 0), tr.duration) AS len
    FROM koito_import.staged_scrobbles s
    JOIN koito_import.track_lookup tl ON tl.lookup_key = s.lookup_key
    JOIN public.tracks tr ON tr.id = tl.track_id
    WHERE s.file_id = %(file_id)s
    ORDER BY tl.track_id, s.listened_at, s.seq
), read AS (
    SELECT f.*,
        koito_import.time_convention(%(source)s, f.client) AS conv,
        CASE WHEN %(source)s IN ('spotify', 'lastfm') AND mod(f.t, 60) = 0
             THEN %(minute_slack)s ELSE 0 END AS prec
    FROM firsts f
), readings AS (
    SELECT r.*,
        -- the time as the start
        r.t AS ss_lo, r.t + r.prec AS ss_hi,
        CASE WHEN r.len > 0 THEN r.t + r.len END AS se_lo,
        CASE WHEN r.len > 0 THEN r.t + r.len + r.prec END AS se_hi,
        -- the time as the end
        CASE WHEN r.len > 0 THEN r.t - r.len ELSE r.t - %(unknown_length)s END AS es_lo,
        CASE WHEN r.len > 0 THEN r.t - r.len + r.prec ELSE r.t + r.prec END AS es_hi,
        r.t AS ee_lo, r.t + r.prec AS ee_hi,
        r.conv IN ('e', 'es') AS a_is_end,
        r.conv = 'e' OR (r.conv = 'se' AND r.len > 0) AS b_is_end
    FROM read r
)
SELECT
    seq, track_id, t, to_timestamp(t) AS at, client, played_s, dur, len,
    CASE WHEN a_is_end THEN es_lo ELSE ss_lo END AS as_lo,
    CASE WHEN a_is_end THEN es_hi ELSE ss_hi END AS as_hi,
    CASE WHEN a_is_end THEN ee_lo ELSE se_lo END AS ae_lo,
    CASE WHEN a_is_end THEN ee_hi ELSE se_hi END AS ae_hi,
    CASE WHEN b_is_end THEN es_lo ELSE ss_lo END AS bs_lo,
    CASE WHEN b_is_end THEN es_hi ELSE ss_hi END AS bs_hi,
    CASE WHEN b_is_end THEN ee_lo ELSE se_lo END AS be_lo,
    CASE WHEN b_is_end THEN ee_hi ELSE se_hi END AS be_hi,
    LEAST(t, es_lo) - %(tolerance)s - %(minute_slack)s AS w_lo,
    t + prec + %(tolerance)s + %(minute_slack)s + %(max_shift)s
        + CASE WHEN len > 0 THEN len + len / 2 ELSE %(longest_play)s END AS w_hi,
    'new'::text AS state,
    0 AS shifted_s
FROM readings
