-- A track with an unknown duration (0) takes the first known one of this file, in file order,
-- as Koito does for every scrobble, cache hits included (docs/design.md §5.3).
UPDATE tracks t
SET duration = d.duration_s
FROM (
    SELECT DISTINCT ON (tl.track_id) tl.track_id, s.duration_s
    FROM koito_import.staged_scrobbles s
    JOIN koito_import.track_lookup tl ON tl.lookup_key = s.lookup_key
    WHERE s.file_id = %(file_id)s AND s.duration_s > 0
    ORDER BY tl.track_id, s.seq
) d
WHERE t.id = d.track_id AND t.duration = 0
