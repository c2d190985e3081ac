-- Before the listens go in: lock every track they will point at, and the import user, against
-- deletion until commit. This is the guarantee the per-row foreign-key checks give, taken in
-- one set-based statement, which lets the insert skip those checks when allowed.
SELECT count(*) FROM (
    SELECT t.id
    FROM tracks t
    WHERE t.id IN (
        SELECT tl.track_id
        FROM koito_import.staged_scrobbles s
        JOIN koito_import.track_lookup tl ON tl.lookup_key = s.lookup_key
        WHERE s.file_id = %(file_id)s
    )
    ORDER BY t.id
    FOR KEY SHARE OF t
) locked_tracks
CROSS JOIN (SELECT 1 FROM users WHERE id = %(user_id)s FOR KEY SHARE) locked_user
