-- One round of one-to-one matching over the pairs whose listens are both still free: a pair is
-- matched when each listen is the other's first choice. A listen chooses the partner with the
-- fewest other free candidates first (the most constrained: in a back-to-back repeat the
-- neighbour can take another partner, this one cannot), then the least gap, then the least
-- difference of the raw times, then a fixed order. So as many plays as possible find their
-- counterpart, which is what counting each play once needs. The best choice of all is always
-- mutual, so every round that has pairs left matches at least one; run until a round matches
-- nothing. Before all that, a pair through both listens' usual readings comes first: a source
-- that mixes conventions (ListenBrainz's Spotify reader, Maloja) is read its usual way where
-- that finds a partner, so a run of repeats of one track is not paired off by one.
INSERT INTO dedupe_match (seq, track_id, listened_at, source)
SELECT seq, track_id, listened_at, source
FROM (
    SELECT free.*,
        row_number() OVER (PARTITION BY seq
                           ORDER BY other_reading, stored_choices, gap_s, apart_s,
                                    track_id, listened_at)
            AS nth_for_new,
        row_number() OVER (PARTITION BY track_id, listened_at
                           ORDER BY other_reading, new_choices, gap_s, apart_s, seq)
            AS nth_for_stored
    FROM (
        SELECT p.*,
            count(*) OVER (PARTITION BY p.seq) AS new_choices,
            count(*) OVER (PARTITION BY p.track_id, p.listened_at) AS stored_choices
        FROM dedupe_pairs p
        WHERE NOT EXISTS (SELECT 1 FROM dedupe_match m WHERE m.seq = p.seq)
          AND NOT EXISTS (
              SELECT 1 FROM dedupe_match m
              WHERE m.track_id = p.track_id AND m.listened_at = p.listened_at
          )
    ) free
) ranked
WHERE nth_for_new = 1 AND nth_for_stored = 1
