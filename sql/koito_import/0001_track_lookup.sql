-- koito_import 0001: the lookup cache (docs/design.md §5.2).
-- lookup_key joins every input that can change a resolution (artist string, artist names,
-- track title, album title, every MBID) with U+001F, hashed when long. Rows vanish with the
-- entities they point at (ON DELETE CASCADE), so a delete in Koito can never leave a stale hit.
CREATE TABLE koito_import.track_lookup (
    lookup_key text PRIMARY KEY,
    artist_id integer NOT NULL REFERENCES public.artists(id) ON DELETE CASCADE,
    album_id integer NOT NULL REFERENCES public.releases(id) ON DELETE CASCADE,
    track_id integer NOT NULL REFERENCES public.tracks(id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX track_lookup_artist_id_idx ON koito_import.track_lookup (artist_id);
CREATE INDEX track_lookup_album_id_idx ON koito_import.track_lookup (album_id);
CREATE INDEX track_lookup_track_id_idx ON koito_import.track_lookup (track_id);
