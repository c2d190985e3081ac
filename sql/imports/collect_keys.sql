-- unique_entity_keys: the file's distinct lookup keys, each with its first record, and whether
-- the lookup cache already knows it. Staging keeps the payload only on a key's first occurrence.
INSERT INTO koito_import.file_keys (file_id, lookup_key, first_seq, payload, cache_hit)
SELECT s.file_id, s.lookup_key, s.seq, s.payload, tl.lookup_key IS NOT NULL
FROM koito_import.staged_scrobbles s
LEFT JOIN koito_import.track_lookup tl ON tl.lookup_key = s.lookup_key
WHERE s.file_id = %(file_id)s AND s.payload IS NOT NULL
