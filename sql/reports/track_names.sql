-- Titles and credited artists of the report's top tracks (primary artist first, as Koito lists
-- them); a track deleted or merged since the import is simply absent.
SELECT t.id, t.title,
       coalesce((SELECT string_agg(a.name, ', ' ORDER BY at.is_primary DESC, a.name)
                 FROM artist_tracks at
                 JOIN artists_with_name a ON a.id = at.artist_id
                 WHERE at.track_id = t.id), '') AS artists,
       coalesce((SELECT r.title FROM releases_with_title r WHERE r.id = t.release_id), '') AS album
FROM tracks_with_title t
WHERE t.id = ANY(%(ids)s)
