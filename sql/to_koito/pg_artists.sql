-- merge-into-sqlite, on our database: the artists of the merged tracks, with their primary name.
SELECT a.id, a.musicbrainz_id::text, a.image_source,
       (SELECT aa.alias FROM artist_aliases aa
        WHERE aa.artist_id = a.id AND aa.is_primary ORDER BY aa.alias LIMIT 1)
FROM artists a
WHERE a.id IN (SELECT at.artist_id FROM artist_tracks at JOIN merge_tracks m ON m.track_id = at.track_id)
