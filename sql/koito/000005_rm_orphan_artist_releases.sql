-- Koito v0.1.x, goose version 5: drop artist↔release links that no credited track supports.
-- The orphan-release trigger then removes releases left without any artist.
DELETE FROM artist_releases ar
WHERE NOT EXISTS (
    SELECT 1
    FROM artist_tracks at
    JOIN tracks t ON t.id = at.track_id
    WHERE at.artist_id = ar.artist_id
      AND t.release_id = ar.release_id
);
