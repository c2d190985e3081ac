-- merge-into-sqlite, the releases to create, with Koito's conventions for a Koito-export album:
-- the next ids in the order Koito would create them; the creating listen's artists linked, its
-- first primary; the title as the primary alias (source Canonical, untrimmed as Koito keeps it);
-- every other alias, trimmed, with source MusicBrainz; various_artists as ours; an image id only
-- for an http(s) image URL, kept as image_source either way.

INSERT INTO m_new_release (creator, sqlite_id)
SELECT our_id,
       (SELECT coalesce(max(id), 0) FROM main.releases) + row_number() OVER (ORDER BY rank)
FROM m_track
WHERE rel_creator = our_id;

INSERT INTO main.releases (id, musicbrainz_id, image, image_source, various_artists)
SELECT n.sqlite_id, r.mbid,
       CASE WHEN substr(r.image_source, 1, 4) = 'http' THEN new_uuid() END,
       r.image_source, r.various_artists
FROM m_new_release n
JOIN m_track t ON t.our_id = n.creator
JOIN m_release r ON r.our_id = t.our_release
ORDER BY n.sqlite_id;

INSERT INTO main.artist_releases (artist_id, release_id, is_primary)
SELECT sa.sqlite_artist, n.sqlite_id, sa.sqlite_artist = t.a0
FROM m_new_release n
JOIN m_track t ON t.our_id = n.creator
JOIN m_track_sa sa ON sa.our_track = t.our_id;

INSERT INTO main.release_aliases (release_id, alias, source, is_primary)
SELECT n.sqlite_id, r.title, 'Canonical', 1
FROM m_new_release n
JOIN m_track t ON t.our_id = n.creator
JOIN m_release r ON r.our_id = t.our_release;

INSERT INTO main.release_aliases (release_id, alias, source, is_primary)
SELECT n.sqlite_id, a.alias, 'MusicBrainz', 0
FROM m_new_release n
JOIN m_track t ON t.our_id = n.creator
JOIN m_release_alias a ON a.our_id = t.our_release
WHERE true
ON CONFLICT (release_id, alias) DO NOTHING;

UPDATE m_track SET sqlite_release = coalesce(
    rel_existing,
    (SELECT n.sqlite_id FROM m_new_release n WHERE n.creator = m_track.rel_creator)
)
WHERE skip IS NULL;

CREATE INDEX temp.m_track_release_title ON m_track (sqlite_release, title);
