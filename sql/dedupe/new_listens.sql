-- The file's listens to be: one per (track, second), the first in file order, as Koito keeps
-- them; with where each play may have started in its source's time convention. Two readings
-- [a_lo, a_hi] and [b_lo, b_hi] in unix seconds: the time as the start and the time as the end
-- minus the play's length ('s' and 'e' sources use one reading twice, 'x' sources both). A
-- time cut to the minute widens a reading by the minute's 59 seconds. w_lo..w_hi is the range
-- of listened_at where a listen of the same play from another source can be.
CREATE TEMP TABLE dedupe_new ON COMMIT DROP AS
WITH firsts AS (
    SELECT DISTINCT ON (tl.track_id, s.listened_at)
        s.seq, tl.track_id, s.listened_at AS t, s.client, s.played_s,
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
), starts AS (
    SELECT r.*,
        CASE WHEN r.len > 0 THEN r.t - r.len ELSE r.t - %(unknown_length)s END AS end_lo,
        CASE WHEN r.len > 0 THEN r.t - r.len + r.prec ELSE r.t + r.prec END AS end_hi,
        r.conv = 'e' OR (r.conv = 'x' AND r.len > 0) AS end_reading
    FROM read r
)
SELECT
    seq, track_id, t, to_timestamp(t) AS at, client, played_s, len,
    CASE WHEN conv = 'e' THEN end_lo ELSE t END AS a_lo,
    CASE WHEN conv = 'e' THEN end_hi ELSE t + prec END AS a_hi,
    CASE WHEN end_reading THEN end_lo ELSE t END AS b_lo,
    CASE WHEN end_reading THEN end_hi ELSE t + prec END AS b_hi,
    LEAST(t, end_lo) - %(tolerance)s - %(minute_slack)s AS w_lo,
    t + prec + %(tolerance)s + %(minute_slack)s + %(max_shift)s
        + CASE WHEN len > 0 THEN len + len / 2 ELSE %(longest_play)s END AS w_hi,
    'new'::text AS state,
    0 AS shifted_s
FROM starts
