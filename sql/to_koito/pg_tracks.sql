-- merge-into-sqlite, on our database: the merged tracks with their primary title (NULL if none).
SELECT t.id, t.musicbrainz_id::text, t.duration, t.release_id, m.first_at, m.listens,
       (SELECT ta.alias FROM track_aliases ta
        WHERE ta.track_id = t.id AND ta.is_primary ORDER BY ta.alias LIMIT 1)
FROM tracks t JOIN merge_tracks m ON m.track_id = t.id
