-- merge-into-sqlite, releases: what is settled before the rounds.

-- A release with an MBID is looked up by it alone; a track with an MBID too (on any release).
UPDATE m_release SET sqlite_id = (
    SELECT r.id FROM main.releases r
    WHERE r.musicbrainz_id = m_release.mbid
      AND EXISTS (
          SELECT 1 FROM main.release_aliases p WHERE p.release_id = r.id AND p.is_primary = 1
      )
)
WHERE mbid IS NOT NULL;

UPDATE m_track SET mbid_found = (
    SELECT t.id FROM main.tracks t
    WHERE t.musicbrainz_id = m_track.mbid
      AND EXISTS (
          SELECT 1 FROM main.track_aliases p WHERE p.track_id = t.id AND p.is_primary = 1
      )
)
WHERE mbid IS NOT NULL AND skip IS NULL;

-- Tracks of a release with an MBID land on Koito's release of that MBID, or on the one the
-- release's first track creates.
UPDATE m_track SET
    rel_existing = r.sqlite_id,
    rel_creator = CASE WHEN r.sqlite_id IS NULL THEN (
        SELECT f.our_id FROM m_track f
        WHERE f.our_release = r.our_id AND f.skip IS NULL
        ORDER BY f.rank LIMIT 1
    ) END
FROM m_release r
WHERE r.our_id = m_track.our_release AND r.mbid IS NOT NULL AND m_track.skip IS NULL;

-- The others by primary title and first artist. When several releases that existed before the
-- merge fit, Koito takes the first row its query meets; we take one that already holds the
-- track (its title, credited to all its artists): first one whose track already has our first
-- listen of it, then one credited exactly, then the lowest ids. So a track already in Koito is
-- found where it is, and merging twice, or into the database Koito's migrator made from ours,
-- changes nothing. (Our releases are looked up by Koito's first artist, the featured one of
-- "A feat. B"; an export lists the base artist first, which may fit another release; and two
-- of our releases may look alike.)
UPDATE m_track SET holder = (
    -- (a derived table: SQLite cannot name the outer row in a subquery's ORDER BY)
    SELECT release_id FROM (
        SELECT t.release_id, t.id,
               (SELECT count(*) FROM main.artist_tracks c WHERE c.track_id = t.id)
                   = m_track.n_artists AS exact,
               EXISTS (
                   SELECT 1 FROM main.listens l
                   WHERE l.track_id = t.id AND l.listened_at = m_track.first_at
               ) AS holds_first
        FROM main.track_aliases ta
        JOIN main.tracks t ON t.id = ta.track_id
        JOIN main.release_aliases ra
            ON ra.release_id = t.release_id AND ra.is_primary = 1 AND ra.alias = r.title
        JOIN main.artist_releases ar
            ON ar.release_id = t.release_id AND ar.artist_id = m_track.a0
        WHERE ta.alias = m_track.title AND ta.is_primary = 1
          AND (
              SELECT count(*)
              FROM main.artist_tracks at
              JOIN m_track_sa sa
                  ON sa.sqlite_artist = at.artist_id AND sa.our_track = m_track.our_id
              WHERE at.track_id = t.id
          ) = m_track.n_artists
    )
    ORDER BY holds_first DESC, exact DESC, release_id, id
    LIMIT 1
)
FROM m_release r
WHERE r.our_id = m_track.our_release AND r.mbid IS NULL AND m_track.skip IS NULL;

-- Else the lowest id, first against the links Koito had before the merge (every release that
-- existed has a lower id than a new one).
UPDATE m_track SET ex_static = (
    SELECT min(ra.release_id)
    FROM main.release_aliases ra
    JOIN main.artist_releases ar ON ar.release_id = ra.release_id AND ar.artist_id = m_track.a0
    WHERE ra.alias = r.title AND ra.is_primary = 1
)
FROM m_release r
WHERE r.our_id = m_track.our_release AND r.mbid IS NULL AND m_track.skip IS NULL;

-- Start of the rounds: found where a link existed, else each track creates its own release.
UPDATE m_track SET
    rel_existing = coalesce(m_track.holder, m_track.ex_static),
    rel_creator = CASE
        WHEN coalesce(m_track.holder, m_track.ex_static) IS NULL THEN m_track.our_id
    END
FROM m_release r
WHERE r.our_id = m_track.our_release AND r.mbid IS NULL AND m_track.skip IS NULL;

CREATE INDEX temp.m_link_lookup ON m_link (artist, title, since);
