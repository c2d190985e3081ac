-- merge-into-sqlite, on our database: every alias of the merged tracks.
SELECT ta.track_id, ta.alias
FROM track_aliases ta JOIN merge_tracks m ON m.track_id = ta.track_id
