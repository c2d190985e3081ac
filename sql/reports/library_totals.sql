-- The library's totals, each a count Koito's own pages show. Images belong to artists and
-- releases; a track shows its release's image, so a track "has an image" when its release does.
SELECT
    (SELECT count(*) FROM listens) AS listens,
    (SELECT count(*) FROM artists) AS artists,
    (SELECT count(*) FROM artists WHERE image IS NOT NULL) AS artists_with_image,
    (SELECT count(*) FROM releases) AS releases,
    (SELECT count(*) FROM releases WHERE image IS NOT NULL) AS releases_with_image,
    (SELECT count(*) FROM tracks) AS tracks,
    (SELECT count(*) FROM tracks t JOIN releases r ON r.id = t.release_id
      WHERE r.image IS NOT NULL) AS tracks_with_image,
    (SELECT count(*) FROM koito_import.import_files WHERE status = 'complete') AS files_imported,
    (SELECT min(listened_at) FROM listens) AS first_listened_at,
    (SELECT max(listened_at) FROM listens) AS last_listened_at
