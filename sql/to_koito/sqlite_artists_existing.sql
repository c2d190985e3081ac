-- merge-into-sqlite, artists that Koito already has, by its importer's rule: by MBID when the
-- artist has one (then only by MBID: a miss creates a same-named artist), else by any alias
-- equal to the name (case-sensitive). Koito finds only artists with a primary alias (its
-- lookups go through a view of named artists). When several have the alias, Koito takes the
-- first row its query meets; we take the one named so (primary alias), then one without MBID
-- (as ours is), then the lowest id: the artist a database made from ours holds as ours.

UPDATE m_artist SET sqlite_id = (
    SELECT a.id FROM main.artists a
    WHERE a.musicbrainz_id = m_artist.mbid
      AND EXISTS (
          SELECT 1 FROM main.artist_aliases p WHERE p.artist_id = a.id AND p.is_primary = 1
      )
)
WHERE mbid IS NOT NULL AND rank IS NOT NULL;

UPDATE m_artist SET sqlite_id = (
    SELECT aa.artist_id
    FROM main.artist_aliases aa JOIN main.artists a ON a.id = aa.artist_id
    WHERE aa.alias = m_artist.name
      AND EXISTS (
          SELECT 1 FROM main.artist_aliases p WHERE p.artist_id = aa.artist_id AND p.is_primary = 1
      )
    ORDER BY aa.is_primary DESC, a.musicbrainz_id IS NULL DESC, aa.artist_id
    LIMIT 1
)
WHERE mbid IS NULL AND rank IS NOT NULL;
