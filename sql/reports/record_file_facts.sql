-- What a file's listening report shows, computed on the server from the file's staging rows
-- while they still exist (the load drops them once the file is complete): a few hundred bytes
-- per file reach the client instead of a row per listen.
--
-- One pass over the file's rows joined to their tracks (plays), then small aggregates of it:
-- days (integer division: listened_at is unix seconds, never negative) and months from the
-- days, so calendar arithmetic runs a few thousand times, not once per listen; tracks, and
-- every artist credited on them. A play is a distinct (track, second), Koito's listen identity:
-- the plays already in the database before the load are the plays minus the listens it inserted.
WITH plays AS MATERIALIZED (
    SELECT tl.track_id, s.listened_at
    FROM koito_import.staged_scrobbles s
    JOIN koito_import.track_lookup tl ON tl.lookup_key = s.lookup_key
    WHERE s.file_id = %(file_id)s
),
per_day AS (
    SELECT listened_at / 86400 AS day, count(*) AS listens,
           min(listened_at) AS first_at, max(listened_at) AS last_at
    FROM plays
    GROUP BY 1
),
per_month AS (
    SELECT to_char(to_timestamp(day * 86400) AT TIME ZONE 'UTC', 'YYYY-MM') AS month,
           sum(listens)::integer AS listens
    FROM per_day
    GROUP BY 1
),
per_track AS (
    SELECT track_id, count(*)::integer AS listens FROM plays GROUP BY track_id
),
per_artist AS (
    SELECT at.artist_id, sum(t.listens)::integer AS listens
    FROM per_track t
    JOIN artist_tracks at ON at.track_id = t.track_id
    GROUP BY at.artist_id
),
distinct_plays AS (
    SELECT count(*)::integer AS plays
    FROM (SELECT DISTINCT track_id, listened_at FROM plays) p
),
days AS (
    SELECT coalesce(sum(listens), 0)::integer AS listens,
           to_timestamp(min(first_at)) AS first_at, to_timestamp(max(last_at)) AS last_at
    FROM per_day
)
INSERT INTO koito_import.file_reports AS r (
    file_id, listens, plays, already_present, first_listened_at, last_listened_at,
    months, top_tracks, top_artists, recorded_at
)
SELECT
    %(file_id)s,
    days.listens,
    distinct_plays.plays,
    greatest(distinct_plays.plays - %(inserted)s, 0),
    days.first_at,
    days.last_at,
    (SELECT coalesce(jsonb_agg(jsonb_build_array(month, listens) ORDER BY month), '[]')
       FROM per_month),
    (SELECT coalesce(jsonb_agg(jsonb_build_array(track_id, listens)
                               ORDER BY listens DESC, track_id), '[]')
       FROM (SELECT * FROM per_track ORDER BY listens DESC, track_id LIMIT %(top)s) t),
    (SELECT coalesce(jsonb_agg(jsonb_build_array(artist_id, listens)
                               ORDER BY listens DESC, artist_id), '[]')
       FROM (SELECT * FROM per_artist ORDER BY listens DESC, artist_id LIMIT %(top)s) a),
    now()
FROM days, distinct_plays
ON CONFLICT (file_id) DO UPDATE SET
    listens = EXCLUDED.listens,
    plays = EXCLUDED.plays,
    already_present = EXCLUDED.already_present,
    first_listened_at = EXCLUDED.first_listened_at,
    last_listened_at = EXCLUDED.last_listened_at,
    months = EXCLUDED.months,
    top_tracks = EXCLUDED.top_tracks,
    top_artists = EXCLUDED.top_artists,
    recorded_at = EXCLUDED.recorded_at
