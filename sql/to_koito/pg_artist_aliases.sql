-- merge-into-sqlite, on our database: every alias of the merged tracks' artists.
SELECT aa.artist_id, aa.alias
FROM artist_aliases aa
WHERE aa.artist_id IN (
    SELECT at.artist_id FROM artist_tracks at JOIN merge_tracks m ON m.track_id = at.track_id
)
