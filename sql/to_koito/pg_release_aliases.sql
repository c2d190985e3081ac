-- merge-into-sqlite, on our database: every alias of the merged tracks' releases.
SELECT ra.release_id, ra.alias
FROM release_aliases ra
WHERE ra.release_id IN (SELECT t.release_id FROM tracks t JOIN merge_tracks m ON m.track_id = t.id)
