-- One round of one-to-one matching: among the pairs whose listens are both still free, those
-- where each is the other's nearest (least gap, then least difference of the raw times, then a
-- fixed order) are matched. The pair nearest of all is always such a pair, so every round that
-- has pairs left matches at least one; plays near each other usually settle in one or two
-- rounds. Run until a round matches nothing.
INSERT INTO dedupe_match (seq, track_id, listened_at, source)
SELECT seq, track_id, listened_at, source
FROM (
    SELECT p.*,
        row_number() OVER (PARTITION BY p.seq
                           ORDER BY p.gap_s, p.apart_s, p.track_id, p.listened_at) AS nth_for_new,
        row_number() OVER (PARTITION BY p.track_id, p.listened_at
                           ORDER BY p.gap_s, p.apart_s, p.seq) AS nth_for_stored
    FROM dedupe_pairs p
    WHERE NOT EXISTS (SELECT 1 FROM dedupe_match m WHERE m.seq = p.seq)
      AND NOT EXISTS (
          SELECT 1 FROM dedupe_match m
          WHERE m.track_id = p.track_id AND m.listened_at = p.listened_at
      )
) ranked
WHERE nth_for_new = 1 AND nth_for_stored = 1
