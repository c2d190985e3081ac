-- merge-into-sqlite, the artists to create, with Koito's conventions for a Koito-export artist:
-- the next ids in the order Koito would meet them; the trimmed name as the primary alias
-- (source Canonical); every other alias, trimmed, with source MusicBrainz; an image id only for
-- an http(s) image URL, which is kept as image_source either way (Koito downloads it later).

INSERT INTO m_new_artist (our_id, sqlite_id)
SELECT our_id, (SELECT coalesce(max(id), 0) FROM main.artists) + row_number() OVER (ORDER BY rank)
FROM m_artist
WHERE sqlite_id IS NULL AND via IS NULL AND rank IS NOT NULL;

UPDATE m_artist SET sqlite_id = n.sqlite_id, created = 1
FROM m_new_artist n
WHERE n.our_id = m_artist.our_id;

INSERT INTO main.artists (id, musicbrainz_id, image, image_source)
SELECT sqlite_id, mbid,
       CASE WHEN substr(image_source, 1, 4) = 'http' THEN new_uuid() END,
       image_source
FROM m_artist WHERE created = 1
ORDER BY sqlite_id;

INSERT INTO main.artist_aliases (artist_id, alias, source, is_primary)
SELECT sqlite_id, name, 'Canonical', 1 FROM m_artist WHERE created = 1
ORDER BY sqlite_id;

INSERT INTO main.artist_aliases (artist_id, alias, source, is_primary)
SELECT m.sqlite_id, a.alias, 'MusicBrainz', 0
FROM m_artist m JOIN m_artist_alias a ON a.our_id = m.our_id
WHERE m.created = 1
ORDER BY m.sqlite_id, a.alias
ON CONFLICT (artist_id, alias) DO NOTHING;

UPDATE m_artist SET sqlite_id = (SELECT c.sqlite_id FROM m_artist c WHERE c.our_id = m_artist.via)
WHERE via IS NOT NULL;
