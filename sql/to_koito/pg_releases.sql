-- merge-into-sqlite, on our database: the releases of the merged tracks, with their primary
-- title ('' if none: a Koito export then carries no title, and Koito creates the album so).
SELECT r.id, r.musicbrainz_id::text, r.image_source, r.various_artists,
       coalesce((SELECT ra.alias FROM release_aliases ra
                 WHERE ra.release_id = r.id AND ra.is_primary ORDER BY ra.alias LIMIT 1), '')
FROM releases r
WHERE r.id IN (SELECT t.release_id FROM tracks t JOIN merge_tracks m ON m.track_id = t.id)
