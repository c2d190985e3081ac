-- merge-into-sqlite, tracks, by Koito's importer's rule: by MBID when the track has one (on any
-- release; a miss creates it), else the lowest-id track of the release whose primary title is
-- the title and that is credited to every artist of ours (others allowed).

UPDATE m_track SET sqlite_id = mbid_found WHERE mbid_found IS NOT NULL;

-- Without MBID, a track Koito had (only a release that existed can hold one). When several fit,
-- Koito takes the first row its query meets; we take one that already has our first listen of
-- it, then one credited to exactly our artists, then the lowest id.
UPDATE m_track SET info_found = (
    -- (a derived table: SQLite cannot name the outer row in a subquery's ORDER BY)
    SELECT id FROM (
        SELECT t.id,
               (SELECT count(*) FROM main.artist_tracks c WHERE c.track_id = t.id)
                   = m_track.n_artists AS exact,
               EXISTS (
                   SELECT 1 FROM main.listens l
                   WHERE l.track_id = t.id AND l.listened_at = m_track.first_at
               ) AS holds_first
        FROM main.tracks t
        JOIN main.track_aliases ta ON ta.track_id = t.id AND ta.is_primary = 1
        WHERE t.release_id = m_track.sqlite_release AND ta.alias = m_track.title
          AND (
              SELECT count(*)
              FROM main.artist_tracks at
              JOIN m_track_sa sa
                  ON sa.sqlite_artist = at.artist_id AND sa.our_track = m_track.our_id
              WHERE at.track_id = t.id
          ) = m_track.n_artists
    )
    ORDER BY holds_first DESC, exact DESC, id
    LIMIT 1
)
WHERE mbid IS NULL AND skip IS NULL AND rel_existing IS NOT NULL;

UPDATE m_track SET sqlite_id = info_found WHERE info_found IS NOT NULL;

-- Else the first track of ours that creates a track there titled so and credited to all of this
-- one's artists (it may be this one). The first such track is always created: had it found one
-- itself, this track would have found that one too.
UPDATE m_track SET track_creator = (
    SELECT c.our_id FROM m_track c
    WHERE c.sqlite_release = m_track.sqlite_release AND c.title = m_track.title
      AND c.rank <= m_track.rank AND c.skip IS NULL
      AND c.mbid_found IS NULL AND c.info_found IS NULL
      AND NOT EXISTS (
          SELECT 1 FROM m_track_sa xs
          WHERE xs.our_track = m_track.our_id
            AND NOT EXISTS (
                SELECT 1 FROM m_track_sa cs
                WHERE cs.our_track = c.our_id AND cs.sqlite_artist = xs.sqlite_artist
            )
      )
    ORDER BY c.rank LIMIT 1
)
WHERE mbid IS NULL AND skip IS NULL AND sqlite_id IS NULL;

UPDATE m_track SET track_creator = our_id
WHERE mbid IS NOT NULL AND mbid_found IS NULL AND skip IS NULL;

-- Create them with Koito's conventions for a Koito-export track: the next ids in creation
-- order; its artists, the first primary, also linked to the release; the title as the primary
-- alias (source Canonical), every other alias, trimmed, with source Import; its duration.
INSERT INTO m_new_track (creator, sqlite_id)
SELECT our_id, (SELECT coalesce(max(id), 0) FROM main.tracks) + row_number() OVER (ORDER BY rank)
FROM m_track
WHERE track_creator = our_id;

INSERT INTO main.tracks (id, musicbrainz_id, release_id, duration)
SELECT n.sqlite_id, t.mbid, t.sqlite_release, t.duration
FROM m_new_track n JOIN m_track t ON t.our_id = n.creator
ORDER BY n.sqlite_id;

INSERT INTO main.artist_tracks (artist_id, track_id, is_primary)
SELECT sa.sqlite_artist, n.sqlite_id, sa.sqlite_artist = t.a0
FROM m_new_track n
JOIN m_track t ON t.our_id = n.creator
JOIN m_track_sa sa ON sa.our_track = t.our_id;

INSERT INTO main.artist_releases (artist_id, release_id, is_primary)
SELECT sa.sqlite_artist, t.sqlite_release, 0
FROM m_new_track n
JOIN m_track t ON t.our_id = n.creator
JOIN m_track_sa sa ON sa.our_track = t.our_id
WHERE true
ON CONFLICT (artist_id, release_id) DO NOTHING;

INSERT INTO main.track_aliases (track_id, alias, source, is_primary)
SELECT n.sqlite_id, t.title, 'Canonical', 1
FROM m_new_track n JOIN m_track t ON t.our_id = n.creator;

INSERT INTO main.track_aliases (track_id, alias, source, is_primary)
SELECT n.sqlite_id, a.alias, 'Import', 0
FROM m_new_track n JOIN m_track_alias a ON a.our_id = n.creator
WHERE true
ON CONFLICT (track_id, alias) DO NOTHING;

UPDATE m_track SET sqlite_id = (
    SELECT n.sqlite_id FROM m_new_track n WHERE n.creator = m_track.track_creator
)
WHERE track_creator IS NOT NULL;

CREATE INDEX temp.m_track_sqlite_id ON m_track (sqlite_id);
