-- New listens on a second another source's listen holds that the matching did not recognise
-- as that listen's play: they are stored a second or two later (insert_shifted.sql).
SELECT count(*)
FROM dedupe_new n
WHERE n.state = 'taken'
  AND NOT EXISTS (SELECT 1 FROM dedupe_match m WHERE m.seq = n.seq)
