-- koito_import 0020: the image backfill's memory (owned by koito_assets/enrich/images/backfill.py).
-- Every provider answer is an attempt; image_due says when an entity without an image may be
-- asked again, so a miss is not re-asked on every run (Koito re-asks at every start).
CREATE TABLE koito_import.image_attempts (
    artist_id integer REFERENCES public.artists(id) ON DELETE CASCADE,
    release_id integer REFERENCES public.releases(id) ON DELETE CASCADE,
    provider text NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('found', 'miss', 'failed', 'skipped')),
    detail text NOT NULL DEFAULT '',
    attempted_at timestamptz NOT NULL DEFAULT now(),
    CHECK (num_nonnulls(artist_id, release_id) = 1)
);
CREATE INDEX image_attempts_artist_idx ON koito_import.image_attempts (artist_id) WHERE artist_id IS NOT NULL;
CREATE INDEX image_attempts_release_idx ON koito_import.image_attempts (release_id) WHERE release_id IS NOT NULL;

CREATE TABLE koito_import.image_due (
    artist_id integer UNIQUE REFERENCES public.artists(id) ON DELETE CASCADE,
    release_id integer UNIQUE REFERENCES public.releases(id) ON DELETE CASCADE,
    misses integer NOT NULL DEFAULT 0,
    failures integer NOT NULL DEFAULT 0,
    last_attempt_at timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    CHECK (num_nonnulls(artist_id, release_id) = 1)
);
