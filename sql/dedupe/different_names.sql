-- A pair of different tracks is the same play only if the names agree as two services may spell
-- them: the same plain title (koito_import.plain_name: case, "(feat. B)", " - Remastered",
-- "(Live)", punctuation) and at least one artist in common (a service that credits a
-- compilation to "Various Artists" names no artist of the track, so that counts as common).
-- Pairs of one track need no names. Names are read for the tracks of the remaining pairs only.
WITH tracks AS (
    SELECT new_track AS track_id FROM dedupe_pairs WHERE NOT same_track
    UNION
    SELECT track_id FROM dedupe_pairs WHERE NOT same_track
), names AS (
    SELECT t.id AS track_id,
        koito_import.plain_name(t.title) AS title,
        koito_import.track_artist_names(t.id) AS artists
    FROM public.tracks_with_title t
    WHERE t.id IN (SELECT track_id FROM tracks)
)
DELETE FROM dedupe_pairs p
WHERE NOT p.same_track
  AND NOT EXISTS (
      SELECT 1
      FROM names a
      JOIN names b ON b.title = a.title
      WHERE a.track_id = p.new_track AND b.track_id = p.track_id
        AND (a.artists && b.artists
             OR 'various artists' = ANY (a.artists) OR 'various artists' = ANY (b.artists))
  )
