-- koito_import 0030: every answer MusicBrainz gave, kept so no import asks it twice
-- (owned by koito_assets/enrich/musicbrainz_store.py). One row per question: the kind of
-- answer (an artist's names, a release's title and credits, a release group's titles, a
-- recording's title and length) and the MBID asked. answer is NULL when MusicBrainz said no
-- entity has that MBID (404). Failures (busy, unreachable) are never stored: they are asked
-- again. format is the shape of answer; rows of another shape are ignored and pruned.
CREATE TABLE koito_import.musicbrainz_answers (
    kind text NOT NULL CHECK (kind IN ('artist', 'release', 'release-group', 'recording')),
    mbid uuid NOT NULL,
    answer jsonb,
    format smallint NOT NULL,
    fetched_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, mbid)
);
