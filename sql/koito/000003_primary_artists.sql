-- Koito v0.1.x, goose version 3: primary-artist flags and the artists-as-JSON helpers.
ALTER TABLE artist_tracks ADD COLUMN is_primary boolean NOT NULL DEFAULT false;
ALTER TABLE artist_releases ADD COLUMN is_primary boolean NOT NULL DEFAULT false;

CREATE FUNCTION get_artists_for_release(release_id integer) RETURNS jsonb
    LANGUAGE sql STABLE
AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('id', a.id, 'name', a.name)
                              ORDER BY ar.is_primary DESC, a.name), '[]'::jsonb)
    FROM artist_releases ar
    JOIN artists_with_name a ON a.id = ar.artist_id
    WHERE ar.release_id = get_artists_for_release.release_id;
$$;

CREATE FUNCTION get_artists_for_track(track_id integer) RETURNS jsonb
    LANGUAGE sql STABLE
AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('id', a.id, 'name', a.name)
                              ORDER BY at.is_primary DESC, a.name), '[]'::jsonb)
    FROM artist_tracks at
    JOIN artists_with_name a ON a.id = at.artist_id
    WHERE at.track_id = get_artists_for_track.track_id;
$$;
