-- The matched plays leave the file: their staged records (the first and any same-second
-- repeats of it in the file) move to the skip table as same_play_from_<source>, so the file's
-- counts balance (records = accepted + skipped), and say which listen already holds the play.
-- Returns the count per reason.
WITH matched AS (
    SELECT n.track_id, n.t, m.source, m.track_id AS held_by_track, m.listened_at AS held_at
    FROM dedupe_match m
    JOIN dedupe_new n ON n.seq = m.seq
), gone AS (
    DELETE FROM koito_import.staged_scrobbles s
    USING koito_import.track_lookup tl, matched
    WHERE s.file_id = %(file_id)s
      AND tl.lookup_key = s.lookup_key
      AND tl.track_id = matched.track_id
      AND s.listened_at = matched.t
    RETURNING s.seq, matched.source, matched.held_by_track, matched.held_at
), skipped AS (
    INSERT INTO koito_import.skipped_records (file_id, position, reason, detail)
    SELECT %(file_id)s, 'accepted record ' || seq, 'same_play_from_' || source,
        'the same play as the listen of track ' || held_by_track || ' at '
            || to_char(held_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    FROM gone
    RETURNING reason
)
SELECT reason, count(*) FROM skipped GROUP BY reason
