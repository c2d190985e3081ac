-- merge-into-sqlite, one round for the artists without MBID that Koito does not have: an artist
-- created earlier in the merge (lower rank) may already carry the name as an alias, and then it
-- is that artist (the first created). Each round answers from the previous round's state; the
-- caller repeats until nothing changes. An artist's answer depends only on artists before it, so
-- the rounds end with what Koito's one-listen-at-a-time importer does, usually after one or two.

DELETE FROM m_artist_step;

INSERT INTO m_artist_step (our_id, via)
SELECT x.our_id, (
    SELECT c.our_id
    FROM m_artist_alias ca JOIN m_artist c ON c.our_id = ca.our_id
    WHERE ca.alias = x.name AND c.rank < x.rank AND c.sqlite_id IS NULL AND c.via IS NULL
    ORDER BY c.rank LIMIT 1
)
FROM m_artist x
WHERE x.mbid IS NULL AND x.sqlite_id IS NULL AND x.rank IS NOT NULL;

UPDATE m_artist SET via = s.via
FROM m_artist_step s
WHERE s.our_id = m_artist.our_id AND m_artist.via IS NOT s.via;
