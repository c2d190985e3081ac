-- After a load that matched plays across sources (koito_assets/dedupe/matching.py): record which
-- listens this file added (koito_import.file_listens), from the matching's own table of the
-- file's listens: the unmatched ones it inserted and those it stored a second or two later
-- (the same rows provenance_of_new.sql describes). No row when it added none.
INSERT INTO koito_import.file_listens (file_id, track_ids, listened_at)
SELECT %(file_id)s, array_agg(n.track_id), array_agg(n.at + make_interval(secs => n.shifted_s))
FROM dedupe_new n
WHERE n.state = 'shifted'
   OR (n.state = 'new' AND NOT EXISTS (SELECT 1 FROM dedupe_match m WHERE m.seq = n.seq))
HAVING count(*) > 0
