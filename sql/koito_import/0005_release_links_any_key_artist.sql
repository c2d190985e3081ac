-- koito_import 0005: a removed artist↔release link stales the rows whose release lookup may
-- have used that artist. Koito looks a release up by title and the first artist in *its* order,
-- which lists a featured artist before the base artist; we match in that order too but keep the
-- base artist first in artist_ids (docs/design.md §5.1). So the lookup artist is one of the row's
-- artists, not always artist_id: drop every row of the release naming the artist (conservative,
-- like the other update and delete triggers: a dropped row costs one re-resolution).
CREATE OR REPLACE FUNCTION koito_import.artist_releases_removed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM koito_import.track_lookup tl
        USING (SELECT artist_id, release_id FROM old_rows
               EXCEPT SELECT artist_id, release_id FROM new_rows) gone
        WHERE tl.album_id = gone.release_id AND tl.artist_ids @> ARRAY[gone.artist_id];
    ELSE
        DELETE FROM koito_import.track_lookup tl
        USING old_rows gone
        WHERE tl.album_id = gone.release_id AND tl.artist_ids @> ARRAY[gone.artist_id];
    END IF;
    RETURN NULL;
END;
$$;
