-- merge-into-sqlite, on our database: the merged tracks' artists in the order a Koito export
-- lists them: the primary artist first, then by name (byte order), then by id.
SELECT at.track_id, at.artist_id,
       (row_number() OVER (
           PARTITION BY at.track_id
           ORDER BY at.is_primary DESC,
                    (SELECT aa.alias FROM artist_aliases aa
                     WHERE aa.artist_id = at.artist_id AND aa.is_primary
                     ORDER BY aa.alias LIMIT 1) COLLATE "C",
                    at.artist_id
       ) - 1)::integer
FROM artist_tracks at JOIN merge_tracks m ON m.track_id = at.track_id
