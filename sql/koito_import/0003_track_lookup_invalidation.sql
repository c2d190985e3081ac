-- koito_import 0003: the database drops every lookup row that a change to Koito's tables makes
-- stale (docs/design.md §5.9), whoever makes the change: our import, or Koito's own merges,
-- deletes and edits (docs/koito-reference.md §6), which know nothing about this cache.
--
-- A row says "this key resolves to these artists, this release, this track". It goes stale when
--   (a) an entity it names loses what its resolution relied on: the entity is deleted (the
--       track's foreign key cascades; the artists and releases triggers below cover the rest),
--       an alias is renamed or removed, a release or track loses its primary title, an
--       artist↔track or artist↔release link is removed or re-pointed (merges), a track moves
--       to another release, an MBID changes; or
--   (b) the key's path changes: an MBID in the key that matched nothing (so names decided)
--       now belongs to some entity, which Koito's rules would now use instead.
-- Additions do not make a row stale: a new entity, alias, link or credit only adds another
-- match, and Koito's lookups take any one match (no ORDER BY), so the cached answer is still an
-- answer Koito gives. The one addition that matters is (b): an INSERT whose rows carry MBIDs.
-- So inserts cost one scan of the statement's new rows (statement-level triggers with a
-- transition table; a bulk import of 20,000 artists without MBIDs deletes nothing and probes
-- nothing), and column-listed row triggers do not fire at all for our duration fills or the
-- image backfill. Updates and deletes are rare and mostly invalidate conservatively (every row
-- of the entity, even where the change may not have mattered): a dropped row only costs one
-- re-resolution. Links and credits, which merges move in bulk, are matched precisely.
--
-- Every function is SECURITY DEFINER with a fixed search_path: Koito's database role may not
-- have any privilege on our schema, and its merges must not fail because of our cache.

CREATE FUNCTION koito_import.forget_lookups(
    p_artists integer[], p_albums integer[], p_tracks integer[], p_mbids uuid[]
) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF cardinality(p_artists) > 0 THEN
        DELETE FROM koito_import.track_lookup WHERE artist_ids && p_artists;
    END IF;
    IF cardinality(p_albums) > 0 THEN
        DELETE FROM koito_import.track_lookup WHERE album_id = ANY (p_albums);
    END IF;
    IF cardinality(p_tracks) > 0 THEN
        DELETE FROM koito_import.track_lookup WHERE track_id = ANY (p_tracks);
    END IF;
    IF cardinality(p_mbids) > 0 THEN
        DELETE FROM koito_import.track_lookup WHERE mbids && p_mbids;
    END IF;
END;
$$;

-- Nobody truncates Koito's tables, but if someone does, nothing cached about them survives.
CREATE FUNCTION koito_import.forget_all_lookups() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM koito_import.track_lookup;
    RETURN NULL;
END;
$$;
CREATE TRIGGER koito_import_forget_truncated AFTER TRUNCATE ON public.artists
    FOR EACH STATEMENT EXECUTE FUNCTION koito_import.forget_all_lookups();
CREATE TRIGGER koito_import_forget_truncated AFTER TRUNCATE ON public.releases
    FOR EACH STATEMENT EXECUTE FUNCTION koito_import.forget_all_lookups();

-- artists -------------------------------------------------------------------------------------
CREATE FUNCTION koito_import.artists_deleted() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM koito_import.forget_lookups(ARRAY(SELECT id FROM old_rows), NULL, NULL, NULL);
    RETURN NULL;
END;
$$;
CREATE TRIGGER koito_import_forget_deleted AFTER DELETE ON public.artists
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION koito_import.artists_deleted();

CREATE FUNCTION koito_import.artist_mbid_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM koito_import.forget_lookups(
        ARRAY[OLD.id], NULL, NULL,
        array_remove(ARRAY[OLD.musicbrainz_id, NEW.musicbrainz_id], NULL));
    RETURN NULL;
END;
$$;
CREATE TRIGGER koito_import_forget_mbid_changed AFTER UPDATE OF musicbrainz_id ON public.artists
    FOR EACH ROW WHEN (OLD.musicbrainz_id IS DISTINCT FROM NEW.musicbrainz_id)
    EXECUTE FUNCTION koito_import.artist_mbid_changed();

-- New entities: only their MBIDs can change an existing answer (rule (b) above). One function
-- for the three tables: their transition tables all have a musicbrainz_id column.
CREATE FUNCTION koito_import.entities_with_mbids_inserted() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM koito_import.forget_lookups(NULL, NULL, NULL,
        ARRAY(SELECT musicbrainz_id FROM new_rows WHERE musicbrainz_id IS NOT NULL));
    RETURN NULL;
END;
$$;
CREATE TRIGGER koito_import_forget_mbid_gained AFTER INSERT ON public.artists
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION koito_import.entities_with_mbids_inserted();

-- releases ------------------------------------------------------------------------------------
-- A deleted release takes most of its rows along through its tracks, but not a row whose track
-- was found by recording MBID on another release (docs/koito-reference.md §10 T11); and 0002
-- dropped the foreign key.
CREATE FUNCTION koito_import.releases_deleted() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM koito_import.forget_lookups(NULL, ARRAY(SELECT id FROM old_rows), NULL, NULL);
    RETURN NULL;
END;
$$;
CREATE TRIGGER koito_import_forget_deleted AFTER DELETE ON public.releases
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION koito_import.releases_deleted();

CREATE FUNCTION koito_import.release_mbid_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM koito_import.forget_lookups(
        NULL, ARRAY[OLD.id], NULL,
        array_remove(ARRAY[OLD.musicbrainz_id, NEW.musicbrainz_id], NULL));
    RETURN NULL;
END;
$$;
CREATE TRIGGER koito_import_forget_mbid_changed AFTER UPDATE OF musicbrainz_id ON public.releases
    FOR EACH ROW WHEN (OLD.musicbrainz_id IS DISTINCT FROM NEW.musicbrainz_id)
    EXECUTE FUNCTION koito_import.release_mbid_changed();
CREATE TRIGGER koito_import_forget_mbid_gained AFTER INSERT ON public.releases
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION koito_import.entities_with_mbids_inserted();

-- tracks --------------------------------------------------------------------------------------
-- A track moved to another release (MergeAlbums, a track edit) or with another MBID. Duration
-- fills are not listed in UPDATE OF, so they never fire this.
CREATE FUNCTION koito_import.track_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM koito_import.forget_lookups(
        NULL, NULL, ARRAY[OLD.id],
        array_remove(ARRAY[OLD.musicbrainz_id, NEW.musicbrainz_id], NULL));
    RETURN NULL;
END;
$$;
CREATE TRIGGER koito_import_forget_track_changed
    AFTER UPDATE OF release_id, musicbrainz_id ON public.tracks
    FOR EACH ROW WHEN (OLD.release_id IS DISTINCT FROM NEW.release_id
                       OR OLD.musicbrainz_id IS DISTINCT FROM NEW.musicbrainz_id)
    EXECUTE FUNCTION koito_import.track_changed();
CREATE TRIGGER koito_import_forget_mbid_gained AFTER INSERT ON public.tracks
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION koito_import.entities_with_mbids_inserted();

-- aliases -------------------------------------------------------------------------------------
-- Artists are found by any alias; releases and tracks by their primary title only.
CREATE FUNCTION koito_import.artist_aliases_updated() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM koito_import.forget_lookups(
        ARRAY(SELECT artist_id FROM old_rows UNION SELECT artist_id FROM new_rows), NULL, NULL, NULL);
    RETURN NULL;
END;
$$;
CREATE TRIGGER koito_import_forget_updated AFTER UPDATE ON public.artist_aliases
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION koito_import.artist_aliases_updated();

CREATE FUNCTION koito_import.artist_aliases_deleted() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM koito_import.forget_lookups(ARRAY(SELECT artist_id FROM old_rows), NULL, NULL, NULL);
    RETURN NULL;
END;
$$;
CREATE TRIGGER koito_import_forget_deleted AFTER DELETE ON public.artist_aliases
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION koito_import.artist_aliases_deleted();

CREATE FUNCTION koito_import.release_aliases_updated() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM koito_import.forget_lookups(NULL,
        ARRAY(SELECT release_id FROM old_rows WHERE is_primary
              UNION SELECT release_id FROM new_rows WHERE is_primary), NULL, NULL);
    RETURN NULL;
END;
$$;
CREATE TRIGGER koito_import_forget_updated AFTER UPDATE ON public.release_aliases
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION koito_import.release_aliases_updated();

CREATE FUNCTION koito_import.release_aliases_deleted() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM koito_import.forget_lookups(NULL,
        ARRAY(SELECT release_id FROM old_rows WHERE is_primary), NULL, NULL);
    RETURN NULL;
END;
$$;
CREATE TRIGGER koito_import_forget_deleted AFTER DELETE ON public.release_aliases
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION koito_import.release_aliases_deleted();

CREATE FUNCTION koito_import.track_aliases_updated() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM koito_import.forget_lookups(NULL, NULL,
        ARRAY(SELECT track_id FROM old_rows WHERE is_primary
              UNION SELECT track_id FROM new_rows WHERE is_primary), NULL);
    RETURN NULL;
END;
$$;
CREATE TRIGGER koito_import_forget_updated AFTER UPDATE ON public.track_aliases
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION koito_import.track_aliases_updated();

CREATE FUNCTION koito_import.track_aliases_deleted() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM koito_import.forget_lookups(NULL, NULL,
        ARRAY(SELECT track_id FROM old_rows WHERE is_primary), NULL);
    RETURN NULL;
END;
$$;
CREATE TRIGGER koito_import_forget_deleted AFTER DELETE ON public.track_aliases
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION koito_import.track_aliases_deleted();

-- links ---------------------------------------------------------------------------------------
-- A track is matched by being credited to every artist of the key; a release by title and a link
-- to the key's first artist. So a removed credit (a, t) stales the rows of track t that have a
-- among their artists, and a removed link (a, r) the rows of release r whose first artist is a.
-- Merges re-point and delete these rows, track edits remove credits. An UPDATE that leaves the
-- pair as it was (only is_primary changed) removes nothing.
CREATE FUNCTION koito_import.artist_tracks_removed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM koito_import.track_lookup tl
        USING (SELECT artist_id, track_id FROM old_rows
               EXCEPT SELECT artist_id, track_id FROM new_rows) gone
        WHERE tl.track_id = gone.track_id AND tl.artist_ids @> ARRAY[gone.artist_id];
    ELSE
        DELETE FROM koito_import.track_lookup tl
        USING old_rows gone
        WHERE tl.track_id = gone.track_id AND tl.artist_ids @> ARRAY[gone.artist_id];
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER koito_import_forget_updated AFTER UPDATE ON public.artist_tracks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION koito_import.artist_tracks_removed();
CREATE TRIGGER koito_import_forget_deleted AFTER DELETE ON public.artist_tracks
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION koito_import.artist_tracks_removed();

CREATE FUNCTION koito_import.artist_releases_removed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM koito_import.track_lookup tl
        USING (SELECT artist_id, release_id FROM old_rows
               EXCEPT SELECT artist_id, release_id FROM new_rows) gone
        WHERE tl.album_id = gone.release_id AND tl.artist_id = gone.artist_id;
    ELSE
        DELETE FROM koito_import.track_lookup tl
        USING old_rows gone
        WHERE tl.album_id = gone.release_id AND tl.artist_id = gone.artist_id;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER koito_import_forget_updated AFTER UPDATE ON public.artist_releases
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION koito_import.artist_releases_removed();
CREATE TRIGGER koito_import_forget_deleted AFTER DELETE ON public.artist_releases
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION koito_import.artist_releases_removed();
