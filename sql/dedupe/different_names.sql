-- A pair of different tracks is the same play only if the names agree as two services may spell
-- them: the same plain title (koito_import.plain_name: case, "(feat. B)", " - Remastered",
-- "(Live)", punctuation) and at least one artist in common, where an artist's name that is
-- really a list ("A, B", "A & B") counts with each of its parts, and a service that credits a
-- compilation to "Various Artists" names no artist of the track, so that counts as common.
-- Pairs of one track need no names. Names are read for the tracks of the remaining pairs only,
-- in one pass each over titles and artist credits.
WITH tracks AS (
    SELECT new_track AS track_id FROM dedupe_pairs WHERE NOT same_track
    UNION
    SELECT track_id FROM dedupe_pairs WHERE NOT same_track
), titles AS (
    SELECT ta.track_id, koito_import.plain_name(ta.alias) AS title
    FROM public.track_aliases ta
    JOIN tracks USING (track_id)
    WHERE ta.is_primary
), artists AS (
    SELECT at.track_id, array_agg(DISTINCT koito_import.plain_name(part)) AS names
    FROM tracks
    JOIN public.artist_tracks at USING (track_id)
    JOIN public.artist_aliases aa ON aa.artist_id = at.artist_id AND aa.is_primary
    CROSS JOIN LATERAL unnest(array_append(
        regexp_split_to_array(lower(aa.alias), %(list_separators)s), aa.alias)) AS part
    WHERE btrim(part) <> ''
    GROUP BY at.track_id
), names AS (
    SELECT t.track_id, t.title, a.names
    FROM titles t
    JOIN artists a USING (track_id)
)
DELETE FROM dedupe_pairs p
WHERE NOT p.same_track
  AND NOT EXISTS (
      SELECT 1
      FROM names a
      JOIN names b ON b.title = a.title
      WHERE a.track_id = p.new_track AND b.track_id = p.track_id
        AND (a.names && b.names
             OR 'various artists' = ANY (a.names) OR 'various artists' = ANY (b.names))
  )
