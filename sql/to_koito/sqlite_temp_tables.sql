-- merge-into-sqlite: what we bring (our artists, releases, tracks and listens, as a Koito export
-- would carry them) and what each becomes in the Koito database. TEMP tables: they live in the
-- merge's own connection and vanish with it; nothing of ours is left in Koito's file.

-- Our artists on the merged tracks. name: the primary alias, trimmed (what Koito's importer looks
-- up and creates; NULL when blank). rank: where the artist first appears in the merged listens
-- (see sqlite_prepare.sql). sqlite_id: the Koito artist it is; via: the artist of ours, created
-- by this merge, whose alias it is found as.
CREATE TEMP TABLE m_artist (
    our_id INTEGER PRIMARY KEY,
    mbid TEXT,
    name TEXT,
    image_source TEXT,
    rank INTEGER,
    sqlite_id INTEGER,
    via INTEGER,
    created INTEGER NOT NULL DEFAULT 0
);

-- Every alias of an artist, trimmed, blanks left out: what a created artist is known by.
CREATE TEMP TABLE m_artist_alias (
    our_id INTEGER NOT NULL,
    alias TEXT NOT NULL,
    PRIMARY KEY (our_id, alias)
) WITHOUT ROWID;

-- Our releases of the merged tracks; title is the primary alias as it is ('' when none).
CREATE TEMP TABLE m_release (
    our_id INTEGER PRIMARY KEY,
    mbid TEXT,
    title TEXT NOT NULL,
    image_source TEXT,
    various_artists INTEGER NOT NULL,
    sqlite_id INTEGER
);

CREATE TEMP TABLE m_release_alias (
    our_id INTEGER NOT NULL,
    alias TEXT NOT NULL,
    PRIMARY KEY (our_id, alias)
) WITHOUT ROWID;

-- Our merged tracks and what the rules make of each:
--   rank           order of first listen (first_at, then our id): the order Koito would meet them
--   skip           why its listens cannot be merged (NULL: they can)
--   a0, n_artists  its first Koito artist (the one its release is looked up by), how many it has
--   mbid_found     the Koito track that has its MBID
--   holder         a Koito release, titled like its release and linked to a0, that already
--                  holds this track (title and every artist) from before the merge
--   ex_static      the Koito release titled like its release and linked to a0 before the merge
--   rel_existing   the Koito release it lands on, when that existed before the merge, or
--   rel_creator    our track whose first listen creates the release it lands on
--   sqlite_release that release's Koito id
--   info_found     the Koito track found by title, release and artists (tracks without MBID)
--   track_creator  our track whose first listen creates the Koito track it is
--   sqlite_id      the Koito track its listens go to
CREATE TEMP TABLE m_track (
    our_id INTEGER PRIMARY KEY,
    mbid TEXT,
    title TEXT,
    duration INTEGER NOT NULL,
    our_release INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    listens INTEGER NOT NULL,
    rank INTEGER,
    skip TEXT,
    a0 INTEGER,
    n_artists INTEGER,
    mbid_found INTEGER,
    holder INTEGER,
    ex_static INTEGER,
    rel_existing INTEGER,
    rel_creator INTEGER,
    sqlite_release INTEGER,
    info_found INTEGER,
    track_creator INTEGER,
    sqlite_id INTEGER
);

CREATE TEMP TABLE m_track_alias (
    our_id INTEGER NOT NULL,
    alias TEXT NOT NULL,
    PRIMARY KEY (our_id, alias)
) WITHOUT ROWID;

-- A track's artists in the order an export lists them (primary first); position 0 is primary.
CREATE TEMP TABLE m_track_artist (
    our_track INTEGER NOT NULL,
    position INTEGER NOT NULL,
    our_artist INTEGER NOT NULL,
    PRIMARY KEY (our_track, position)
) WITHOUT ROWID;

-- The same as Koito artists, each once (two of ours may be one of Koito's), first position kept.
CREATE TEMP TABLE m_track_sa (
    our_track INTEGER NOT NULL,
    sqlite_artist INTEGER NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (our_track, sqlite_artist)
) WITHOUT ROWID;

CREATE TEMP TABLE m_listen (
    our_track INTEGER NOT NULL,
    listened_at INTEGER NOT NULL,
    client TEXT
);

-- Which artist of Koito's is linked to which release, titled how, since which rank (release
-- rounds). A release is one that existed (existing) or the one our track `creator` creates,
-- whose rank is creator_rank.
CREATE TEMP TABLE m_link (
    existing INTEGER,
    creator INTEGER,
    creator_rank INTEGER,
    artist INTEGER NOT NULL,
    title TEXT NOT NULL,
    since INTEGER NOT NULL
);

-- One round's answers, applied after the round (so every row of a round sees the same state).
CREATE TEMP TABLE m_artist_step (our_id INTEGER PRIMARY KEY, via INTEGER);
CREATE TEMP TABLE m_release_step (our_id INTEGER PRIMARY KEY, existing INTEGER, creator INTEGER);

-- Koito ids given to what this merge creates, in the order Koito would create them.
CREATE TEMP TABLE m_new_artist (our_id INTEGER PRIMARY KEY, sqlite_id INTEGER NOT NULL);
CREATE TEMP TABLE m_new_release (creator INTEGER PRIMARY KEY, sqlite_id INTEGER NOT NULL);
CREATE TEMP TABLE m_new_track (creator INTEGER PRIMARY KEY, sqlite_id INTEGER NOT NULL);
