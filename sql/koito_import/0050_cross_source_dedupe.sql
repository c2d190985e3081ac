-- koito_import 0050: one play, one listen across sources (docs/cross-source-dedupe.md).
--
-- Koito keeps one listen per (track, second). The same play exported by two services arrives
-- at two different seconds (Spotify stamps a play when it ends, Last.fm when it starts) and
-- often as two different tracks (one service's names or MBIDs differ from the other's), so that
-- rule counts it twice. Recognising it needs to know, for a listen already in the database,
-- which source it came from and how its time relates to the play. Koito's listens table has no
-- room for that, so it lives here.

-- How long a staged play lasted, when its source says so (Spotify's ms_played); 0 = unknown.
ALTER TABLE koito_import.staged_scrobbles ADD COLUMN played_s integer NOT NULL DEFAULT 0;

-- Per file: how many records were recognised as plays another source had already loaded,
-- by that source ({"spotify": 812}), for the reports. Their skip reasons say the same.
ALTER TABLE koito_import.import_files ADD COLUMN same_play jsonb;

-- Where a listen came from, for the listens whose client alone would not say it. A listen
-- without a row here is read as its client says (koito_import.source_of_client below): that
-- covers Koito's own listens, listens imported before this table existed, and most of ours
-- (a Spotify file's listens carry client 'spotify' and their play length is the track's), so
-- a bulk load writes rows only where they add something.
--   source     the kind of export the listen was loaded from
--   played_s   how long the play lasted, when that is not the track's duration (a skipped
--              Spotify play); 0 = the track's duration stands for it
--   shifted_s  the listen is stored this many seconds after its own time, because Koito's key
--              allows one listen of a track per second and that second already held another
--              play of the track from another source (a back-to-back repeat: one service's end
--              is the other's start)
-- The row follows its listen: Koito's track merge re-points listens (ON UPDATE CASCADE), a
-- deleted listen takes its row along. The foreign key's actions run as this table's owner, so
-- Koito's role needs no privilege on this schema.
CREATE TABLE koito_import.listen_provenance (
    track_id integer NOT NULL,
    listened_at timestamptz NOT NULL,
    source text NOT NULL CHECK (source IN ('spotify', 'lastfm', 'listenbrainz', 'maloja', 'koito')),
    played_s integer NOT NULL DEFAULT 0 CHECK (played_s >= 0),
    shifted_s smallint NOT NULL DEFAULT 0 CHECK (shifted_s >= 0),
    PRIMARY KEY (track_id, listened_at),
    FOREIGN KEY (track_id, listened_at) REFERENCES public.listens (track_id, listened_at)
        ON UPDATE CASCADE ON DELETE CASCADE
);

-- The source of a listen that has no provenance row, by the client Koito stored: Koito's own
-- importers write 'spotify', 'lastfm' and 'maloja'; everything else (live scrobbles, Koito's
-- ListenBrainz import, Koito exports) is Koito's own record of the play.
CREATE FUNCTION koito_import.source_of_client(client text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE client
        WHEN 'spotify' THEN 'spotify'
        WHEN 'lastfm' THEN 'lastfm'
        WHEN 'maloja' THEN 'maloja'
        ELSE 'koito'
    END
$$;

-- What a listen's time is in its source's convention: 's' the play's start, 'e' its end; a
-- source that mixes both is read its usual way first and the other way second: 'se' mostly the
-- start, 'es' mostly the end. Spotify's histories stamp the end (ts, endTime); Last.fm scrobbles
-- the start; Maloja stores what its clients sent, the start for scrobblers and the end for its
-- Spotify imports. ListenBrainz and Koito keep the time of whoever recorded the play, which the
-- client names: Last.fm's importer keeps Last.fm's start, ListenBrainz's Spotify readers keep
-- Spotify's played_at or ts (mostly the end), scrobblers send the start.
CREATE FUNCTION koito_import.time_convention(source text, client text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN source = 'spotify' THEN 'e'
        WHEN source = 'lastfm' THEN 's'
        WHEN source = 'maloja' THEN 'se'
        WHEN client = 'spotify' THEN 'e'
        WHEN client IN ('lastfm', 'ListenBrainz lastfm importer v2') THEN 's'
        WHEN client IN ('maloja', 'Maloja Archive Importer') THEN 'se'
        WHEN client IN ('listenbrainz', 'ListenBrainz Archive Importer') THEN 'es'
        ELSE 's'
    END
$$;

-- A name as two services may spell it differently: lower case, without bracketed parts
-- ("(feat. B)", "(Live)", "[Remastered]"), a " - Remastered 2011"-style suffix, a trailing
-- "feat. B", and punctuation (typographic apostrophes and quotes too). A name that is nothing
-- but such parts keeps its lower-cased self.
CREATE FUNCTION koito_import.plain_name(name text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT COALESCE(
        NULLIF(btrim(regexp_replace(
            regexp_replace(
                regexp_replace(
                    regexp_replace(lower(name), '[\(\[][^\)\]]*[\)\]]', ' ', 'g'),
                    '\s+[-‐–—]\s.*$', ''),
                '\s(feat\.?|ft\.?|featuring)\s.*$', ''),
            '[[:punct:][:space:]’‘“”…]+', ' ', 'g')), ''),
        lower(btrim(name)))
$$;

-- The distance in seconds between two time intervals [lo1, hi1] and [lo2, hi2], 0 when they
-- overlap; NULL when either is unknown (LEAST over several distances then ignores it).
CREATE FUNCTION koito_import.interval_gap(lo1 bigint, hi1 bigint, lo2 bigint, hi2 bigint)
    RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN lo1 IS NULL OR lo2 IS NULL THEN NULL
                ELSE GREATEST(lo1 - hi2, lo2 - hi1, 0) END
$$;
