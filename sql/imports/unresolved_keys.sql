-- Keys of the file the lookup cache cannot answer now, first occurrence first. Also catches keys
-- whose cache row vanished since (an entity deleted by Koito's orphan clean-up cascades to it).
SELECT fk.lookup_key, fk.payload::text  -- parsed client-side with the fast JSON parser
FROM koito_import.file_keys fk
WHERE fk.file_id = %(file_id)s
  AND NOT EXISTS (SELECT 1 FROM koito_import.track_lookup tl WHERE tl.lookup_key = fk.lookup_key)
ORDER BY fk.first_seq
